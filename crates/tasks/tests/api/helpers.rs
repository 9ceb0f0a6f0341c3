//! `spawn_app()`: the real auth, projects and tasks services, each on port 0 (tasks over a fresh SQLite file or a
//! fresh Redis key prefix), a project `api` with a `staging` and a protected `production` environment, logged-in
//! users of every role, and typed helpers.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Stdio;
use std::time::Duration;

use secrecy::SecretString;
use tempfile::TempDir;
use tokio::process::Command;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::transport::Channel;
use tonic::{Request, Status};

use devopstrack_auth::testing::TestAuth;
use devopstrack_platform::auth::Role;
use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::projects::v1::project_service_client::ProjectServiceClient;
use devopstrack_proto::tasks::v1 as pb;
use devopstrack_proto::tasks::v1::task_service_client::TaskServiceClient;

pub use devopstrack_auth::testing::SERVICE_SECRET;
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

impl Options {
    /// The defaults on `backend`.
    pub fn on(backend: Backend) -> Self {
        Self {
            backend,
            ..Self::default()
        }
    }
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
    _auth_shutdown: DropGuard,
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
    let redis = match options.backend {
        Backend::Sqlite => None,
        Backend::Redis => Some(devopstrack_testkit::redis().await?),
    };
    let auth = devopstrack_auth::testing::spawn().await;
    let (database_url, key_prefix) = match redis {
        None => (
            format!("sqlite://{}/tasks.db", auth.dir.path().display()),
            String::new(),
        ),
        Some(redis) => (redis.url, redis.prefix),
    };
    let shutdown = CancellationToken::new();
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let auth_url = auth.url.clone();

    let projects_shutdown = shutdown.child_token();
    let projects_port = start_projects(auth.dir.path(), &auth_url, 0, projects_shutdown.clone()).await;
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

    let (_, admin2) = auth.log_in_new_user("admin2@example.com", Role::Admin).await;
    let (_, operator2) = auth.log_in_new_user("operator2@example.com", Role::Operator).await;
    let TestAuth {
        admin,
        operator,
        viewer,
        shutdown: auth_shutdown,
        dir,
        ..
    } = auth;

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
        _auth_shutdown: auth_shutdown,
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

/// The real `devopstrack-tasks` binary with `args`, over the store at `database_url`, calling the test app's auth and
/// projects; admin port on any free port, `warn` logs to the test's stderr, killed when dropped. Callers add their
/// own settings, then `spawn()`.
pub fn tasks_binary(app: &TestApp, args: &[&str], database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_devopstrack-tasks"));
    command
        .args(args)
        .env_remove("DEVOPSTRACK_CONFIG")
        .env("DEVOPSTRACK_TASKS__DATABASE_URL", database_url)
        .env("DEVOPSTRACK_TASKS__ADMIN_ADDR", "127.0.0.1:0")
        .env("DEVOPSTRACK_TASKS__AUTH_URL", &app.auth_url)
        .env("DEVOPSTRACK_TASKS__PROJECTS_URL", &app.projects_url)
        .env("DEVOPSTRACK_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

/// A loopback port nothing listens on right now (for a child process that must be told its port up front).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("an address").port()
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

    /// One ListPipelines page, read as the viewer.
    pub async fn list(&self, request: pb::ListPipelinesRequest) -> pb::ListPipelinesResponse {
        self.client
            .clone()
            .list_pipelines(with_token(request, &self.viewer))
            .await
            .expect("list pipelines")
            .into_inner()
    }

    /// The event stream `request` asks for, watched as the viewer.
    pub async fn watch(&self, request: pb::WatchEventsRequest) -> tonic::Streaming<pb::Event> {
        self.client
            .clone()
            .watch_events(with_token(request, &self.viewer))
            .await
            .expect("watch")
            .into_inner()
    }

    /// Projects' deployment history of project `api` in `environment` (`""`: every environment), read as the
    /// viewer; an error while projects is down.
    pub async fn deployments(&self, environment: &str) -> Result<Vec<projects_pb::Deployment>, Status> {
        let request = projects_pb::ListDeploymentsRequest {
            project: PROJECT.into(),
            environment: environment.into(),
            ..Default::default()
        };
        let answer = self
            .projects
            .clone()
            .list_deployments(with_token(request, &self.viewer))
            .await?;
        Ok(answer.into_inner().deployments)
    }

    /// Polls projects until it has recorded pipeline `pipeline_id`'s deployment (at most `within`), and returns it.
    pub async fn recorded_deployment(&self, pipeline_id: &str, within: Duration) -> projects_pb::Deployment {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let deployments = self.deployments("").await.expect("list deployments");
            if let Some(d) = deployments.into_iter().find(|d| d.pipeline_id == pipeline_id) {
                return d;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the deployment of pipeline {pipeline_id} was not recorded within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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
