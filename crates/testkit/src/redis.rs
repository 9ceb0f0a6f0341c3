//! Redis for tests: the server named by `DEVOPSTRACK_TEST_REDIS_URL`, or else a throwaway `redis-server` started once
//! per test process. Every caller gets a unique key prefix; on the self-started server also a database index of its
//! own. Nothing is ever flushed.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use uuid::Uuid;

use crate::TestRedis;
use crate::process::{self, Watchdog};

/// Names a server to use instead of starting one.
pub(crate) const URL_VAR: &str = "DEVOPSTRACK_TEST_REDIS_URL";

/// `--databases` of the self-started server; index 0 is left alone, tests get 1..DATABASES.
const DATABASES: u32 = 1024;
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The port of this process's own server, or why it could not be started (initialised at most once).
static SERVER: OnceLock<Result<u16, String>> = OnceLock::new();
/// Counts handed-out keyspaces; the database index is derived from it.
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A unique prefix on the configured server, or a prefix and a database of its own on the self-started one.
pub(crate) async fn fresh_keyspace() -> anyhow::Result<TestRedis> {
    let prefix = format!("t-{}:", Uuid::new_v4().simple());
    if let Ok(url) = std::env::var(URL_VAR)
        && !url.trim().is_empty()
    {
        return Ok(TestRedis { url, prefix });
    }
    let port = tokio::task::spawn_blocking(own_server)
        .await
        .context("the Redis start-up task panicked")?
        .map_err(anyhow::Error::msg)?;
    let db = database_index(NEXT_DB.fetch_add(1, Ordering::Relaxed));
    Ok(TestRedis {
        url: format!("redis://127.0.0.1:{port}/{db}"),
        prefix,
    })
}

/// The `n`th handed-out database index: 1, 2, … DATABASES-1, then 1 again.
fn database_index(n: u32) -> u32 {
    1 + n % (DATABASES - 1)
}

/// This process's server, started on first use.
fn own_server() -> Result<u16, String> {
    SERVER.get_or_init(|| start().map_err(|err| format!("{err:#}"))).clone()
}

/// Starts `redis-server` in a temp dir under a watchdog and waits until it answers PING.
fn start() -> anyhow::Result<u16> {
    let started = Instant::now();
    let binary = process::find_in_path("redis-server").context("redis-server is not on PATH")?;
    let temp = tempfile::Builder::new()
        .prefix("devopstrack-redis-")
        .tempdir()
        .context("creating a temp dir")?;
    let dir = temp.path().to_owned();
    let port = process::free_port()?;
    let mut args = durable_args(&port.to_string(), &dir);
    args.extend(["--databases".to_owned(), DATABASES.to_string()]);
    let argv: Vec<_> = [binary.into_os_string()]
        .into_iter()
        .chain(args.into_iter().map(Into::into))
        .collect();

    // From here on the watchdog owns the directory and removes it when the server stops.
    let _ = temp.keep();
    let mut watchdog = Watchdog::spawn(&dir, &dir.join("redis.log"), "TERM", &argv)?;
    watchdog.wait_until_ready("redis-server", START_TIMEOUT, || answers_ping(port))?;

    eprintln!(
        "testkit: redis-server at redis://127.0.0.1:{port} (ready after {:.1?})",
        started.elapsed()
    );
    tracing::info!(port, elapsed = ?started.elapsed(), "started a throwaway redis-server");
    Ok(port)
}

/// `redis-server` arguments for a server on 127.0.0.1:`port` keeping its files in `dir`, run as tasks requires of
/// its store (and checks at start): the append-only file on, synced every second, no RDB snapshots, and no eviction
/// (a full server refuses writes instead of dropping keys).
pub(crate) fn durable_args(port: &str, dir: &std::path::Path) -> Vec<String> {
    [
        "--port",
        port,
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--maxmemory-policy",
        "noeviction",
        "--dir",
        &dir.to_string_lossy(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// True when 127.0.0.1:`port` answers a RESP `PING` with `+PONG`.
pub(crate) fn answers_ping(port: u16) -> bool {
    let timeout = Duration::from_millis(300);
    let Ok(mut stream) = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), timeout) else {
        return false;
    };
    let mut reply = [0u8; 7];
    stream.set_read_timeout(Some(timeout)).is_ok()
        && stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_indices_skip_zero_and_wrap_below_the_server_limit() {
        assert_eq!(database_index(0), 1);
        assert_eq!(database_index(1), 2);
        assert_eq!(database_index(DATABASES - 2), DATABASES - 1);
        assert_eq!(database_index(DATABASES - 1), 1);
        assert!((0..5000).map(database_index).all(|db| (1..DATABASES).contains(&db)));
    }

    #[test]
    fn answers_ping_is_false_where_nothing_listens() {
        let port = process::free_port().expect("127.0.0.1 must be bindable in tests");
        assert!(!answers_ping(port));
    }
}
