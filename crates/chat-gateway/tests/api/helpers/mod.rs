//! `spawn_app()`: the real auth service (SQLite in a temp dir, a signing key the test knows) and the real gateway in
//! front of it, both on port 0 and stopped when the [`TestApp`] is dropped; typed helpers to drive the edge over HTTP.
//! Spawning is here; the typed HTTP helpers are in `requests`, token forging in `tokens`, the full stack (projects,
//! metrics and tasks too) in `services`, pipeline helpers in `pipelines`.

mod pipelines;
mod process;
mod requests;
mod services;
mod tokens;

pub use pipelines::{failing_build, gated_deploy, pipeline_jobs, three_stage_pipeline};
pub use process::spawn_gateway_process;
pub use requests::{assert_error, assert_no_failures, cookie_value, error_parts, refresh_set_cookie};
pub use services::{PROJECT, SERVICE_SECRET, spawn_app_with_tasks, spawn_stack, spawn_stack_with, start_backends};
pub use tokens::{sign_eddsa, unix_now, valid_claims};

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use secrecy::SecretString;
use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::{CancellationToken, DropGuard};

use devopstrack_auth::app::NewUser;
use devopstrack_peers::ServiceSettings;
use devopstrack_platform::auth::Role;

pub type AuthSettings = devopstrack_auth::config::Settings;
pub type GatewaySettings = devopstrack_gateway::config::Settings;

pub const ADMIN_EMAIL: &str = "admin@example.com";
/// The password of every user the tests create (the policy wants at least 10 characters).
pub const PASSWORD: &str = "correct horse battery staple";
pub const ISSUER: &str = "devopstrack";
pub const AUDIENCE: &str = "devopstrack";

/// The peer settings of a service under test whose auth is at `auth_url`.
pub fn peers_at(auth_url: &str) -> ServiceSettings {
    ServiceSettings {
        auth_url: auth_url.to_owned(),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        ..ServiceSettings::default()
    }
}

/// Auth and the gateway, running; both stop when this is dropped.
pub struct TestApp {
    /// `http://127.0.0.1:P` of the gateway.
    pub base_url: String,
    /// `http://127.0.0.1:P` of the gateway's admin port (Prometheus `/metrics`).
    pub admin_url: String,
    /// Keeps cookies, like a browser (the refresh cookie comes back on `/api/v1/auth/*`).
    pub http: reqwest::Client,
    pub admin_email: String,
    pub admin_password: String,
    /// The key auth signs with, so tests can forge tokens that only differ in what they test.
    pub signing_key: SigningKey,
    /// The `kid` auth publishes for [`Self::signing_key`], read from `/.well-known/jwks.json`.
    pub kid: String,
    /// The public key as published (`x` of the JWK).
    pub jwk_x: String,
    _gateway: TestGateway,
    _keep: Arc<Keep>,
}

/// What the services behind a [`TestApp`] need to keep running: shared by every app in front of them.
pub struct Keep {
    _shutdown: DropGuard,
    _dir: TempDir,
}

/// A gateway on its own (for tests where auth is down); stopped when dropped.
pub struct TestGateway {
    pub base_url: String,
    pub admin_url: String,
    pub http: reqwest::Client,
    _running: Running,
}

/// How a [`TestGateway`] runs: in this process (stopped through its token) or as a child process (killed).
enum Running {
    InProcess { _stop: DropGuard },
    Process { _child: tokio::process::Child },
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_, _| {}).await
}

/// Like [`spawn_app`], after `configure` adjusted the settings of auth and of the gateway (its `auth_url` is set after).
pub async fn spawn_app_with(configure: impl FnOnce(&mut AuthSettings, &mut GatewaySettings)) -> TestApp {
    devopstrack_testkit::init_test_logging();
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite store");
    let signing_key = SigningKey::generate(&mut rand::rngs::OsRng);
    let mut auth_settings = auth_settings(&dir, &signing_key);
    let mut gateway_settings = gateway_settings();
    configure(&mut auth_settings, &mut gateway_settings);
    let auth_shutdown = CancellationToken::new();
    gateway_settings.peers.auth_url = start_auth(&auth_settings, &auth_shutdown).await;
    let gateway = spawn_gateway(gateway_settings).await;
    TestApp::new(gateway, signing_key, auth_shutdown, dir).await
}

impl TestApp {
    /// The app of a running `gateway` whose auth signs with `signing_key` (checked against the JWKS it publishes)
    /// and stops on `shutdown`; `dir` holds the stores.
    async fn new(gateway: TestGateway, signing_key: SigningKey, shutdown: CancellationToken, dir: TempDir) -> Self {
        let jwks: Value = gateway
            .http
            .get(gateway.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("GET the JWKS")
            .json()
            .await
            .expect("a JSON JWKS");
        let jwk = &jwks["keys"][0];
        let jwk_x = jwk["x"].as_str().expect("the JWK has x").to_owned();
        assert_eq!(
            jwk_x,
            URL_SAFE_NO_PAD.encode(signing_key.verifying_key().to_bytes()),
            "auth publishes the configured key"
        );
        TestApp {
            base_url: gateway.base_url.clone(),
            admin_url: gateway.admin_url.clone(),
            http: gateway.http.clone(),
            admin_email: ADMIN_EMAIL.into(),
            admin_password: PASSWORD.into(),
            signing_key,
            kid: jwk["kid"].as_str().expect("the JWK has a kid").to_owned(),
            jwk_x,
            _gateway: gateway,
            _keep: Arc::new(Keep {
                _shutdown: shutdown.drop_guard(),
                _dir: dir,
            }),
        }
    }
}

/// Auth's settings for tests: ports 0, SQLite in `dir`, signing with `signing_key`.
pub fn auth_settings(dir: &TempDir, signing_key: &SigningKey) -> AuthSettings {
    let pem = signing_key
        .to_pkcs8_pem(Default::default())
        .expect("encode the signing key as PKCS#8 PEM");
    AuthSettings {
        grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: format!("sqlite://{}/auth.db", dir.path().display()),
        signing_key_pem: Some(SecretString::from(pem.to_string())),
        signing_key_kek: Some(devopstrack_auth::kek::Kek::generate_base64()),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        // The cheapest Argon2 `validate` accepts: these tests are about the edge, not the hash's cost.
        argon2_memory_kib: 8 * 1024,
        argon2_iterations: 1,
        ..AuthSettings::default()
    }
}

/// Runs auth with `settings` until `shutdown`, with the admin [`ADMIN_EMAIL`] bootstrapped; answers its gRPC URL.
pub async fn start_auth(settings: &AuthSettings, shutdown: &CancellationToken) -> String {
    settings.validate().expect("the auth test settings are valid");
    let auth = devopstrack_auth::startup::Application::build(settings)
        .await
        .expect("build auth");
    let auth_url = format!("http://127.0.0.1:{}", auth.grpc_port());
    let app = auth.app();
    tokio::spawn(auth.run_until_stopped(shutdown.clone()));
    let new_admin = NewUser {
        email: ADMIN_EMAIL.into(),
        name: "Ada Admin".into(),
        role: Some(Role::Admin),
        password: SecretString::from(PASSWORD),
    };
    app.bootstrap_user(new_admin).await.expect("bootstrap the admin");
    auth_url
}

/// Gateway settings for tests: ports 0, one worker, no login throttling unless a test asks for it.
pub fn gateway_settings() -> GatewaySettings {
    GatewaySettings {
        http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        peers: peers_at(&ServiceSettings::default().auth_url),
        login_rate_per_minute: 10_000,
        workers: Some(1),
        ..GatewaySettings::default()
    }
}

/// Starts a gateway with exactly these settings.
pub async fn spawn_gateway(settings: GatewaySettings) -> TestGateway {
    devopstrack_testkit::init_test_logging();
    settings.validate().expect("the gateway test settings are valid");
    let application = devopstrack_gateway::startup::Application::build(&settings)
        .await
        .expect("build the gateway");
    let base_url = format!("http://127.0.0.1:{}", application.port());
    let admin_url = format!("http://127.0.0.1:{}", application.admin_port());
    let shutdown = CancellationToken::new();
    tokio::spawn(application.run_until_stopped(shutdown.clone()));
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("build an HTTP client");
    TestGateway {
        base_url,
        admin_url,
        http,
        _running: Running::InProcess {
            _stop: shutdown.drop_guard(),
        },
    }
}
