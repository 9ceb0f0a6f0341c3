//! `spawn_app_with_tasks()`: the whole back end (auth, projects, metrics, tasks) behind the gateway, with the test
//! project [`PROJECT`]; [`spawn_stack`] for the same with some settings changed, answering the services' addresses.

use std::net::SocketAddr;

use ed25519_dalek::SigningKey;
use secrecy::SecretString;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{
    AuthSettings, GatewaySettings, TestApp, TestGateway, auth_settings, gateway_settings, peers_at, spawn_gateway,
    start_auth,
};

/// The client-credentials secret of [`spawn_app_with_tasks`]'s services (the gateway's too).
pub const SERVICE_SECRET: &str = "test-service-secret-0123456789abcdef";
/// The projects service's webhook-secrets key in [`spawn_app_with_tasks`] (base64 of 32 bytes).
pub const SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The project [`spawn_app_with_tasks`] creates, with environments `staging` and (protected) `production`.
pub const PROJECT: &str = "api";

/// The gRPC URLs of [`spawn_stack`]'s services, for tests that call them as the gateway does.
#[derive(Debug, Clone)]
pub struct Backends {
    pub auth_url: String,
    pub projects_url: String,
    pub tasks_url: String,
    pub metrics_url: String,
}

/// Like [`spawn_app`], with the real projects and tasks services (SQLite, four in-process workers) behind the gateway
/// too, all stopped when the [`TestApp`] is dropped, and the admin's project [`PROJECT`].
pub async fn spawn_app_with_tasks() -> TestApp {
    spawn_stack().await.0
}

/// The services behind the gateway (auth, projects, metrics, tasks), running until this is dropped.
pub struct Backing {
    pub backends: Backends,
    signing_key: SigningKey,
    shutdown: CancellationToken,
    dir: tempfile::TempDir,
}

/// [`spawn_app_with_tasks`], and the services' addresses.
pub async fn spawn_stack() -> (TestApp, Backends) {
    spawn_stack_with(|_| {}).await
}

/// [`spawn_stack`] after `configure` adjusted the gateway's settings.
pub async fn spawn_stack_with(configure: impl FnOnce(&mut GatewaySettings)) -> (TestApp, Backends) {
    let backing = start_backends().await;
    let mut settings = GatewaySettings {
        chat_database_url: Some(format!("sqlite://{}/chat.db", backing.dir.path().display())),
        ..backing.gateway_settings()
    };
    configure(&mut settings);
    let gateway = spawn_gateway(settings).await;
    let backends = backing.backends.clone();
    let app = backing.into_app(gateway).await;
    app.create_test_project().await;
    (app, backends)
}

/// Auth (with the admin), projects, metrics and tasks on SQLite in a temp dir, with four in-process workers.
pub async fn start_backends() -> Backing {
    devopstrack_testkit::init_test_logging();
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite stores");
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let shutdown = CancellationToken::new();
    let signing_key = SigningKey::generate(&mut rand::rngs::OsRng);
    let auth_settings = AuthSettings {
        service_clients: ["gateway", "tasks"]
            .map(|id| (id.to_owned(), SecretString::from(SERVICE_SECRET)))
            .into(),
        ..auth_settings(&dir, &signing_key)
    };
    let auth_url = start_auth(&auth_settings, &shutdown).await;

    let projects_settings = devopstrack_projects::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/projects.db", dir.path().display()),
        peers: peers_at(&auth_url),
        secrets_key: Some(SecretString::from(SECRETS_KEY)),
        ..devopstrack_projects::config::Settings::default()
    };
    projects_settings
        .validate()
        .expect("the projects test settings are valid");
    let projects = devopstrack_projects::startup::Application::build(&projects_settings)
        .await
        .expect("build projects");
    let projects_url = format!("http://127.0.0.1:{}", projects.grpc_port());
    tokio::spawn(projects.run_until_stopped(shutdown.clone()));

    let metrics_settings = devopstrack_metrics::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/metrics.db", dir.path().display()),
        peers: peers_at(&auth_url),
        ..devopstrack_metrics::config::Settings::default()
    };
    metrics_settings
        .validate()
        .expect("the metrics test settings are valid");
    let metrics = devopstrack_metrics::startup::Application::build(&metrics_settings)
        .await
        .expect("build metrics");
    let metrics_url = format!("http://127.0.0.1:{}", metrics.grpc_port());
    tokio::spawn(metrics.run_until_stopped(shutdown.clone()));

    let tasks_settings = devopstrack_tasks::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/tasks.db", dir.path().display()),
        workers: 4,
        lease_ms: 2_000,
        shutdown_grace_ms: 1_000,
        peers: peers_at(&auth_url),
        projects_url: projects_url.clone(),
        metrics_url: metrics_url.clone(),
        client_secret: Some(SecretString::from(SERVICE_SECRET)),
        ..devopstrack_tasks::config::Settings::default()
    };
    tasks_settings.validate().expect("the tasks test settings are valid");
    let tasks = devopstrack_tasks::startup::Application::build(&tasks_settings)
        .await
        .expect("build tasks");
    let tasks_url = format!("http://127.0.0.1:{}", tasks.grpc_port());
    tokio::spawn(tasks.run_until_stopped(shutdown.clone()));

    Backing {
        backends: Backends {
            auth_url,
            projects_url,
            tasks_url,
            metrics_url,
        },
        signing_key,
        shutdown,
        dir,
    }
}

impl Backing {
    /// The settings of a gateway in front of these services (its chat database still to be chosen).
    pub fn gateway_settings(&self) -> GatewaySettings {
        GatewaySettings {
            peers: peers_at(&self.backends.auth_url),
            projects_url: self.backends.projects_url.clone(),
            tasks_url: self.backends.tasks_url.clone(),
            metrics_url: self.backends.metrics_url.clone(),
            client_secret: Some(SecretString::from(SERVICE_SECRET)),
            ..gateway_settings()
        }
    }

    /// The test app driving `gateway`; the services stop when it (and every app [`TestApp::beside`] it) is dropped.
    pub async fn into_app(self, gateway: TestGateway) -> TestApp {
        TestApp::new(gateway, self.signing_key, self.shutdown, self.dir).await
    }
}

impl TestApp {
    /// Another gateway in front of the same services: its own address and cookie jar, the same users and keys.
    pub fn beside(&self, gateway: TestGateway) -> TestApp {
        TestApp {
            base_url: gateway.base_url.clone(),
            admin_url: gateway.admin_url.clone(),
            http: gateway.http.clone(),
            admin_email: self.admin_email.clone(),
            admin_password: self.admin_password.clone(),
            signing_key: self.signing_key.clone(),
            kid: self.kid.clone(),
            jwk_x: self.jwk_x.clone(),
            _gateway: gateway,
            _keep: self._keep.clone(),
        }
    }

    /// The admin's project [`PROJECT`], with environments `staging` and (protected) `production`.
    pub async fn create_test_project(&self) {
        let admin = self.admin_token().await;
        let project = json!({
            "slug": PROJECT, "name": "API",
            "environments": [{"name": "staging", "tier": "staging"},
                             {"name": "production", "tier": "production", "protected": true}],
        });
        let created = self.post_json("/api/v1/projects", Some(&admin), &project).await;
        assert_eq!(created.status().as_u16(), 201, "create the test project");
    }
}
