//! The real auth service for other services' integration tests (feature `test-support`): on port 0 over a SQLite file
//! in a fresh temp dir, with an admin, an operator and a viewer logged in and a service token of client `tasks`.

use std::net::SocketAddr;
use std::sync::Arc;

use secrecy::SecretString;
use tempfile::TempDir;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::transport::Channel;

use devopstrack_platform::auth::Role;
use devopstrack_proto::auth::v1 as pb;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;

use crate::app::{AuthApp, NewUser};
use crate::config::Settings;
use crate::startup::Application;

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery staple";
/// The client secret of the service clients `gateway` and `tasks`.
pub const SERVICE_SECRET: &str = "test-service-secret-0123456789abcdef";

/// The running auth service; it stops when [`TestAuth::shutdown`] is dropped.
pub struct TestAuth {
    /// `http://127.0.0.1:P` of its gRPC port.
    pub url: String,
    pub admin: String,
    /// The admin's user id.
    pub admin_id: String,
    pub operator: String,
    pub viewer: String,
    /// A `service` token of client `tasks`.
    pub service: String,
    pub shutdown: DropGuard,
    /// Holds auth's database; the service under test may keep its own store here too.
    pub dir: TempDir,
    app: Arc<AuthApp>,
}

impl TestAuth {
    /// Creates a user `email` (password [`PASSWORD`], name the part before `@`) with `role`, logs them in, and
    /// answers `(user id, access token)`: for tests that need more users than the three logged in already.
    pub async fn log_in_new_user(&self, email: &str, role: Role) -> (String, String) {
        let mut client = AuthServiceClient::connect(self.url.clone())
            .await
            .expect("connect to auth");
        log_in_new_user(&self.app, &mut client, email, role).await
    }
}

async fn log_in_new_user(
    app: &AuthApp,
    client: &mut AuthServiceClient<Channel>,
    email: &str,
    role: Role,
) -> (String, String) {
    let new = NewUser {
        email: email.into(),
        name: email.split('@').next().unwrap_or(email).into(),
        role: Some(role),
        password: SecretString::from(PASSWORD),
    };
    let user = app.bootstrap_user(new).await.expect("bootstrap a user");
    let login = pb::LoginRequest {
        email: email.into(),
        password: PASSWORD.into(),
        client_address: String::new(),
    };
    let token = client.login(login).await.expect("log in").into_inner().access_token;
    (user.id.to_string(), token)
}

/// Starts auth and logs its three users in.
pub async fn spawn() -> TestAuth {
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite stores");
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let settings = Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/auth.db", dir.path().display()),
        service_clients: ["gateway", "tasks"]
            .map(|id| (id.to_owned(), SecretString::from(SERVICE_SECRET)))
            .into(),
        signing_key_kek: Some(crate::kek::Kek::generate_base64()),
        // The smallest Argon2 cost auth accepts: these tests are about other services, not the hash's cost.
        argon2_memory_kib: 8 * 1024,
        argon2_iterations: 1,
        ..Settings::default()
    };
    settings.validate().expect("the auth test settings are valid");
    let auth = Application::build(&settings).await.expect("build auth");
    let url = format!("http://127.0.0.1:{}", auth.grpc_port());
    let app = auth.app();
    let shutdown = CancellationToken::new();
    tokio::spawn(auth.run_until_stopped(shutdown.clone()));

    // The listener is bound already, so connecting cannot race the server's start.
    let mut client = AuthServiceClient::connect(url.clone()).await.expect("connect to auth");
    let issue = pb::IssueServiceTokenRequest {
        client_id: "tasks".into(),
        client_secret: SERVICE_SECRET.into(),
    };
    let service = client
        .issue_service_token(issue)
        .await
        .expect("a service token")
        .into_inner()
        .access_token;
    let (admin_id, admin) = log_in_new_user(&app, &mut client, "admin@example.com", Role::Admin).await;
    let (_, operator) = log_in_new_user(&app, &mut client, "operator@example.com", Role::Operator).await;
    let (_, viewer) = log_in_new_user(&app, &mut client, "viewer@example.com", Role::Viewer).await;
    TestAuth {
        url,
        admin,
        admin_id,
        operator,
        viewer,
        service,
        shutdown: shutdown.drop_guard(),
        dir,
        app,
    }
}
