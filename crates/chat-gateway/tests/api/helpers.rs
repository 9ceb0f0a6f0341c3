//! `spawn_app()`: the real auth service (SQLite in a temp dir, a signing key the test knows) and the real gateway in
//! front of it, both on port 0 and stopped when the [`TestApp`] is dropped; typed helpers to drive the edge over HTTP.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio_util::sync::{CancellationToken, DropGuard};

use devopstrack_auth::app::NewUser;
use devopstrack_platform::auth::Role;

pub type AuthSettings = devopstrack_auth::config::Settings;
pub type GatewaySettings = devopstrack_gateway::config::Settings;

pub const ADMIN_EMAIL: &str = "admin@example.com";
/// The password of every user the tests create (the policy wants at least 10 characters).
pub const PASSWORD: &str = "correct horse battery staple";
pub const ISSUER: &str = "devopstrack";
pub const AUDIENCE: &str = "devopstrack";

/// Auth and the gateway, running; both stop when this is dropped.
pub struct TestApp {
    /// `http://127.0.0.1:P` of the gateway.
    pub base_url: String,
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
    _auth_shutdown: DropGuard,
    _dir: TempDir,
}

/// A gateway on its own (for tests where auth is down); stopped when dropped.
pub struct TestGateway {
    pub base_url: String,
    pub http: reqwest::Client,
    _shutdown: DropGuard,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_, _| {}).await
}

/// Like [`spawn_app`], after `configure` adjusted the settings of auth and of the gateway (its `auth_url` is set after).
pub async fn spawn_app_with(configure: impl FnOnce(&mut AuthSettings, &mut GatewaySettings)) -> TestApp {
    devopstrack_testkit::init_test_logging();
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite store");
    let signing_key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = signing_key
        .to_pkcs8_pem(Default::default())
        .expect("encode the signing key as PKCS#8 PEM");
    let mut auth_settings = AuthSettings {
        grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: format!("sqlite://{}/auth.db", dir.path().display()),
        signing_key_pem: Some(SecretString::from(pem.to_string())),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        // The cheapest Argon2 `validate` accepts: these tests are about the edge, not the hash's cost.
        argon2_memory_kib: 8 * 1024,
        argon2_iterations: 1,
        ..AuthSettings::default()
    };
    let mut gateway_settings = gateway_settings();
    configure(&mut auth_settings, &mut gateway_settings);
    auth_settings.validate().expect("the auth test settings are valid");

    let auth = devopstrack_auth::startup::Application::build(&auth_settings)
        .await
        .expect("build auth");
    let auth_port = auth.grpc_port();
    let app = auth.app();
    let auth_shutdown = CancellationToken::new();
    tokio::spawn(auth.run_until_stopped(auth_shutdown.clone()));
    let new_admin = NewUser {
        email: ADMIN_EMAIL.into(),
        name: "Ada Admin".into(),
        role: Some(Role::Admin),
        password: SecretString::from(PASSWORD),
    };
    app.bootstrap_user(new_admin).await.expect("bootstrap the admin");

    gateway_settings.auth_url = format!("http://127.0.0.1:{auth_port}");
    let gateway = spawn_gateway(gateway_settings).await;
    let jwks: Value = gateway
        .http
        .get(format!("{}/.well-known/jwks.json", gateway.base_url))
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
        http: gateway.http.clone(),
        admin_email: ADMIN_EMAIL.into(),
        admin_password: PASSWORD.into(),
        signing_key,
        kid: jwk["kid"].as_str().expect("the JWK has a kid").to_owned(),
        jwk_x,
        _gateway: gateway,
        _auth_shutdown: auth_shutdown.drop_guard(),
        _dir: dir,
    }
}

/// Gateway settings for tests: port 0, one worker, no login throttling unless a test asks for it.
pub fn gateway_settings() -> GatewaySettings {
    GatewaySettings {
        http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
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
    let shutdown = CancellationToken::new();
    tokio::spawn(application.run_until_stopped(shutdown.clone()));
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("build an HTTP client");
    TestGateway {
        base_url,
        http,
        _shutdown: shutdown.drop_guard(),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request with an optional bearer token.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token).send().await.expect("send a GET")
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(Method::POST, path, token, body).await
    }

    pub async fn send_json(&self, method: Method, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("send a JSON request")
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Logs in and returns the access token (panics unless the login succeeds).
    pub async fn token_for(&self, email: &str, password: &str) -> String {
        let response = self.login(email, password).await;
        assert_eq!(response.status().as_u16(), 200, "log in as {email}");
        let body: Value = response.json().await.expect("a JSON token response");
        body["accessToken"].as_str().expect("an access token").to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token_for(&self.admin_email, &self.admin_password).await
    }

    /// Creates a user through the API as `admin_token`: (email, password).
    pub async fn create_user(&self, admin_token: &str, email: &str, role: &str) -> (String, String) {
        let body = json!({ "email": email, "name": email.split('@').next(), "role": role, "password": PASSWORD });
        let response = self.post_json("/api/v1/users", Some(admin_token), &body).await;
        let status = response.status().as_u16();
        assert_eq!(
            status,
            201,
            "create {email}: {}",
            response.text().await.unwrap_or_default()
        );
        (email.to_owned(), PASSWORD.to_owned())
    }

    /// A new user with `role`, logged in: (user id, access token).
    pub async fn user_with_token(&self, admin_token: &str, email: &str, role: &str) -> (String, String) {
        let (email, password) = self.create_user(admin_token, email, role).await;
        let token = self.token_for(&email, &password).await;
        let me: Value = self
            .get("/api/v1/auth/me", Some(&token))
            .await
            .json()
            .await
            .expect("a JSON /me");
        (me["id"].as_str().expect("an id").to_owned(), token)
    }

    /// Signs `claims` with the real key and `kid`, as auth would.
    pub fn sign(&self, claims: &Value) -> String {
        sign_eddsa(&self.signing_key, &self.kid, claims)
    }
}

impl TestGateway {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// EdDSA-signs `claims` with `key` under `kid`.
pub fn sign_eddsa(key: &SigningKey, kid: &str, claims: &Value) -> String {
    let pem = key.to_pkcs8_pem(Default::default()).expect("encode a key as PEM");
    let encoding = EncodingKey::from_ed_pem(pem.as_bytes()).expect("an EdDSA encoding key");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &encoding).expect("sign a token")
}

/// Claims auth would issue for `role`, valid now for 15 minutes.
pub fn valid_claims(role: &str) -> Value {
    let now = unix_now();
    json!({
        "sub": uuid::Uuid::new_v4().to_string(),
        "role": role,
        "name": "Test Caller",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 900,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs() as i64
}

/// Asserts the status and the JSON error `code`; returns the message.
pub async fn assert_error(response: Response, status: u16, code: &str) -> String {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("read the body");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON error body, got {text:?}"));
    assert_eq!(actual, status, "status of {body}");
    assert_eq!(body["error"]["code"], code, "code of {body}");
    body["error"]["message"].as_str().expect("an error message").to_owned()
}

/// The `Set-Cookie` header that sets the refresh cookie, if the response has one.
pub fn refresh_set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("devopstrack_refresh="))
        .map(str::to_owned)
}

/// The value of a `name=value; …` cookie header.
pub fn cookie_value(set_cookie: &str) -> &str {
    set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map_or("", |(_, value)| value)
}

/// The client-credentials secret of [`spawn_app_with_tasks`]'s services (the gateway's too).
pub const SERVICE_SECRET: &str = "test-service-secret";
/// The projects service's webhook-secrets key in [`spawn_app_with_tasks`] (base64 of 32 bytes).
pub const SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The project [`spawn_app_with_tasks`] creates, with environments `staging` and (protected) `production`.
pub const PROJECT: &str = "api";

/// Like [`spawn_app`], with the real projects and tasks services (SQLite, four in-process workers) behind the gateway
/// too, all stopped when the [`TestApp`] is dropped, and the admin's project [`PROJECT`].
pub async fn spawn_app_with_tasks() -> TestApp {
    devopstrack_testkit::init_test_logging();
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite stores");
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let shutdown = CancellationToken::new();
    let signing_key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = signing_key
        .to_pkcs8_pem(Default::default())
        .expect("encode the signing key as PKCS#8 PEM");
    let auth_settings = AuthSettings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/auth.db", dir.path().display()),
        signing_key_pem: Some(SecretString::from(pem.to_string())),
        service_client_secret: Some(SecretString::from(SERVICE_SECRET)),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        argon2_memory_kib: 8 * 1024,
        argon2_iterations: 1,
        ..AuthSettings::default()
    };
    auth_settings.validate().expect("the auth test settings are valid");
    let auth = devopstrack_auth::startup::Application::build(&auth_settings)
        .await
        .expect("build auth");
    let auth_url = format!("http://127.0.0.1:{}", auth.grpc_port());
    let auth_app = auth.app();
    tokio::spawn(auth.run_until_stopped(shutdown.clone()));
    let new_admin = NewUser {
        email: ADMIN_EMAIL.into(),
        name: "Ada Admin".into(),
        role: Some(Role::Admin),
        password: SecretString::from(PASSWORD),
    };
    auth_app.bootstrap_user(new_admin).await.expect("bootstrap the admin");

    let projects_settings = devopstrack_projects::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/projects.db", dir.path().display()),
        auth_url: auth_url.clone(),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
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
        auth_url: auth_url.clone(),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        flush_ms: 10,
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
        auth_url: auth_url.clone(),
        projects_url: projects_url.clone(),
        metrics_url: metrics_url.clone(),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        client_secret: Some(SecretString::from(SERVICE_SECRET)),
        ..devopstrack_tasks::config::Settings::default()
    };
    tasks_settings.validate().expect("the tasks test settings are valid");
    let tasks = devopstrack_tasks::startup::Application::build(&tasks_settings)
        .await
        .expect("build tasks");
    let tasks_url = format!("http://127.0.0.1:{}", tasks.grpc_port());
    tokio::spawn(tasks.run_until_stopped(shutdown.clone()));

    let gateway = spawn_gateway(GatewaySettings {
        auth_url,
        projects_url,
        tasks_url,
        metrics_url,
        client_secret: Some(SecretString::from(SERVICE_SECRET)),
        ..gateway_settings()
    })
    .await;
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
    let app = TestApp {
        base_url: gateway.base_url.clone(),
        http: gateway.http.clone(),
        admin_email: ADMIN_EMAIL.into(),
        admin_password: PASSWORD.into(),
        signing_key,
        kid: jwk["kid"].as_str().expect("the JWK has a kid").to_owned(),
        jwk_x: jwk["x"].as_str().expect("the JWK has x").to_owned(),
        _gateway: gateway,
        _auth_shutdown: shutdown.drop_guard(),
        _dir: dir,
    };
    let admin = app.admin_token().await;
    let project = json!({
        "slug": PROJECT, "name": "API",
        "environments": [{"name": "staging", "tier": "staging"},
                         {"name": "production", "tier": "production", "protected": true}],
    });
    let created = app.post_json("/api/v1/projects", Some(&admin), &project).await;
    assert_eq!(created.status().as_u16(), 201, "create the test project");
    app
}

impl TestApp {
    /// Creates a pipeline through the API as `token`; returns the answer's status and body.
    pub async fn create_pipeline(&self, token: &str, body: &Value) -> (u16, Value) {
        let response = self.post_json("/api/v1/pipelines", Some(token), body).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    /// Reads the pipeline until `done` holds (polling every 50 ms), panicking after `within`.
    pub async fn wait_for_pipeline(
        &self,
        token: &str,
        id: &str,
        within: std::time::Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + within;
        loop {
            let pipeline: Value = self
                .get(&format!("/api/v1/pipelines/{id}"), Some(token))
                .await
                .json()
                .await
                .expect("a JSON pipeline");
            if done(&pipeline) {
                return pipeline;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "pipeline {id} did not get there within {within:?}: {pipeline}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// A pipeline of simulate jobs, each `ms` long with three log lines: build, test (two jobs), deploy.
pub fn three_stage_pipeline(ms: u64) -> Value {
    let job = |name: &str| json!({"name": name, "executor": "simulate", "params": {"durationMs": ms, "logLines": 3}});
    json!({
        "project": PROJECT,
        "stages": [
            {"name": "build", "jobs": [job("compile")]},
            {"name": "test", "jobs": [job("unit"), job("lint")]},
            {"name": "deploy", "jobs": [job("rollout")]},
        ],
    })
}

/// Every job of a pipeline answer, in order.
pub fn pipeline_jobs(pipeline: &Value) -> Vec<&Value> {
    pipeline["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["jobs"].as_array().into_iter().flatten())
        .collect()
}
