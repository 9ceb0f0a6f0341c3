//! `spawn_app()`: the real auth service and the real projects service, each on port 0 over its own fresh SQLite
//! store, projects verifying tokens against auth's JWKS over gRPC; plus a logged-in admin, operator and viewer, a
//! service token, and typed helpers.

use std::net::SocketAddr;

use secrecy::SecretString;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use devopstrack_proto::projects::v1 as pb;
use devopstrack_proto::projects::v1::project_service_client::ProjectServiceClient;

/// The webhook secrets' key of [`spawn_app`]'s projects service (base64 of 32 bytes).
pub const SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The running pair; both stop when it is dropped.
pub struct TestApp {
    /// `http://127.0.0.1:P` of the projects gRPC port.
    pub grpc_url: String,
    /// `127.0.0.1:P` of the projects admin HTTP port.
    pub admin_addr: SocketAddr,
    pub channel: Channel,
    pub client: ProjectServiceClient<Channel>,
    pub admin: String,
    /// The admin's user id (the default owner of what the admin creates).
    pub admin_id: String,
    pub operator: String,
    pub viewer: String,
    /// A `service` token (client credentials, client id `tasks`).
    pub service: String,
    /// `http://127.0.0.1:P` of auth, and the projects database, for tests that start a second projects service.
    pub auth_url: String,
    pub database_url: String,
    _shutdown: DropGuard,
    _auth: DropGuard,
    _dir: TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with the projects service's settings changed by `configure` (after the test defaults, before
/// validation), e.g. a short webhook claim TTL.
pub async fn spawn_app_with(configure: impl FnOnce(&mut devopstrack_projects::config::Settings)) -> TestApp {
    devopstrack_testkit::init_test_logging();
    let auth = devopstrack_auth::testing::spawn().await;
    let shutdown = CancellationToken::new();

    let mut settings = devopstrack_projects::config::Settings {
        grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: format!("sqlite://{}/projects.db", auth.dir.path().display()),
        peers: devopstrack_peers::ServiceSettings {
            auth_url: auth.url.clone(),
            ..Default::default()
        },
        secrets_key: Some(SecretString::from(SECRETS_KEY)),
        ..devopstrack_projects::config::Settings::default()
    };
    configure(&mut settings);
    settings.validate().expect("the projects test settings are valid");
    let projects = devopstrack_projects::startup::Application::build(&settings)
        .await
        .expect("build projects");
    let grpc_url = format!("http://127.0.0.1:{}", projects.grpc_port());
    let admin_addr = SocketAddr::from(([127, 0, 0, 1], projects.admin_port()));
    tokio::spawn(projects.run_until_stopped(shutdown.clone()));

    let channel = Channel::from_shared(grpc_url.clone())
        .expect("a valid URL")
        .connect()
        .await
        .expect("connect");
    TestApp {
        grpc_url,
        admin_addr,
        client: ProjectServiceClient::new(channel.clone()),
        channel,
        admin: auth.admin,
        admin_id: auth.admin_id,
        operator: auth.operator,
        viewer: auth.viewer,
        service: auth.service,
        auth_url: auth.url,
        database_url: settings.database_url.clone(),
        _shutdown: shutdown.drop_guard(),
        _auth: auth.shutdown,
        _dir: auth.dir,
    }
}

impl TestApp {
    pub fn client(&self) -> ProjectServiceClient<Channel> {
        self.client.clone()
    }

    pub async fn create_project(&self, token: &str, request: pb::CreateProjectRequest) -> Result<pb::Project, Status> {
        self.client()
            .create_project(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    /// [`sample_project`] created by the admin.
    pub async fn create_sample(&self, slug: &str) -> pb::Project {
        self.create_project(&self.admin, sample_project(slug))
            .await
            .expect("create a sample project")
    }

    pub async fn get_project(&self, token: &str, project: &str) -> Result<pb::Project, Status> {
        let request = pb::GetProjectRequest {
            project: project.into(),
        };
        self.client()
            .get_project(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn list_projects(
        &self,
        token: &str,
        request: pb::ListProjectsRequest,
    ) -> Result<pb::ListProjectsResponse, Status> {
        self.client()
            .list_projects(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn update_project(&self, token: &str, request: pb::UpdateProjectRequest) -> Result<pb::Project, Status> {
        self.client()
            .update_project(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn create_release(&self, token: &str, request: pb::CreateReleaseRequest) -> Result<pb::Release, Status> {
        self.client()
            .create_release(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn record_deployment(
        &self,
        token: &str,
        deployment: pb::Deployment,
    ) -> Result<pb::RecordDeploymentResponse, Status> {
        let request = pb::RecordDeploymentRequest {
            deployment: Some(deployment),
        };
        self.client()
            .record_deployment(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn environment_states(&self, token: &str, project: &str) -> Result<Vec<pb::Environment>, Status> {
        let request = pb::GetEnvironmentStatesRequest {
            project: project.into(),
        };
        let response = self.client().get_environment_states(with_token(request, token)).await?;
        Ok(response.into_inner().environments)
    }

    /// A plain HTTP/1.1 GET on the admin port: (status code, body).
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(self.admin_addr)
            .await
            .expect("connect to the admin port");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.admin_addr
        );
        stream.write_all(request.as_bytes()).await.expect("send the request");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read the response");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("an HTTP status line");
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

/// A project with a GitHub repository and `staging` and `production` environments (tiers left to inference).
pub fn sample_project(slug: &str) -> pb::CreateProjectRequest {
    pb::CreateProjectRequest {
        slug: slug.into(),
        name: format!("Project {slug}"),
        description: "A sample project".into(),
        tags: vec!["team-a".into()],
        owner: String::new(),
        repositories: vec![pb::Repository {
            url: format!("https://github.com/acme/{slug}"),
            provider: 0,
            default_branch: String::new(),
        }],
        environments: vec![environment("staging"), environment("production")],
    }
}

pub fn environment(name: &str) -> pb::Environment {
    pb::Environment {
        name: name.into(),
        ..Default::default()
    }
}

/// A finished deployment of `version` to `environment` of `project` (id or slug), `minutes` after a fixed start.
pub fn deployment(
    id: &str,
    project: &str,
    environment: &str,
    version: &str,
    status: pb::DeploymentStatus,
    minutes: i64,
) -> pb::Deployment {
    let start = 1_750_000_000 + minutes * 60;
    pb::Deployment {
        id: id.into(),
        project_id: project.into(),
        environment: environment.into(),
        version: version.into(),
        commit_sha: String::new(),
        status: status as i32,
        started_at: Some(prost_types::Timestamp {
            seconds: start,
            nanos: 0,
        }),
        finished_at: Some(prost_types::Timestamp {
            seconds: start + 30,
            nanos: 0,
        }),
        triggered_by: String::new(),
        pipeline_id: String::new(),
        rollback: false,
    }
}

/// `request` with `authorization: Bearer <token>` metadata (none when `token` is empty).
pub fn with_token<T>(request: T, token: &str) -> Request<T> {
    let mut request = Request::new(request);
    if !token.is_empty() {
        let value = format!("Bearer {token}").parse().expect("a token is valid metadata");
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// Asserts `result` failed with `code` and a message containing `needle`; returns the status.
#[track_caller]
pub fn assert_status<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, needle: &str) -> Status {
    let status = result.expect_err("the call should have failed");
    assert_eq!(status.code(), code, "unexpected code; message: {:?}", status.message());
    assert!(
        status.message().contains(needle),
        "message {:?} should contain {needle:?}",
        status.message()
    );
    status
}
