//! Private, restartable servers for outage tests: a PostgreSQL, Redis or MongoDB-compatible server of one test's own,
//! which the test stops and starts again (same port, same data directory) while the service under test keeps
//! running, to watch it answer UNAVAILABLE and then recover by itself. Shared servers (`postgres()`, `redis()`) must
//! never be stopped: other tests use them.
//!
//! Layout: a temp dir holding `data/` (kept across restarts) and one `run-<n>/` per start (log, pid, exit status),
//! each start under its own [`Watchdog`]. A janitor watchdog removes the whole dir once the test process is gone (or
//! the handle is dropped).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::process::{self, Watchdog};

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Which server, and the binary that runs it.
#[derive(Debug, Clone)]
enum Kind {
    /// The directory holding `initdb` and `postgres`.
    Postgres(PathBuf),
    Redis(PathBuf),
    /// `secantusd-py`.
    MongoDb(PathBuf),
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Postgres(_) => "PostgreSQL",
            Kind::Redis(_) => "redis-server",
            Kind::MongoDb(_) => "secantusd-py",
        }
    }

    /// PostgreSQL's fast shutdown is SIGINT; the others stop cleanly on SIGTERM.
    fn stop_signal(&self) -> &'static str {
        match self {
            Kind::Postgres(_) => "INT",
            Kind::Redis(_) | Kind::MongoDb(_) => "TERM",
        }
    }

    fn url(&self, port: u16) -> String {
        match self {
            Kind::Postgres(_) => format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            Kind::Redis(_) => format!("redis://127.0.0.1:{port}/0"),
            Kind::MongoDb(_) => format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
        }
    }

    /// Prepares `data` on first use (PostgreSQL: `initdb`).
    fn init(&self, root: &Path, data: &Path) -> anyhow::Result<()> {
        match self {
            Kind::Postgres(bin) => {
                process::give_to_service_user(root)?;
                crate::postgres::initdb(bin, data, root)
            }
            Kind::Redis(_) | Kind::MongoDb(_) => {
                std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))
            }
        }
    }

    /// The command line that serves `data` on `port`.
    fn argv(&self, root: &Path, data: &Path, port: u16) -> anyhow::Result<Vec<OsString>> {
        let port_text = port.to_string();
        match self {
            Kind::Postgres(bin) => {
                // A Unix socket path longer than ~107 bytes is refused; TCP is all we use.
                let socket_dir = if root.as_os_str().len() < 80 {
                    root.as_os_str().to_owned()
                } else {
                    OsString::new()
                };
                let mut args: Vec<OsString> = vec!["-D".into(), data.into(), "-p".into(), port_text.into()];
                args.extend(["-k".into(), socket_dir]);
                for setting in [
                    "listen_addresses=127.0.0.1",
                    "fsync=off",
                    "full_page_writes=off",
                    "max_connections=50",
                ] {
                    args.extend(["-c".into(), setting.into()]);
                }
                process::as_service_user(&bin.join("postgres"), args)
            }
            Kind::Redis(bin) => {
                let mut argv = vec![bin.clone().into_os_string()];
                argv.extend(
                    crate::redis::durable_args(&port_text, data)
                        .into_iter()
                        .map(OsString::from),
                );
                Ok(argv)
            }
            Kind::MongoDb(bin) => Ok([
                bin.as_os_str(),
                "--host".as_ref(),
                "127.0.0.1".as_ref(),
                "--port".as_ref(),
                port_text.as_ref(),
                "--storage-path".as_ref(),
                data.as_os_str(),
            ]
            .map(OsString::from)
            .to_vec()),
        }
    }

    fn ready(&self, data: &Path, port: u16) -> bool {
        match self {
            Kind::Postgres(_) => crate::postgres::accepting_connections(data, port),
            Kind::Redis(_) => crate::redis::answers_ping(port),
            Kind::MongoDb(_) => std::net::TcpStream::connect_timeout(
                &(std::net::Ipv4Addr::LOCALHOST, port).into(),
                Duration::from_millis(200),
            )
            .is_ok(),
        }
    }
}

/// A server of one test's own that it may stop, kill and start again on the same port and data directory.
///
/// The methods block their thread (`stop` and `start` take up to a few seconds); they run on Tokio's blocking pool
/// so the service under test keeps running meanwhile.
pub struct PrivateServer {
    kind: Kind,
    root: PathBuf,
    port: u16,
    url: String,
    runs: u32,
    server: Option<Watchdog>,
    janitor: Option<Watchdog>,
}

impl std::fmt::Debug for PrivateServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateServer")
            .field("kind", &self.kind.name())
            .field("url", &self.url)
            .field("running", &self.server.is_some())
            .finish()
    }
}

impl PrivateServer {
    /// Creates the directories, prepares the data directory and starts the server.
    fn launch(kind: Kind) -> anyhow::Result<Self> {
        let temp = tempfile::Builder::new()
            .prefix("devopstrack-private-")
            .tempdir()
            .context("creating a temp dir")?;
        let root = temp.path().to_owned();
        let port = process::free_fixed_port()?;
        kind.init(&root, &root.join("data"))?;
        // From here on the janitor owns the directory and removes it when the test process is gone.
        let _ = temp.keep();
        let sleep = process::find_in_path("sleep").context("`sleep` is not on PATH")?;
        let janitor = Watchdog::spawn(
            &root,
            &root.join("janitor.log"),
            "TERM",
            &[sleep.into_os_string(), "2147483647".into()],
        )?;
        let mut server = Self {
            url: kind.url(port),
            kind,
            root,
            port,
            runs: 0,
            server: None,
            janitor: Some(janitor),
        };
        server.start_blocking()?;
        Ok(server)
    }

    /// Where clients connect: `postgres://postgres@127.0.0.1:P/postgres`, `redis://127.0.0.1:P/0` or
    /// `mongodb://127.0.0.1:P/?directConnection=true`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server cleanly (PostgreSQL: fast shutdown; Redis: SIGTERM, which writes and syncs its append-only
    /// file; MongoDB: SIGTERM) and waits until it has exited. The data directory stays.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || server.stop())
            .await
            .context("the stopping task panicked")
    }

    /// SIGKILL to the server itself: no shutdown work at all (what a crash or the OOM killer does).
    pub async fn kill_9(&mut self) -> anyhow::Result<()> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || {
            let killed = server.signal_server("KILL");
            server.stop();
            killed
        })
        .await
        .context("the killing task panicked")?
    }

    /// Starts the server again on the same port and data directory; returns once it accepts connections.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        if self.server.is_some() {
            return Ok(());
        }
        let mut this = PrivateStart {
            kind: self.kind.clone(),
            root: self.root.clone(),
            port: self.port,
            run: self.runs,
        };
        self.runs += 1;
        let server = tokio::task::spawn_blocking(move || this.start())
            .await
            .context("the starting task panicked")??;
        self.server = Some(server);
        Ok(())
    }

    fn start_blocking(&mut self) -> anyhow::Result<()> {
        let mut start = PrivateStart {
            kind: self.kind.clone(),
            root: self.root.clone(),
            port: self.port,
            run: self.runs,
        };
        self.runs += 1;
        self.server = Some(start.start()?);
        Ok(())
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop();
        }
        if let Some(mut janitor) = self.janitor.take() {
            janitor.stop();
        }
    }
}

/// What one start needs (moved onto the blocking pool).
struct PrivateStart {
    kind: Kind,
    root: PathBuf,
    port: u16,
    run: u32,
}

impl PrivateStart {
    fn start(&mut self) -> anyhow::Result<Watchdog> {
        let run = self.root.join(format!("run-{}", self.run));
        std::fs::create_dir_all(&run).with_context(|| format!("creating {}", run.display()))?;
        let data = self.root.join("data");
        let argv = self.kind.argv(&self.root, &data, self.port)?;
        let mut watchdog = Watchdog::spawn(&run, &run.join("server.log"), self.kind.stop_signal(), &argv)?;
        let (kind, port) = (self.kind.clone(), self.port);
        watchdog.wait_until_ready(self.kind.name(), START_TIMEOUT, || kind.ready(&data, port))?;
        Ok(watchdog)
    }
}

/// A PostgreSQL cluster of the caller's own (`initdb` in a temp dir, as the `postgres` user when we are root). Create
/// databases on it with [`crate::postgres_database_on`]. `None` when PostgreSQL is unavailable (see
/// [`crate::postgres`]).
pub async fn postgres_private() -> Option<PrivateServer> {
    launch("PostgreSQL", "postgresql", || {
        Ok(Kind::Postgres(crate::postgres::find_bin_dir()?))
    })
    .await
}

/// A `redis-server` of the caller's own, with the append-only file on (`appendfsync everysec`) and
/// `maxmemory-policy noeviction`, as tasks requires. `None` when Redis is unavailable.
pub async fn redis_private() -> Option<PrivateServer> {
    launch("Redis", "redis-server", || {
        Ok(Kind::Redis(
            process::find_in_path("redis-server").context("redis-server is not on PATH")?,
        ))
    })
    .await
}

/// A MongoDB-wire-compatible server of the caller's own: the repository's `.venv/bin/secantusd-py` (PyPI SecantusDB,
/// as `scripts/test-servers.sh` starts it), keeping its data in the private data directory across restarts. `None`
/// when it is not installed.
pub async fn mongodb_private() -> Option<PrivateServer> {
    launch("MongoDB (SecantusDB)", "SecantusDB into .venv", || {
        let bin = secantusd();
        anyhow::ensure!(
            process::is_executable(&bin),
            "{} is not installed (python3 -m venv .venv && .venv/bin/pip install SecantusDB)",
            bin.display()
        );
        Ok(Kind::MongoDb(bin))
    })
    .await
}

/// `<repository>/.venv/bin/secantusd-py`.
fn secantusd() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/secantusd-py")
}

async fn launch(
    backend: &str,
    package: &str,
    kind: impl FnOnce() -> anyhow::Result<Kind> + Send + 'static,
) -> Option<PrivateServer> {
    let launched = tokio::task::spawn_blocking(move || PrivateServer::launch(kind()?))
        .await
        .map_err(|e| anyhow::anyhow!("the start-up task panicked: {e}"))
        .and_then(|started| started);
    match launched {
        Ok(server) => Some(server),
        Err(reason) => crate::unavailable(backend, "(a private server; no URL variable)", package, &reason),
    }
}
