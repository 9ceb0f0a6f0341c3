//! Bind first, run second: [`Application::build`] opens the store (SQLite or InfluxDB, by URL), prepares the token
//! verifier (keys from auth's `GetJwks`, fetched on first use, so start-up order does not matter) and binds both
//! ports (reporting the real ones, so tests can bind port 0); [`Application::run_until_stopped`] serves until the
//! token is cancelled, then drains gRPC (every Record* call in flight gets its answer, after its commit) and stops
//! the store writer.

use std::sync::Arc;

use chrono::TimeDelta;
use tokio_util::sync::CancellationToken;

use devopstrack_peers::jwks;
use devopstrack_platform::admin;
use devopstrack_platform::auth::JwtVerifier;
use devopstrack_platform::config::env_var;
use devopstrack_platform::grpc::GrpcServer;
use devopstrack_platform::metrics::MetricsRegistry;
use devopstrack_platform::net::ServicePorts;

use crate::app::{AppSettings, MetricsApp};
use crate::config::Settings;
use crate::grpc::MetricsGrpc;

pub struct Application {
    ports: ServicePorts,
    app: Arc<MetricsApp>,
    verifier: Arc<JwtVerifier>,
    metrics: MetricsRegistry,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let store = crate::store::open(&settings.store())
            .await
            .map_err(|e| anyhow::anyhow!("metrics store ({}): {e:#}", env_var("metrics", "database_url")))?;
        let metrics = MetricsRegistry::new();
        let app_settings = AppSettings {
            buffer_capacity: settings.buffer_capacity,
            flush_batch: settings.flush_batch,
            rework_window: TimeDelta::hours(i64::from(settings.rework_window_hours)),
        };
        let app = Arc::new(MetricsApp::new(
            store,
            &app_settings,
            MetricsApp::system_clock(),
            &metrics,
        ));
        let verifier = Arc::new(jwks::verifier(&settings.peers, settings.peers.auth_client()?, &metrics));
        let ports = ServicePorts::bind("metrics", settings.grpc_addr, settings.admin_addr).await?;
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
    pub fn app(&self) -> Arc<MetricsApp> {
        self.app.clone()
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        // The writer outlives the gRPC server: calls in flight wait for their commit while gRPC drains; it stops (after
        // writing anything still queued, e.g. of a caller that gave up) once they have.
        let writer_stop = CancellationToken::new();
        let writer = self.app.start_writer(writer_stop.clone());
        let grpc = GrpcServer::new(&self.metrics)
            .add_service(MetricsGrpc::new(self.app.clone(), self.verifier).into_server())
            .descriptor_set(devopstrack_proto::FILE_DESCRIPTOR_SET);
        let readiness = admin::readiness_of(self.app.clone(), |app| Box::pin(app.ready()));
        let served = self.ports.serve(grpc, &self.metrics, readiness, shutdown).await;
        writer_stop.cancel();
        let waiting = self.app.waiting();
        if waiting > 0 {
            tracing::info!(events = waiting, "writing queued metrics before exit");
        }
        writer.await?;
        served
    }
}
