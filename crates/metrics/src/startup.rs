//! Bind first, run second: [`Application::build`] opens the store (SQLite or InfluxDB, by URL), prepares the token
//! verifier (keys from auth's `GetJwks`, fetched on first use, so start-up order does not matter) and binds both
//! ports (reporting the real ones, so tests can bind port 0); [`Application::run_until_stopped`] serves until the
//! token is cancelled, then drains gRPC (every Record* call in flight gets its answer, after its commit) and stops
//! the store writer.

use std::sync::Arc;

use chrono::TimeDelta;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use devopstrack_peers::jwks;
use devopstrack_platform::admin::{self, AdminState};
use devopstrack_platform::auth::JwtVerifier;
use devopstrack_platform::config::env_var;
use devopstrack_platform::grpc::GrpcServer;
use devopstrack_platform::metrics::MetricsRegistry;
use devopstrack_platform::net::bind;

use crate::app::{AppSettings, MetricsApp};
use crate::config::Settings;
use crate::grpc::MetricsGrpc;

pub struct Application {
    grpc_listener: TcpListener,
    admin_listener: TcpListener,
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
        let grpc_listener = bind(settings.grpc_addr, &env_var("metrics", "grpc_addr")).await?;
        let admin_listener = bind(settings.admin_addr, &env_var("metrics", "admin_addr")).await?;
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
    pub fn app(&self) -> Arc<MetricsApp> {
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
        // The writer outlives the gRPC server: calls in flight wait for their commit while gRPC drains; it stops (after
        // writing anything still queued, e.g. of a caller that gave up) once they have.
        let writer_stop = CancellationToken::new();
        let writer = self.app.start_writer(writer_stop.clone());
        tracing::info!(grpc = %self.grpc_listener.local_addr()?, "metrics service listening");
        let served = GrpcServer::new(&self.metrics)
            .add_service(MetricsGrpc::new(self.app.clone(), self.verifier).into_server())
            .descriptor_set(devopstrack_proto::FILE_DESCRIPTOR_SET)
            .serve(self.grpc_listener, shutdown.clone())
            .await;
        shutdown.cancel();
        writer_stop.cancel();
        let waiting = self.app.waiting();
        if waiting > 0 {
            tracing::info!(events = waiting, "writing queued metrics before exit");
        }
        writer.await?;
        admin.await??;
        served
    }
}
