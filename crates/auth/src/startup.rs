//! Bind first, run second: [`Application::build`] connects the store, loads the keys and binds both ports (reporting
//! the real ones, so tests can bind port 0); [`Application::run_until_stopped`] serves until the token is cancelled.

use std::sync::Arc;

use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use devopstrack_platform::admin::{self, AdminState};
use devopstrack_platform::config::env_var;
use devopstrack_platform::grpc::GrpcServer;
use devopstrack_platform::metrics::MetricsRegistry;
use devopstrack_platform::net::bind;

use crate::app::{AuthApp, Policy};
use crate::config::Settings;
use crate::grpc::AuthGrpc;
use crate::keys::KeyRing;
use crate::passwords::PasswordHasher;

/// The use-cases over the configured store, without any listener: for `Application::build` and for admin commands
/// (`devopstrack user create`).
pub async fn build_app(settings: &Settings) -> anyhow::Result<Arc<AuthApp>> {
    let store = crate::store::connect(&settings.database_url)
        .await
        .map_err(|e| anyhow::anyhow!("auth store {}: {e}", crate::store::redact(&settings.database_url)))?;
    let pem = settings.signing_key_pem.as_ref().map(|p| p.expose_secret().to_owned());
    let keys = KeyRing::load(store.clone(), pem.as_deref()).await?;
    let hasher = PasswordHasher::new(
        settings.argon2_memory_kib,
        settings.argon2_iterations,
        settings.argon2_parallelism,
    )?;
    let policy = Policy {
        issuer: settings.issuer.clone(),
        audience: settings.audience.clone(),
        access_ttl: chrono::Duration::seconds(settings.access_token_ttl_secs as i64),
        refresh_ttl: chrono::Duration::seconds(settings.refresh_token_ttl_secs as i64),
        lockout_max_failures: settings.lockout_max_failures,
        lockout_window: chrono::Duration::seconds(settings.lockout_window_secs as i64),
        lockout_duration: chrono::Duration::seconds(settings.lockout_duration_secs as i64),
        service_clients: settings.service_clients.clone(),
    };
    Ok(Arc::new(AuthApp::new(
        store,
        keys,
        hasher,
        policy,
        settings.service_client_secret.clone(),
        AuthApp::system_clock(),
    )))
}

pub struct Application {
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    app: Arc<AuthApp>,
    metrics: MetricsRegistry,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let app = build_app(settings).await?;
        let grpc_listener = bind(settings.grpc_addr, &env_var("auth", "grpc_addr")).await?;
        let admin_listener = bind(settings.admin_addr, &env_var("auth", "admin_addr")).await?;
        Ok(Self {
            grpc_listener,
            admin_listener,
            app,
            metrics: MetricsRegistry::new(),
        })
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc_listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub fn admin_port(&self) -> u16 {
        self.admin_listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The use-cases, for in-process callers (`devopstrack up` bootstrapping the first admin).
    pub fn app(&self) -> Arc<AuthApp> {
        self.app.clone()
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let ready_app = self.app.clone();
        let admin_state = AdminState {
            metrics: self.metrics.clone(),
            readiness: Arc::new(move || {
                let app = ready_app.clone();
                Box::pin(async move { app.ready().await })
            }),
            shutdown: shutdown.clone(),
        };
        let admin = tokio::spawn(admin::serve(self.admin_listener, admin_state));
        tracing::info!(grpc = %self.grpc_listener.local_addr()?, "auth service listening");
        let served = GrpcServer::new(&self.metrics)
            .add_service(AuthGrpc::new(self.app).into_server())
            .descriptor_set(devopstrack_proto::FILE_DESCRIPTOR_SET)
            .serve(self.grpc_listener, shutdown.clone())
            .await;
        shutdown.cancel();
        admin.await??;
        served
    }
}
