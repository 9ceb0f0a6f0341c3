//! Bind first, run second: [`Application::build`] connects the store, prepares the token verifier (keys from auth's
//! `GetJwks`, fetched on first use, so start-up order does not matter) and binds both ports (reporting the real ones,
//! so tests can bind port 0); [`Application::run_until_stopped`] serves until the token is cancelled.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use devopstrack_peers::jwks;
use devopstrack_platform::admin::{self, AdminState};
use devopstrack_platform::auth::JwtVerifier;
use devopstrack_platform::config::env_var;
use devopstrack_platform::grpc::GrpcServer;
use devopstrack_platform::metrics::MetricsRegistry;
use devopstrack_platform::net::bind;

use crate::app::ProjectsApp;
use crate::config::Settings;
use crate::grpc::ProjectsGrpc;

pub struct Application {
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
    app: Arc<ProjectsApp>,
    verifier: Arc<JwtVerifier>,
    metrics: MetricsRegistry,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let store = crate::store::connect(&settings.database_url)
            .await
            .map_err(|e| anyhow::anyhow!("projects store ({}): {e}", env_var("projects", "database_url")))?;
        let secrets_key = settings
            .secrets_key()
            .map_err(|e| anyhow::anyhow!("{}: {e}", env_var("projects", "secrets_key")))?;
        if secrets_key.is_none() {
            tracing::warn!(
                "no {} set: GitHub webhook secrets cannot be stored",
                env_var("projects", "secrets_key")
            );
        }
        let app = Arc::new(
            ProjectsApp::new(
                store,
                ProjectsApp::system_clock(),
                Duration::from_millis(settings.read_cache_ms),
            )
            .with_secrets_key(secrets_key),
        );
        let metrics = MetricsRegistry::new();
        let verifier = Arc::new(jwks::verifier(&settings.peers, settings.peers.auth_client()?, &metrics));
        let grpc_listener = bind(settings.grpc_addr, &env_var("projects", "grpc_addr")).await?;
        let admin_listener = bind(settings.admin_addr, &env_var("projects", "admin_addr")).await?;
        Ok(Self {
            grpc_listener,
            admin_listener,
            app,
            verifier,
            metrics,
        })
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc_listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub fn admin_port(&self) -> u16 {
        self.admin_listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The use-cases, for in-process callers.
    pub fn app(&self) -> Arc<ProjectsApp> {
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
        tracing::info!(grpc = %self.grpc_listener.local_addr()?, "projects service listening");
        let served = GrpcServer::new(&self.metrics)
            .add_service(ProjectsGrpc::new(self.app, self.verifier).into_server())
            .descriptor_set(devopstrack_proto::FILE_DESCRIPTOR_SET)
            .serve(self.grpc_listener, shutdown.clone())
            .await;
        shutdown.cancel();
        admin.await??;
        served
    }
}
