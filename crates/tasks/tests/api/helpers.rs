//! `spawn_app()`: the real auth, projects and tasks services, each on port 0 (tasks over a fresh SQLite file or a
//! fresh Redis key prefix), a project `api` with a `staging` and a protected `production` environment, logged-in
//! users of every role, and typed helpers.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use tempfile::TempDir;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::transport::Channel;
use tonic::{Request, Status};

use devopstrack_auth::app::NewUser;
use devopstrack_platform::auth::Role;
use devopstrack_proto::auth::v1 as auth_pb;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;
use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::projects::v1::project_service_client::ProjectServiceClient;
use devopstrack_proto::tasks::v1 as pb;
use devopstrack_proto::tasks::v1::task_service_client::TaskServiceClient;

const PASSWORD: &str = "correct horse battery staple";
pub const SERVICE_SECRET: &str = "test-service-secret-0123456789abcdef";
pub const PROJECT: &str = "api";
/// Projects' key for sealing webhook secrets (base64 of 32 bytes; the projects database outlives restarts in a test).
const PROJECTS_SECRETS_KEY: &str = "ZGV2b3BzdHJhY2stdGVzdC1zZWNyZXRzLWtleS0zMmI=";

/// Which store the tasks service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Redis,
}

pub struct Options {
    pub backend: Backend,
    /// In-process workers (0: none, for tests that run worker processes of their own).
    pub workers: u32,
    pub lease_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            workers: 4,
            lease_ms: 2_000,
        }
    }
}

pub struct TestApp {
    pub client: TaskServiceClient<Channel>,
    pub projects: ProjectServiceClient<Channel>,
    pub admin: String,
    pub admin2: String,
    pub operator: String,
    pub operator2: String,
    pub viewer: String,
    /// The tasks store's URL and key prefix (for worker processes of the tests' own).
    pub database_url: String,
    pub key_prefix: String,
    pub auth_url: String,
    pub projects_url: String,
    pub dir: TempDir,
    /// Stops projects alone (the outbox test takes it down and brings it back).
    pub projects_shutdown: CancellationToken,
    pub projects_port: u16,
    /// The tasks service's admin port (`/metrics`, `/healthz`, `/readyz`).
    pub admin_port: u16,
    /// Stops tasks alone (the metrics delivery test restarts it with `tasks_settings`).
    pub tasks_shutdown: CancellationToken,
    pub tasks_settings: devopstrack_tasks::config::Settings,
    _shutdown: DropGuard,
}

/// `None` when the Redis backend was asked for and there is no Redis (the testkit says so, or fails under
/// `DEVOPSTRACK_REQUIRE_BACKENDS=1`).
pub async fn spawn_app(options: Options) -> Option<TestApp> {
    spawn_app_with(options, |_| {}).await
}

/// [`spawn_app`] with the tasks settings changed by `tweak` first.
pub async fn spawn_app_with(
    options: Options,
    tweak: impl FnOnce(&mut devopstrack_tasks::config::Settings),
) -> Option<TestApp> {
    devopstrack_testkit::init_test_logging();
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite stores");
    let (database_url, key_prefix) = match options.backend {
        Backend::Sqlite => (format!("sqlite://{}/tasks.db", dir.path().display()), String::new()),
        Backend::Redis => {
            let redis = devopstrack_testkit::redis().await?;
            (redis.url, redis.prefix)
        }
    };
    let shutdown = CancellationToken::new();
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
    tokio::spawn(auth.run_until_stopped(shutdown.clone()));

    let projects_shutdown = shutdown.child_token();
    let projects_port = start_projects(dir.path(), &auth_url, 0, projects_shutdown.clone()).await;
    let projects_url = format!("http://127.0.0.1:{projects_port}");

    let mut settings = devopstrack_tasks::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: database_url.clone(),
        key_prefix: key_prefix.clone(),
        workers: options.workers,
        lease_ms: options.lease_ms,
        shutdown_grace_ms: 1_000,
        peers: devopstrack_peers::ServiceSettings {
            auth_url: auth_url.clone(),
            ..Default::default()
        },
        projects_url: projects_url.clone(),
        client_secret: Some(SecretString::from(SERVICE_SECRET)),
        hook_poll_ms: 50,
        ..devopstrack_tasks::config::Settings::default()
    };
    tweak(&mut settings);
    settings.validate().expect("the tasks test settings are valid");
    let tasks = devopstrack_tasks::startup::Application::build(&settings)
        .await
        .expect("build tasks");
    let tasks_url = format!("http://127.0.0.1:{}", tasks.grpc_port());
    let admin_port = tasks.admin_port();
    let tasks_shutdown = shutdown.child_token();
    tokio::spawn(tasks.run_until_stopped(tasks_shutdown.clone()));

    let mut auth_client = AuthServiceClient::connect(auth_url.clone())
        .await
        .expect("connect to auth");
    let mut tokens = Vec::new();
    for (email, role) in [
        ("admin@example.com", Role::Admin),
        ("admin2@example.com", Role::Admin),
        ("operator@example.com", Role::Operator),
        ("operator2@example.com", Role::Operator),
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
    let [admin, admin2, operator, operator2, viewer]: [String; 5] = tokens.try_into().expect("five users");

    let projects = ProjectServiceClient::connect(projects_url.clone())
        .await
        .expect("connect to projects");
    let app = TestApp {
        client: TaskServiceClient::connect(tasks_url).await.expect("connect to tasks"),
        projects,
        admin,
        admin2,
        operator,
        operator2,
        viewer,
        database_url,
        key_prefix,
        auth_url,
        projects_url,
        dir,
        projects_shutdown,
        projects_port,
        admin_port,
        tasks_shutdown,
        tasks_settings: settings,
        _shutdown: shutdown.drop_guard(),
    };
    let project = projects_pb::CreateProjectRequest {
        slug: PROJECT.into(),
        name: "API".into(),
        environments: vec![
            projects_pb::Environment {
                name: "staging".into(),
                tier: projects_pb::Tier::Staging.into(),
                ..Default::default()
            },
            projects_pb::Environment {
                name: "production".into(),
                tier: projects_pb::Tier::Production.into(),
                protected: true,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    app.projects
        .clone()
        .create_project(with_token(project, &app.admin))
        .await
        .expect("create the test project");
    Some(app)
}

/// Starts projects over `<dir>/projects.db` on `port` (0: any); returns the bound port.
pub async fn start_projects(dir: &std::path::Path, auth_url: &str, port: u16, stop: CancellationToken) -> u16 {
    let settings = devopstrack_projects::config::Settings {
        grpc_addr: SocketAddr::from(([127, 0, 0, 1], port)),
        admin_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: format!("sqlite://{}/projects.db", dir.display()),
        peers: devopstrack_peers::ServiceSettings {
            auth_url: auth_url.to_owned(),
            ..Default::default()
        },
        secrets_key: Some(SecretString::from(PROJECTS_SECRETS_KEY)),
        ..devopstrack_projects::config::Settings::default()
    };
    let projects = devopstrack_projects::startup::Application::build(&settings)
        .await
        .expect("build projects");
    let port = projects.grpc_port();
    tokio::spawn(projects.run_until_stopped(stop));
    port
}

pub fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a valid header value"),
    );
    request
}

/// A simulate job.
pub fn job(name: &str, duration_ms: u64, fail_rate: f64) -> pb::Job {
    let params = serde_json::json!({"durationMs": duration_ms, "failRate": fail_rate, "logLines": 3});
    let Some(prost_types::value::Kind::StructValue(params)) = devopstrack_tasks::convert::value_to_struct(&params)
    else {
        panic!("an object is a Struct")
    };
    pb::Job {
        name: name.into(),
        executor: pb::Executor::Simulate.into(),
        params: Some(params),
        ..Default::default()
    }
}

pub fn stage(name: &str, jobs: Vec<pb::Job>) -> pb::Stage {
    pb::Stage {
        name: name.into(),
        jobs,
    }
}

/// The example: build, test (two jobs), deploy; each job `ms` long.
pub fn three_stages(ms: u64) -> Vec<pb::Stage> {
    vec![
        stage("build", vec![job("compile", ms, 0.0)]),
        stage("test", vec![job("unit", ms, 0.0), job("lint", ms, 0.0)]),
        stage("deploy", vec![job("rollout", ms, 0.0)]),
    ]
}

impl TestApp {
    pub async fn create(&self, token: &str, request: pb::CreatePipelineRequest) -> Result<pb::Pipeline, Status> {
        self.client
            .clone()
            .create_pipeline(with_token(request, token))
            .await
            .map(|r| r.into_inner().pipeline.expect("a pipeline in the answer"))
    }

    pub async fn get(&self, id: &str) -> pb::Pipeline {
        self.client
            .clone()
            .get_pipeline(with_token(pb::GetPipelineRequest { id: id.into() }, &self.viewer))
            .await
            .expect("get the pipeline")
            .into_inner()
    }

    /// Polls until `done` holds for the pipeline (at most `within`), and returns it.
    pub async fn wait_for(&self, id: &str, within: Duration, done: impl Fn(&pb::Pipeline) -> bool) -> pb::Pipeline {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let p = self.get(id).await;
            if done(&p) {
                return p;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "pipeline {id} did not get there within {within:?}: {p:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_status(&self, id: &str, status: pb::PipelineStatus, within: Duration) -> pb::Pipeline {
        self.wait_for(id, within, |p| p.status == i32::from(status)).await
    }
}

pub fn jobs(p: &pb::Pipeline) -> impl Iterator<Item = &pb::Job> {
    p.stages.iter().flat_map(|s| &s.jobs)
}

pub fn job_named<'a>(p: &'a pb::Pipeline, name: &str) -> &'a pb::Job {
    jobs(p).find(|j| j.name == name).expect("the job exists")
}
