//! PostgreSQL for tests: the server named by `DEVOPSTRACK_TEST_POSTGRES_URL`, or else a throwaway cluster started once
//! per test process; either way every caller gets a freshly created, empty database of its own.

use std::ffi::OsString;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use uuid::Uuid;

use crate::TestPostgres;
use crate::process::{self, Watchdog};

/// Names a server to create the test databases on, instead of starting one.
pub(crate) const URL_VAR: &str = "DEVOPSTRACK_TEST_POSTGRES_URL";

const START_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The admin URL of this process's own cluster, or why it could not be started. Initialised at most once: a failed
/// start is not retried by every later test.
static SERVER: OnceLock<Result<String, String>> = OnceLock::new();

/// Creates `t_<uuid>` on the configured or self-started server.
pub(crate) async fn fresh_database() -> anyhow::Result<TestPostgres> {
    let (admin_url, source) = match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => (url, format!("the server in {URL_VAR}")),
        _ => {
            let url = tokio::task::spawn_blocking(own_server)
                .await
                .context("the PostgreSQL start-up task panicked")?
                .map_err(anyhow::Error::msg)?;
            let source = url.clone();
            (url, source)
        }
    };

    database_on(&admin_url, &source).await
}

/// Creates `t_<uuid>` on the server at `admin_url` (named `source` in errors).
pub(crate) async fn database_on(admin_url: &str, source: &str) -> anyhow::Result<TestPostgres> {
    let database = format!("t_{}", Uuid::new_v4().simple());
    let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(admin_url)).await {
        Ok(connected) => connected.with_context(|| format!("connecting to {source}"))?,
        Err(_) => bail!("connecting to {source}: no answer within {CONNECT_TIMEOUT:?}"),
    };
    // CREATE DATABASE takes no bind parameters; the name is ours and needs no escaping beyond the quotes.
    sqlx::raw_sql(AssertSqlSafe(format!(r#"CREATE DATABASE "{database}""#)))
        .execute(&mut conn)
        .await
        .with_context(|| format!("creating database {database} on {source}"))?;
    let _ = conn.close().await;

    Ok(TestPostgres {
        url: with_database(admin_url, &database)?,
        database,
    })
}

/// `url` with its database (path) replaced by `database`, keeping user, host, port and query parameters.
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let Some(authority_start) = url.find("://").map(|index| index + 3) else {
        bail!("{URL_VAR} is not a URL like postgres://user@host:port/db");
    };
    let path_start = url[authority_start..]
        .find(['/', '?'])
        .map_or(url.len(), |index| authority_start + index);
    let query_start = url[path_start..]
        .find('?')
        .map_or(url.len(), |index| path_start + index);
    Ok(format!("{}/{database}{}", &url[..path_start], &url[query_start..]))
}

/// This process's cluster, started on first use.
fn own_server() -> Result<String, String> {
    SERVER.get_or_init(|| start().map_err(|err| format!("{err:#}"))).clone()
}

/// Runs `initdb` and `postgres` in a temp dir under a watchdog and waits until the server accepts connections.
fn start() -> anyhow::Result<String> {
    let started = Instant::now();
    let bin = find_bin_dir()?;
    let temp = tempfile::Builder::new()
        .prefix("devopstrack-pg-")
        .tempdir()
        .context("creating a temp dir")?;
    let dir = temp.path().to_owned();
    process::give_to_service_user(&dir)?;

    let data = dir.join("data");
    initdb(&bin, &data, &dir)?;
    let initdb_done = started.elapsed();

    let port = process::free_port()?;
    // A Unix socket path longer than ~107 bytes is refused; TCP is all we use, so then go without the socket.
    let socket_dir = if dir.as_os_str().len() < 80 {
        dir.clone().into_os_string()
    } else {
        OsString::new()
    };
    let mut args: Vec<OsString> = vec!["-D".into(), data.clone().into(), "-p".into(), port.to_string().into()];
    args.extend(["-k".into(), socket_dir]);
    for setting in [
        "listen_addresses=127.0.0.1",
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
        "max_connections=200",
    ] {
        args.extend(["-c".into(), setting.into()]);
    }
    let server = process::as_service_user(&bin.join("postgres"), args)?;

    // From here on the watchdog owns the directory and removes it when the server stops.
    let _ = temp.keep();
    let mut watchdog = Watchdog::spawn(&dir, &dir.join("postgres.log"), "INT", &server)?;
    watchdog.wait_until_ready("PostgreSQL", START_TIMEOUT, || accepting_connections(&data, port))?;

    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    eprintln!(
        "testkit: PostgreSQL from {} at {url} (initdb {initdb_done:.1?}, then accepting connections after {:.1?})",
        bin.display(),
        started.elapsed() - initdb_done
    );
    tracing::info!(%url, elapsed = ?started.elapsed(), "started a throwaway PostgreSQL");
    Ok(url)
}

/// Creates the cluster `data` with `initdb` (trust authentication, UTF-8, C locale, superuser `postgres`), as the
/// service user, working in `dir`.
pub(crate) fn initdb(bin: &Path, data: &Path, dir: &Path) -> anyhow::Result<()> {
    let args = [
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
        "-U",
        "postgres",
        "-D",
    ];
    let initdb = process::as_service_user(
        &bin.join("initdb"),
        args.iter().map(OsString::from).chain([data.as_os_str().to_owned()]),
    )?;
    process::run_to_completion(&initdb, dir).context("initdb failed")
}

/// True once the postmaster reports "ready" in its pid file (what `pg_ctl -w` checks) and its TCP port answers.
pub(crate) fn accepting_connections(data: &Path, port: u16) -> bool {
    let ready = fs::read_to_string(data.join("postmaster.pid"))
        .is_ok_and(|pid_file| pid_file.lines().nth(7).is_some_and(|status| status.trim() == "ready"));
    ready
        && TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            Duration::from_millis(200),
        )
        .is_ok()
}

/// A directory with both `initdb` and `postgres`: the first on PATH, else the newest `/usr/lib/postgresql/*/bin`.
pub(crate) fn find_bin_dir() -> anyhow::Result<PathBuf> {
    let has_both =
        |dir: &Path| process::is_executable(&dir.join("initdb")) && process::is_executable(&dir.join("postgres"));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>());
    if let Some(dir) = on_path.into_iter().find(|dir| has_both(dir)) {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.split('.').next()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!("initdb and postgres were found neither on PATH nor in /usr/lib/postgresql/*/bin"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/t_1",
            ),
            ("postgres://u:p@db:5432", "postgres://u:p@db:5432/t_1"),
            ("postgres://u@db/", "postgres://u@db/t_1"),
            (
                "postgresql://u@db:1/x?sslmode=disable",
                "postgresql://u@db:1/t_1?sslmode=disable",
            ),
            (
                "postgres://u@db:1?sslmode=require",
                "postgres://u@db:1/t_1?sslmode=require",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(with_database(input, "t_1").expect(input), expected, "for {input}");
        }
    }

    #[test]
    fn with_database_rejects_a_non_url() {
        assert!(with_database("host=localhost dbname=x", "t_1").is_err());
    }

    #[test]
    fn find_bin_dir_returns_a_dir_with_both_binaries_when_postgres_is_installed() {
        match find_bin_dir() {
            Ok(dir) => {
                assert!(process::is_executable(&dir.join("initdb")) && process::is_executable(&dir.join("postgres")))
            }
            Err(err) => assert!(!crate::require_backends(), "PostgreSQL binaries required but: {err:#}"),
        }
    }
}
