//! `spawn_app()`: the real auth and metrics services on port 0 (metrics over a fresh SQLite file), tokens for a
//! viewer, an operator, an admin and a service account, and typed helpers.

use std::net::SocketAddr;

use secrecy::SecretString;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Request;
use tonic::transport::Channel;

use devopstrack_auth::app::NewUser;
use devopstrack_platform::auth::Role;
use devopstrack_proto::auth::v1 as auth_pb;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;
use devopstrack_proto::metrics::v1::metrics_service_client::MetricsServiceClient;

const PASSWORD: &str = "correct horse battery staple";
const SERVICE_SECRET: &str = "test-service-secret-0123456789abcdef";

pub struct TestApp {
    pub client: MetricsServiceClient<Channel>,
    pub admin: String,
    pub operator: String,
    pub viewer: String,
    pub service: String,
    pub admin_port: u16,
    pub database_url: String,
    /// Stops the metrics service (auth keeps running until the app is dropped).
    pub stop: CancellationToken,
    /// The metrics service's `run_until_stopped`.
    pub running: JoinHandle<anyhow::Result<()>>,
    _auth_shutdown: tokio_util::sync::DropGuard,
    _dir: TempDir,
}

/// Settings for the metrics service under test.
pub fn settings(dir: &TempDir, auth_url: &str) -> devopstrack_metrics::config::Settings {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    devopstrack_metrics::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/metrics.db", dir.path().display()),
        peers: devopstrack_peers::ServiceSettings {
            auth_url: auth_url.to_owned(),
            ..Default::default()
        },
        ..devopstrack_metrics::config::Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut devopstrack_metrics::config::Settings)) -> TestApp {
    let auth = spawn_auth().await;
    let mut settings = settings(&auth.dir, &auth.url);
    tweak(&mut settings);
    settings.validate().expect("the metrics test settings are valid");
    let metrics = devopstrack_metrics::startup::Application::build(&settings)
        .await
        .expect("build metrics");
    let grpc_url = format!("http://127.0.0.1:{}", metrics.grpc_port());
    let admin_port = metrics.admin_port();
    let stop = CancellationToken::new();
    let running = tokio::spawn(metrics.run_until_stopped(stop.clone()));
    let TestAuth {
        admin,
        operator,
        viewer,
        service,
        shutdown,
        dir,
        ..
    } = auth;
    TestApp {
        client: MetricsServiceClient::connect(grpc_url)
            .await
            .expect("connect to metrics"),
        admin,
        operator,
        viewer,
        service,
        admin_port,
        database_url: settings.database_url,
        stop,
        running,
        _auth_shutdown: shutdown,
        _dir: dir,
    }
}

/// The real auth service on port 0 over a SQLite file in a fresh temp dir, with a token per role.
pub struct TestAuth {
    /// gRPC URL of auth.
    pub url: String,
    pub admin: String,
    pub operator: String,
    pub viewer: String,
    pub service: String,
    /// Stops auth when dropped.
    pub shutdown: tokio_util::sync::DropGuard,
    /// Holds auth's database; a test may keep the metrics store here too.
    pub dir: TempDir,
}

pub async fn spawn_auth() -> TestAuth {
    devopstrack_testkit::init_test_logging();
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite stores");
    let auth_shutdown = CancellationToken::new();
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let auth_settings = devopstrack_auth::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/auth.db", dir.path().display()),
        service_clients: ["gateway", "tasks"]
            .map(|id| (id.to_owned(), SecretString::from(SERVICE_SECRET)))
            .into(),
        signing_key_kek: Some(devopstrack_auth::kek::Kek::generate_base64()),
        argon2_memory_kib: 8 * 1024,
        argon2_iterations: 1,
        ..devopstrack_auth::config::Settings::default()
    };
    let auth = devopstrack_auth::startup::Application::build(&auth_settings)
        .await
        .expect("build auth");
    let auth_url = format!("http://127.0.0.1:{}", auth.grpc_port());
    let auth_app = auth.app();
    tokio::spawn(auth.run_until_stopped(auth_shutdown.clone()));

    let mut auth_client = AuthServiceClient::connect(auth_url.clone())
        .await
        .expect("connect to auth");
    let mut tokens = Vec::new();
    for (email, role) in [
        ("admin@example.com", Role::Admin),
        ("operator@example.com", Role::Operator),
        ("viewer@example.com", Role::Viewer),
    ] {
        let new = NewUser {
            email: email.into(),
            name: email.split('@').next().unwrap_or(email).into(),
            role: Some(role),
            password: SecretString::from(PASSWORD),
        };
        auth_app.bootstrap_user(new).await.expect("bootstrap a user");
        let login = auth_pb::LoginRequest {
            email: email.into(),
            password: PASSWORD.into(),
            client_address: String::new(),
        };
        tokens.push(
            auth_client
                .login(login)
                .await
                .expect("log in")
                .into_inner()
                .access_token,
        );
    }
    let issue = auth_pb::IssueServiceTokenRequest {
        client_id: "tasks".into(),
        client_secret: SERVICE_SECRET.into(),
    };
    let service = auth_client
        .issue_service_token(issue)
        .await
        .expect("a service token")
        .into_inner()
        .access_token;
    let [admin, operator, viewer]: [String; 3] = tokens.try_into().expect("three users");
    TestAuth {
        url: auth_url,
        admin,
        operator,
        viewer,
        service,
        shutdown: auth_shutdown.drop_guard(),
        dir,
    }
}

pub fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a valid header value"),
    );
    request
}

pub fn ts(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

impl TestApp {
    /// The admin port's `/metrics` text.
    pub async fn prometheus(&self) -> String {
        self.admin_get("/metrics").await
    }

    /// The whole HTTP answer (status line, headers, body) of `GET path` on the admin port.
    pub async fn admin_get(&self, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.admin_port))
            .await
            .expect("connect to the admin port");
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .expect("send");
        let mut out = String::new();
        stream.read_to_string(&mut out).await.expect("read");
        out
    }
}

/// The value of the Prometheus sample whose line starts with `series` (name and labels), if present.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}
