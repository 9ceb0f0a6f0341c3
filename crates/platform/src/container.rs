//! What a service binary does besides serving, for containers: `healthcheck` (GET `/healthz` on its own address and
//! exit 0 or 1, because the distroless runtime image has no curl), `check-config` (load and validate the settings
//! from the environment exactly as start-up does, start nothing: how `deploy/tests` checks every container's
//! environment against the real loader), and a start-up that waits for its store.
//!
//! A service whose command line is only that parses it with [`ServiceCli::parse_as`] and hands [`ServiceCli::run`] its
//! settings loader and its application's `build` and `run_until_stopped`; one with more options (tasks' `--role`)
//! flattens [`ServiceCommand`] and [`StartArgs`] into its own clap parser and calls the functions here.

use std::future::Future;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};
use tokio_util::sync::CancellationToken;

/// How long `healthcheck` waits for the connection and for the answer: well inside compose's healthcheck timeout.
pub const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The subcommands every service binary answers besides serving (the default, without a subcommand).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum ServiceCommand {
    /// Call this service's own `/healthz` (on its admin address; the gateway's on its HTTP address) and exit 0 when
    /// it answers 200, 1 otherwise. For container healthchecks: the runtime image has no curl.
    Healthcheck,
    /// Load and validate the settings from the environment as start-up does, print `ok` or the one-line error, and
    /// exit 0 or 1. Starts nothing and connects to nothing.
    CheckConfig,
}

/// Options of the serving process shared by every service binary.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct StartArgs {
    /// Keep retrying start-up (connecting to the store) for up to this many seconds while it fails, as when a
    /// container starts before its database is ready. 0: fail at the first error.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait_for_store: u64,
}

impl StartArgs {
    pub fn wait(&self) -> Duration {
        Duration::from_secs(self.wait_for_store)
    }
}

/// The whole command line of a service binary that takes nothing else: a subcommand or none (serve), and
/// [`StartArgs`]. Its name and description are the binary's own ([`ServiceCli::parse_as`]).
#[derive(Debug, Clone, Copy, clap::Parser)]
#[command(version)]
pub struct ServiceCli {
    #[command(subcommand)]
    pub command: Option<ServiceCommand>,
    #[command(flatten)]
    pub start: StartArgs,
}

impl ServiceCli {
    /// Parses this process's arguments under the binary's `name` and one-line `about` (for `--help`); clap prints
    /// help, version or a usage error and exits, as a derived parser does.
    pub fn parse_as(name: &'static str, about: &'static str) -> Self {
        let matches = Self::command().name(name).about(about).get_matches();
        Self::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
    }

    /// Does what the command line asks. `check-config`: `load` and report. `healthcheck`: probe the address `probed`
    /// picks from the settings. No subcommand: `load` (a bad setting stops the process before anything starts), then
    /// on a new runtime telemetry for `devopstrack-<service>`, `build` retried as [`StartArgs`] allow, and `run` with
    /// a token that the first SIGINT or SIGTERM cancels.
    pub fn run<S, A, E>(
        self,
        service: &str,
        load: impl Fn() -> Result<S, E>,
        probed: impl FnOnce(&S) -> SocketAddr,
        build: impl AsyncFn(&S) -> anyhow::Result<A>,
        run: impl AsyncFnOnce(A, CancellationToken) -> anyhow::Result<()>,
    ) -> anyhow::Result<ExitCode>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        match self.command {
            Some(ServiceCommand::CheckConfig) => Ok(report_config(load().map(drop))),
            Some(ServiceCommand::Healthcheck) => Ok(healthcheck(probed(&load()?))),
            None => {
                let settings = load()?;
                tokio::runtime::Runtime::new()?.block_on(async {
                    let _telemetry = crate::telemetry::init(&format!("devopstrack-{service}"))?;
                    let application = retry_start(service, self.start.wait(), || build(&settings)).await?;
                    run(application, crate::shutdown::on_signals()).await
                })?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// The end of `check-config`: `ok` on stdout and 0, or the one-line error on stderr and 1.
pub fn report_config<E: std::fmt::Display>(loaded: Result<(), E>) -> ExitCode {
    match loaded {
        Ok(()) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{}", one_line(&error.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// The end of `healthcheck`: GET `/healthz` on `addr` (an unspecified bind address means this host's loopback), exit 0
/// on 200 and 1 otherwise, saying why on stderr.
pub fn healthcheck(addr: SocketAddr) -> ExitCode {
    match get_status(probe_address(addr), "/healthz", HEALTHCHECK_TIMEOUT) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("healthcheck: http://{addr}/healthz answered {status}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("healthcheck: http://{addr}/healthz: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Where to reach a server bound to `bind`: `0.0.0.0` and `::` are reached on the loopback address of their family.
pub fn probe_address(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// One HTTP/1.1 GET over a plain socket, bounded by `timeout` per step; answers the status code.
fn get_status(addr: SocketAddr, path: &str, timeout: Duration) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: healthcheck\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    // The status line fits in the first bytes; no need to read the body.
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < head.len() {
        let n = stream.read(&mut head[read..])?;
        if n == 0 {
            break;
        }
        read += n;
        if head[..read].contains(&b'\n') {
            break;
        }
    }
    parse_status(&head[..read]).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an HTTP answer: {:?}", String::from_utf8_lossy(&head[..read])),
        )
    })
}

/// `HTTP/1.1 200 OK` → 200.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(head).ok()?.lines().next()?;
    let mut parts = line.split(' ');
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

/// Runs `start` until it succeeds or `wait` has passed since the first attempt (then answers the last error). Each
/// failure is logged with the time left; the delay between attempts grows from 0.5 s to 5 s.
pub async fn retry_start<T, F, Fut>(what: &str, wait: Duration, start: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    retry_from(what, wait, Duration::from_millis(500), start).await
}

/// [`retry_start`] with the first delay given (tests use a short one).
async fn retry_from<T, F, Fut>(what: &str, wait: Duration, first_delay: Duration, mut start: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let deadline = tokio::time::Instant::now() + wait;
    let mut delay = first_delay;
    loop {
        match start().await {
            Ok(started) => return Ok(started),
            Err(error) => {
                let now = tokio::time::Instant::now();
                if now + delay > deadline {
                    return Err(error);
                }
                let left = deadline - now;
                tracing::warn!(error = %format!("{error:#}"), retry_in_ms = delay.as_millis() as u64,
                    gives_up_in_s = left.as_secs(), "{what} could not start yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn one_line(message: &str) -> String {
    message.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn unspecified_bind_addresses_are_probed_on_loopback() {
        let cases = [
            ("0.0.0.0:9101", "127.0.0.1:9101"),
            ("[::]:8080", "[::1]:8080"),
            ("10.1.2.3:9102", "10.1.2.3:9102"),
            ("127.0.0.1:9103", "127.0.0.1:9103"),
        ];
        for (bind, probed) in cases {
            assert_eq!(probe_address(bind.parse().unwrap()), probed.parse().unwrap(), "{bind}");
        }
    }

    #[test]
    fn status_lines_parse_and_anything_else_does_not() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(parse_status(b"HTTP/1.0 503 Service Unavailable\r\n"), Some(503));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }

    /// A one-connection HTTP server answering `status` to whatever it is asked; returns its address.
    fn serve_once(status: &'static str) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let n = stream.read(&mut request).unwrap();
            assert!(request[..n].starts_with(b"GET /healthz HTTP/1.1\r\n"));
            let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            stream.write_all(answer.as_bytes()).unwrap();
        });
        addr
    }

    #[test]
    fn healthcheck_passes_on_200_and_fails_on_anything_else() {
        assert_eq!(healthcheck(serve_once("200 OK")), ExitCode::SUCCESS);
        assert_eq!(healthcheck(serve_once("503 Service Unavailable")), ExitCode::FAILURE);
    }

    #[test]
    fn healthcheck_fails_when_nothing_listens() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        assert_eq!(healthcheck(addr), ExitCode::FAILURE);
    }

    #[tokio::test]
    async fn start_is_retried_until_it_succeeds_within_the_wait() {
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        // A wait far longer than four quick attempts take, however loaded the machine.
        let started = retry_from("demo", Duration::from_secs(600), Duration::from_millis(1), move || {
            let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if attempt < 4 {
                    anyhow::bail!("store not ready (attempt {attempt})")
                }
                Ok(attempt)
            }
        })
        .await
        .unwrap();
        assert_eq!(started, 4);
    }

    #[tokio::test]
    async fn start_gives_up_with_the_last_error_once_the_wait_is_over() {
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        let error = retry_from("demo", Duration::from_millis(50), Duration::from_millis(1), move || {
            let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Err::<(), _>(anyhow::anyhow!("refused (attempt {attempt})")) }
        })
        .await
        .unwrap_err()
        .to_string();
        let tried = attempts.load(Ordering::SeqCst);
        // It gave up (by itself: the wait is short) with the last attempt's error.
        assert!(error.contains(&format!("attempt {tried}")), "{error}");
    }

    #[tokio::test]
    async fn without_a_wait_the_first_error_is_final() {
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        let result = retry_start("demo", Duration::ZERO, move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(anyhow::anyhow!("refused")) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_config_error_is_reported_on_one_line() {
        assert_eq!(report_config(Ok::<(), String>(())), ExitCode::SUCCESS);
        assert_eq!(one_line("a\nb"), "a b");
        assert_eq!(report_config(Err("DEVOPSTRACK_X__Y: bad\nvalue")), ExitCode::FAILURE);
    }
}
