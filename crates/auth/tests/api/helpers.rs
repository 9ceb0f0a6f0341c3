//! `spawn_app()`: the real auth service on port 0 over a fresh store, and typed helpers to drive it over gRPC.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use devopstrack_auth::app::{AuthApp, NewUser};
use devopstrack_auth::config::Settings;
use devopstrack_auth::domain::Role;
use devopstrack_auth::startup::Application;
use devopstrack_proto::auth::v1 as pb;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;

/// The password every test user gets (it satisfies the policy: at least 10 characters).
pub const PASSWORD: &str = "correct horse battery staple";
/// The client-credentials secret of the `gateway`, `tasks` and `projects` clients in these tests.
pub const SERVICE_SECRET: &str = "test-service-secret-0123456789abcdef";
/// The key-encryption key of the signing keys (base64 of 32 bytes).
pub const KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const ADMIN_EMAIL: &str = "admin@example.com";

/// Runs a test body `async fn f(app: TestApp)` twice: `f::sqlite` and `f::postgres` (skipped without PostgreSQL).
macro_rules! on_both_stores {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$test($crate::helpers::spawn_app().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = $crate::helpers::spawn_app_on_postgres().await else { return };
                super::$test(app).await;
            }
        }
    )+};
}
pub(crate) use on_both_stores;

/// A running auth service; stopped when dropped.
pub struct TestApp {
    /// `http://127.0.0.1:P`.
    pub grpc_url: String,
    /// `http://127.0.0.1:P` of the admin HTTP port (`/healthz`, `/readyz`, `/metrics`).
    pub admin_url: String,
    pub client: AuthServiceClient<Channel>,
    pub channel: Channel,
    /// The use-cases, for arranging state without going through the API.
    pub app: Arc<AuthApp>,
    _shutdown: DropGuard,
    _dir: Option<TempDir>,
}

/// A user the test created, with the password it can log in with.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password: String,
}

/// The auth service over SQLite in a fresh temp dir.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], after `configure` adjusted the settings (e.g. to set `signing_key_pem`).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite store");
    let url = format!("sqlite://{}/auth.db", dir.path().display());
    let mut app = start(&url, configure).await;
    app._dir = Some(dir);
    app
}

/// The auth service over a fresh PostgreSQL database; `None` when PostgreSQL is unavailable (the testkit said so).
pub async fn spawn_app_on_postgres() -> Option<TestApp> {
    let database = devopstrack_testkit::postgres().await?;
    Some(start(&database.url, |_| {}).await)
}

/// The settings [`spawn_app`] starts with, over `database_url`.
pub fn test_settings(database_url: &str) -> Settings {
    Settings {
        grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: database_url.to_owned(),
        signing_key_kek: Some(SecretString::from(KEK)),
        service_clients: ["gateway", "tasks", "projects"]
            .map(|id| (id.to_owned(), SecretString::from(SERVICE_SECRET)))
            .into(),
        // The smallest Argon2 cost `validate` accepts: these tests are about the API, not the hash's cost.
        argon2_memory_kib: 8 * 1024,
        argon2_iterations: 1,
        ..Settings::default()
    }
}

pub async fn start(database_url: &str, configure: impl FnOnce(&mut Settings)) -> TestApp {
    devopstrack_testkit::init_test_logging();
    let mut settings = test_settings(database_url);
    configure(&mut settings);
    settings.validate().expect("the test settings are valid");

    let application = Application::build(&settings).await.expect("build the auth service");
    let grpc_url = format!("http://127.0.0.1:{}", application.grpc_port());
    let admin_addr = SocketAddr::from(([127, 0, 0, 1], application.admin_port()));
    let app = application.app();
    let shutdown = CancellationToken::new();
    tokio::spawn(application.run_until_stopped(shutdown.clone()));

    // The listener is bound already, so connecting cannot race the server's start.
    let channel = Channel::from_shared(grpc_url.clone())
        .expect("a valid URL")
        .connect()
        .await
        .expect("connect");
    TestApp {
        client: AuthServiceClient::new(channel.clone()),
        channel,
        grpc_url,
        admin_url: format!("http://{admin_addr}"),
        app,
        _shutdown: shutdown.drop_guard(),
        _dir: None,
    }
}

impl TestApp {
    /// Creates the first admin (`admin@example.com`) the way `devopstrack user create` does: without a caller.
    pub async fn create_admin(&self) -> TestUser {
        self.bootstrap(ADMIN_EMAIL, "Ada Admin", Role::Admin).await
    }

    /// Creates a user directly through the use-case (no caller), to arrange a test.
    pub async fn bootstrap(&self, email: &str, name: &str, role: Role) -> TestUser {
        let new = NewUser {
            email: email.to_owned(),
            name: name.to_owned(),
            role: Some(role),
            password: SecretString::from(PASSWORD),
        };
        let user = self.app.bootstrap_user(new).await.expect("bootstrap a user");
        TestUser {
            id: user.id.to_string(),
            email: user.email.to_string(),
            name: user.name,
            password: PASSWORD.into(),
        }
    }

    /// A user with `role`, logged in: (user, access token).
    pub async fn user_with_token(&self, email: &str, role: Role) -> (TestUser, String) {
        let user = self
            .bootstrap(email, email.split('@').next().unwrap_or(email), role)
            .await;
        let token = self.login_as(&user).await.access_token;
        (user, token)
    }

    /// The admin, logged in: (admin, access token).
    pub async fn admin_with_token(&self) -> (TestUser, String) {
        let admin = self.create_admin().await;
        let token = self.login_as(&admin).await.access_token;
        (admin, token)
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<pb::TokenResponse, Status> {
        let request = pb::LoginRequest {
            email: email.into(),
            password: password.into(),
            client_address: String::new(),
        };
        self.client
            .clone()
            .login(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn login_as(&self, user: &TestUser) -> pb::TokenResponse {
        self.login(&user.email, &user.password).await.expect("log in")
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<pb::TokenResponse, Status> {
        let request = pb::RefreshRequest {
            refresh_token: refresh_token.into(),
        };
        self.client
            .clone()
            .refresh(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn logout(&self, refresh_token: &str) -> Result<(), Status> {
        let request = pb::LogoutRequest {
            refresh_token: refresh_token.into(),
        };
        self.client.clone().logout(request).await.map(|_| ())
    }

    pub async fn who_am_i(&self, token: &str) -> Result<pb::User, Status> {
        let request = with_token(pb::WhoAmIRequest {}, token);
        self.client
            .clone()
            .who_am_i(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn jwks(&self) -> Vec<pb::Jwk> {
        self.client
            .clone()
            .get_jwks(pb::GetJwksRequest {})
            .await
            .expect("GetJwks")
            .into_inner()
            .keys
    }

    /// CreateUser as the holder of `token`, with [`PASSWORD`].
    pub async fn create_user_as(&self, token: &str, email: &str, role: pb::Role) -> Result<pb::User, Status> {
        let request = pb::CreateUserRequest {
            email: email.into(),
            name: format!("User {email}"),
            role: role as i32,
            password: PASSWORD.into(),
        };
        self.client
            .clone()
            .create_user(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn update_user_as(&self, token: &str, request: pb::UpdateUserRequest) -> Result<pb::User, Status> {
        self.client
            .clone()
            .update_user(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn create_api_token_as(
        &self,
        token: &str,
        name: &str,
        role: pb::Role,
    ) -> Result<pb::CreateApiTokenResponse, Status> {
        let request = pb::CreateApiTokenRequest {
            name: name.into(),
            role: role as i32,
            expires_in_days: 0,
        };
        self.client
            .clone()
            .create_api_token(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn list_api_tokens_as(&self, token: &str) -> Result<Vec<pb::ApiToken>, Status> {
        let request = pb::ListApiTokensRequest::default();
        let response = self.client.clone().list_api_tokens(with_token(request, token)).await?;
        Ok(response.into_inner().tokens)
    }

    pub async fn exchange(&self, secret: &str) -> Result<pb::TokenResponse, Status> {
        let request = pb::ExchangeApiTokenRequest { token: secret.into() };
        self.client
            .clone()
            .exchange_api_token(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// A plain HTTP/1.1 GET on the admin port: (status code, body).
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        let host = self.admin_url.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(host)
            .await
            .expect("connect to the admin port");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
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

/// `request` with `authorization: Bearer <token>` metadata.
pub fn with_token<T>(request: T, token: &str) -> Request<T> {
    let mut request = Request::new(request);
    let value = format!("Bearer {token}").parse().expect("a token is valid metadata");
    request.metadata_mut().insert("authorization", value);
    request
}

/// The claims of a JWT, unverified (the tests check what the server put in).
pub fn claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url claims")).expect("JSON claims")
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
