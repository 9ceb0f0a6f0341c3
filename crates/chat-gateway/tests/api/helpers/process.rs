//! The real `devopstrack-gateway` binary as a child process (the replica test runs two of them on one database),
//! configured the way a container is: `DEVOPSTRACK_GATEWAY__*` variables only. Killed when dropped.

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::process::{Child, Command};

use super::{GatewaySettings, TestGateway};

/// A free loopback port (bound and released: the process binds it again a moment later).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// Starts the binary with `settings` (addresses replaced by free loopback ports) and waits until it answers
/// `/healthz`, at most 30 s.
pub async fn spawn_gateway_process(settings: &GatewaySettings) -> TestGateway {
    let (http, admin) = (free_port(), free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_devopstrack-gateway"));
    command
        .env_remove("DEVOPSTRACK_CONFIG")
        .env("DEVOPSTRACK_GATEWAY__HTTP_ADDR", format!("127.0.0.1:{http}"))
        .env("DEVOPSTRACK_GATEWAY__ADMIN_ADDR", format!("127.0.0.1:{admin}"))
        .env("DEVOPSTRACK_GATEWAY__AUTH_URL", &settings.peers.auth_url)
        .env("DEVOPSTRACK_GATEWAY__ISSUER", &settings.peers.issuer)
        .env("DEVOPSTRACK_GATEWAY__AUDIENCE", &settings.peers.audience)
        .env("DEVOPSTRACK_GATEWAY__PROJECTS_URL", &settings.projects_url)
        .env("DEVOPSTRACK_GATEWAY__TASKS_URL", &settings.tasks_url)
        .env("DEVOPSTRACK_GATEWAY__METRICS_URL", &settings.metrics_url)
        .env(
            "DEVOPSTRACK_GATEWAY__LOGIN_RATE_PER_MINUTE",
            settings.login_rate_per_minute.to_string(),
        )
        .env("DEVOPSTRACK_GATEWAY__WORKERS", "1")
        .env("DEVOPSTRACK_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(secret) = &settings.client_secret {
        command.env("DEVOPSTRACK_GATEWAY__CLIENT_SECRET", secret.expose_secret());
    }
    if let Some(url) = &settings.chat_database_url {
        command.env("DEVOPSTRACK_GATEWAY__CHAT_DATABASE_URL", url);
    }
    let child = command.spawn().expect("start a devopstrack-gateway process");
    let gateway = TestGateway::process(
        format!("http://127.0.0.1:{http}"),
        format!("http://127.0.0.1:{admin}"),
        child,
    );
    gateway.wait_until_healthy(Duration::from_secs(30)).await;
    gateway
}

impl TestGateway {
    fn process(base_url: String, admin_url: String, child: Child) -> Self {
        Self {
            base_url,
            admin_url,
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .expect("build an HTTP client"),
            _running: super::Running::Process { _child: child },
        }
    }

    async fn wait_until_healthy(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let answer = self.http.get(self.url("/healthz")).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the gateway process at {} did not answer /healthz within {within:?}",
                self.base_url
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
