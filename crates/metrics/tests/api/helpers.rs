//! `spawn_app()`: the real auth and metrics services on port 0 (metrics over a fresh SQLite file), tokens for a
//! viewer, an operator, an admin and a service account, and typed helpers.

use std::net::SocketAddr;

use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Request;
use tonic::transport::Channel;

use devopstrack_proto::metrics::v1 as pb;
use devopstrack_proto::metrics::v1::metrics_service_client::MetricsServiceClient;

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

pub use devopstrack_auth::testing::TestAuth;

/// The real auth service on port 0 over a SQLite file in a fresh temp dir, with a token per role.
pub async fn spawn_auth() -> TestAuth {
    devopstrack_testkit::init_test_logging();
    devopstrack_auth::testing::spawn().await
}

pub fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a valid header value"),
    );
    request
}

/// A succeeded 30-second `build` job run of `shop` in production (pipeline `pl-1`, job `job-1`) that finished at
/// `finished`.
pub fn job_run(id: String, finished: chrono::DateTime<chrono::Utc>) -> pb::JobRun {
    pb::JobRun {
        event_id: id,
        project: "shop".into(),
        environment: "production".into(),
        pipeline_id: "pl-1".into(),
        job_id: "job-1".into(),
        job_name: "build".into(),
        status: pb::JobRunStatus::Succeeded.into(),
        source: pb::Source::Devopstrack.into(),
        attempt: 1,
        queued_at: None,
        started_at: Some(ts(finished - chrono::TimeDelta::seconds(30))),
        finished_at: Some(ts(finished)),
    }
}

pub fn ts(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

impl TestApp {
    /// QuerySeries' answer to `request`, read as the viewer.
    pub async fn series(&self, request: pb::QuerySeriesRequest) -> pb::QuerySeriesResponse {
        self.client
            .clone()
            .query_series(with_token(request, &self.viewer))
            .await
            .expect("query series")
            .into_inner()
    }

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
