//! Process plumbing shared by the PostgreSQL and Redis launchers: finding binaries, picking a free port, dropping root
//! privileges for PostgreSQL, and the watchdog that stops a server once the test process is gone.
//!
//! Everything here is blocking `std` code on purpose: a server must outlive the `#[tokio::test]` runtime that happened
//! to start it (every test has its own runtime), so no server may be a `tokio::process` child.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The account PostgreSQL runs as when the tests run as root (PostgreSQL refuses to run as root).
pub(crate) const SERVICE_USER: &str = "postgres";

/// The executable `name` in one of the `PATH` directories, if any.
pub(crate) fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// True when `path` is a regular file (after following symlinks) with an execute bit set.
pub(crate) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// A TCP port on 127.0.0.1 below Linux's ephemeral range (32768+) that was free a moment ago: for a server that is
/// stopped and started again on the same port, which an outgoing connection must not take in between.
pub(crate) fn free_fixed_port() -> anyhow::Result<u16> {
    for _ in 0..100 {
        let random = u16::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..2].try_into().unwrap_or_default());
        let port = 20_000 + random % 12_000;
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free port found between 20000 and 32000 in 100 tries")
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, let it go).
///
/// Another process could take it before the server binds it; the server then fails to start and says so in its log.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0 to find a free port")?;
    Ok(listener
        .local_addr()
        .context("reading the port of a bound listener")?
        .port())
}

/// True when this process runs with effective uid 0.
pub(crate) fn running_as_root() -> bool {
    let from_proc = fs::read_to_string("/proc/self/status").ok().and_then(|status| {
        let line = status.lines().find(|line| line.starts_with("Uid:"))?;
        // Uid: real effective saved filesystem
        line.split_whitespace().nth(2).map(|euid| euid == "0")
    });
    from_proc.unwrap_or_else(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
    })
}

/// The command line that runs `program args…` as [`SERVICE_USER`] when we are root, and unchanged otherwise.
///
/// Uses `setpriv`, not `runuser`: `runuser` stays in between and does not pass signals on, so stopping it would leak
/// the postmaster.
pub(crate) fn as_service_user(
    program: &Path,
    args: impl IntoIterator<Item = OsString>,
) -> anyhow::Result<Vec<OsString>> {
    let mut argv = Vec::new();
    if running_as_root() {
        let setpriv = find_in_path("setpriv")
            .context("running as root, so PostgreSQL must be started as the `postgres` user, but `setpriv` (util-linux) is not in PATH")?;
        argv.push(setpriv.into_os_string());
        argv.extend(
            [
                format!("--reuid={SERVICE_USER}"),
                format!("--regid={SERVICE_USER}"),
                "--init-groups".to_owned(),
            ]
            .map(OsString::from),
        );
    }
    argv.push(program.as_os_str().to_owned());
    argv.extend(args);
    Ok(argv)
}

/// Hands `dir` (recursively) to [`SERVICE_USER`] when we are root; does nothing otherwise.
pub(crate) fn give_to_service_user(dir: &Path) -> anyhow::Result<()> {
    if !running_as_root() {
        return Ok(());
    }
    let owner = format!("{SERVICE_USER}:{SERVICE_USER}");
    run_to_completion(
        &[
            OsStr::new("chown"),
            OsStr::new("-R"),
            OsStr::new(&owner),
            dir.as_os_str(),
        ],
        dir,
    )
    .with_context(|| format!("giving {} to the `{SERVICE_USER}` user", dir.display()))
}

/// Runs `argv` in `cwd` to completion; a failure carries the command's output.
pub(crate) fn run_to_completion(argv: &[impl AsRef<OsStr>], cwd: &Path) -> anyhow::Result<()> {
    let (program, args) = argv.split_first().context("empty command line")?;
    let shown = argv
        .iter()
        .map(|arg| arg.as_ref().to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running `{shown}`"))?;
    if !output.status.success() {
        let printed = [&output.stdout, &output.stderr].map(|bytes| String::from_utf8_lossy(bytes).trim().to_owned());
        bail!("`{shown}` failed ({}):\n{}", output.status, printed.join("\n").trim());
    }
    Ok(())
}

/// The watchdog script. Arguments: test pid, directory to remove, stop signal, log file, then the server command.
///
/// The server runs in the background with its output in the log and its pid in [`SERVER_PID_FILE`]; every half
/// second the script checks that both the test process and the server are alive. When either is gone (or the script gets SIGTERM from [`Watchdog::stop`]) it
/// stops the server with the given signal, waits for it and writes its exit status to [`EXIT_STATUS_FILE`]. Once the
/// test process is gone or has sent SIGTERM (so that a failed start can still read the log), it removes the directory.
/// A trapped TERM interrupts `wait`, hence the loop around it.
const WATCHDOG_SCRIPT: &str = r#"pid=$1 dir=$2 sig=$3 log=$4
shift 4
"$@" >"$log" 2>&1 &
server=$!
echo "$server" >"$dir/server.pid"
stop=0
trap 'stop=1' TERM
while [ "$stop" = 0 ] && kill -0 "$pid" 2>/dev/null && kill -0 "$server" 2>/dev/null; do sleep 0.5; done
kill -"$sig" "$server" 2>/dev/null
wait "$server"; status=$?
while kill -0 "$server" 2>/dev/null; do wait "$server"; status=$?; done
echo "$status" >"$dir/server-exit-status"
while [ "$stop" = 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
rm -rf "$dir"
"#;

/// Written by the watchdog into the server's directory once the server has exited.
const EXIT_STATUS_FILE: &str = "server-exit-status";
/// Written by the watchdog into the server's directory once the server has started: its pid.
const SERVER_PID_FILE: &str = "server.pid";

/// A server process under a `sh` watchdog that stops it and removes its directory once the test process exits.
///
/// Statics are never dropped, so nothing in this process can be relied on to stop the server; the watchdog can. It
/// runs in its own process group, so a Ctrl-C or a test runner's signal to our group does not kill it before it has
/// cleaned up.
pub(crate) struct Watchdog {
    child: Child,
    dir: PathBuf,
    log: PathBuf,
}

impl Watchdog {
    /// Starts `server_argv` under a watchdog that stops it with `stop_signal` (e.g. "INT") and then removes `dir`.
    pub(crate) fn spawn(dir: &Path, log: &Path, stop_signal: &str, server_argv: &[OsString]) -> anyhow::Result<Self> {
        let child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("sh")
            .arg(std::process::id().to_string())
            .arg(dir)
            .arg(stop_signal)
            .arg(log)
            .args(server_argv)
            .current_dir(dir)
            // No inherited pipes: a test runner waits for its captured stdout/stderr to close.
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("spawning the server watchdog with `sh`")?;
        Ok(Self {
            child,
            dir: dir.to_owned(),
            log: log.to_owned(),
        })
    }

    /// Polls `ready` every 50 ms until it returns true; fails with the log's tail if the server exits or `timeout`
    /// passes first (and then stops the server).
    pub(crate) fn wait_until_ready(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.server_exit() {
                let tail = self.log_tail(20);
                self.stop();
                bail!("{what} exited during startup ({status}); its log ends with:\n{tail}");
            }
            if ready() {
                return Ok(());
            }
            if started.elapsed() > timeout {
                let tail = self.log_tail(20);
                self.stop();
                bail!("{what} was not ready after {timeout:?}; its log ends with:\n{tail}");
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// How the server ended, if it has: its exit status as reported by the watchdog, or the watchdog's own.
    fn server_exit(&mut self) -> Option<String> {
        if let Ok(status) = fs::read_to_string(self.dir.join(EXIT_STATUS_FILE)) {
            return Some(format!("exit status {}", status.trim()));
        }
        self.watchdog_exit()
            .map(|status| format!("its watchdog ended: {status}"))
    }

    /// The watchdog's exit status if it has already exited.
    fn watchdog_exit(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `lines` lines of the server's log, or a note saying why there are none.
    fn log_tail(&self, lines: usize) -> String {
        match fs::read_to_string(&self.log) {
            Ok(text) => {
                let all: Vec<&str> = text.lines().collect();
                all[all.len().saturating_sub(lines)..].join("\n")
            }
            Err(err) => format!("(could not read {}: {err})", self.log.display()),
        }
    }

    /// Sends `signal` (e.g. "KILL") to the server itself, not through the watchdog, and waits up to 10 s for it to
    /// exit. The watchdog then waits for [`Watchdog::stop`] (or the test process's end) to clean up.
    pub(crate) fn signal_server(&mut self, signal: &str) -> anyhow::Result<()> {
        let pid = fs::read_to_string(self.dir.join(SERVER_PID_FILE))
            .with_context(|| format!("reading the server's pid in {}", self.dir.display()))?;
        run_to_completion(&["kill", &format!("-{signal}"), pid.trim()], &self.dir)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.server_exit().is_none() {
            if Instant::now() > deadline {
                bail!(
                    "the server (pid {}) did not exit within 10 s of SIG{signal}",
                    pid.trim()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Asks the watchdog to stop the server and clean up, and waits up to 10 s for that to finish.
    pub(crate) fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.watchdog_exit().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_returns_a_port_that_can_be_bound() {
        let port = free_port().expect("127.0.0.1 must be bindable in tests");
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("the port was just free");
    }

    #[test]
    fn find_in_path_finds_sh_and_not_nonsense() {
        assert!(find_in_path("sh").is_some_and(|path| path.is_absolute()));
        assert!(find_in_path("devopstrack-no-such-binary").is_none());
    }

    #[test]
    fn as_service_user_wraps_in_setpriv_only_as_root() {
        let argv = as_service_user(Path::new("/bin/true"), [OsString::from("x")]).expect("setpriv exists here");
        let tail: Vec<&OsStr> = argv.iter().rev().take(2).map(OsString::as_os_str).collect();
        assert_eq!(tail, [OsStr::new("x"), OsStr::new("/bin/true")]);
        assert_eq!(argv.len() > 2, running_as_root());
    }
}
