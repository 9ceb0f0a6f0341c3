//! Bind first, run second: [`Application::build`] connects the store, prepares the token verifier (keys from auth's
//! `GetJwks`, fetched on first use, so start-up order does not matter) and binds both ports (reporting the real ones,
//! so tests can bind port 0); [`Application::run_until_stopped`] serves until the token is cancelled.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use devopstrack_peers::jwks;
use devopstrack_platform::admin;
use devopstrack_platform::auth::JwtVerifier;
use devopstrack_platform::config::env_var;
use devopstrack_platform::grpc::GrpcServer;
use devopstrack_platform::metrics::MetricsRegistry;
use devopstrack_platform::net::ServicePorts;

use crate::app::ProjectsApp;
use crate::config::Settings;
use crate::grpc::ProjectsGrpc;

pub struct Application {
    ports: ServicePorts,
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
        let ports = ServicePorts::bind("projects", settings.grpc_addr, settings.admin_addr).await?;
        Ok(Self {
            ports,
            app,
            verifier,
            metrics,
        })
    }

    pub fn grpc_port(&self) -> u16 {
        self.ports.grpc_port()
    }

    pub fn admin_port(&self) -> u16 {
        self.ports.admin_port()
    }

    /// The use-cases, for in-process callers.
    pub fn app(&self) -> Arc<ProjectsApp> {
        self.app.clone()
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let readiness = admin::readiness_of(self.app.clone(), |app| Box::pin(app.ready()));
        let grpc = GrpcServer::new(&self.metrics)
            .add_service(ProjectsGrpc::new(self.app, self.verifier).into_server())
            .descriptor_set(devopstrack_proto::FILE_DESCRIPTOR_SET);
        self.ports.serve(grpc, &self.metrics, readiness, shutdown).await
    }
}
