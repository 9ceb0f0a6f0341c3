//! Bind first, run second: [`Application::build`] connects the store, prepares the token verifier (keys from auth's
//! `GetJwks`, fetched on first use, so start-up order does not matter) and binds both ports (reporting the real ones,
//! so tests can bind port 0); [`Application::run_until_stopped`] serves until the token is cancelled.
//!
//! What runs depends on the role: `all` (API, outbox, workers), `api` (API, outbox), `worker` (workers only; the
//! admin port still serves `/metrics` and health).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use devopstrack_platform::admin::{self, AdminState};
use devopstrack_platform::auth::{Jwk, JwksFetcher, JwtVerifier};
use devopstrack_platform::config::env_var;
use devopstrack_platform::grpc::{GrpcServer, jwks_over_grpc};
use devopstrack_platform::metrics::MetricsRegistry;
use devopstrack_platform::net::bind;
use devopstrack_proto::auth::v1 as auth_pb;

use crate::app::TasksApp;
use crate::config::{ProcessRole, Settings};
use crate::events::EventHub;
use crate::executor::{ExecutorSettings, Executors};
use crate::grpc::TasksGrpc;
use crate::projects::{AuthClient, Projects};
use crate::worker::{self, WorkerSettings};

pub struct Application {
    grpc_listener: Option<TcpListener>,
    admin_listener: TcpListener,
    app: Arc<TasksApp>,
    verifier: Arc<JwtVerifier>,
    metrics: MetricsRegistry,
    settings: Settings,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let store = crate::store::connect(&settings.database_url, &settings.key_prefix)
            .await
            .map_err(|e| anyhow::anyhow!("tasks store ({}): {e}", env_var("tasks", "database_url")))?;
        let projects = Projects::new(
            &settings.projects_url,
            &settings.auth_url,
            Duration::from_millis(settings.upstream_timeout_ms),
            &settings.client_id,
            settings.client_secret.clone(),
        )?;
        let verifier = Arc::new(JwtVerifier::new(
            &settings.issuer,
            &settings.audience,
            jwks_fetcher(projects.auth()),
        ));
        let app = Arc::new(TasksApp::new(store, projects, TasksApp::system_clock()));
        let grpc_listener = match settings.role {
            ProcessRole::Worker => None,
            ProcessRole::All | ProcessRole::Api => {
                Some(bind(settings.grpc_addr, &env_var("tasks", "grpc_addr")).await?)
            }
        };
        let admin_listener = bind(settings.admin_addr, &env_var("tasks", "admin_addr")).await?;
        Ok(Self {
            grpc_listener,
            admin_listener,
            app,
            verifier,
            metrics: MetricsRegistry::new(),
            settings: settings.clone(),
        })
    }

    /// The bound gRPC port (0 for a worker-only process).
    pub fn grpc_port(&self) -> u16 {
        self.grpc_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
            .unwrap_or_default()
    }

    pub fn admin_port(&self) -> u16 {
        self.admin_listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The use-cases, for in-process callers.
    pub fn app(&self) -> Arc<TasksApp> {
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
        let background = CancellationToken::new();
        let hub = EventHub::start(self.app.store().clone(), background.clone()).await;
        tokio::spawn(report_queue(
            self.app.clone(),
            self.metrics.clone(),
            hub.clone(),
            background.clone(),
        ));

        let workers = if self.settings.workers > 0 && self.settings.role != ProcessRole::Api {
            let executors = Arc::new(Executors::new(ExecutorSettings {
                hook_secrets: self.settings.hook_secrets.clone(),
                hook_poll: Duration::from_millis(self.settings.hook_poll_ms),
            })?);
            let settings = WorkerSettings {
                name: worker::process_name(),
                count: self.settings.workers,
                lease: self.settings.lease(),
                grace: Duration::from_millis(self.settings.shutdown_grace_ms),
            };
            Some(tokio::spawn(worker::run(
                self.app.clone(),
                executors,
                settings,
                shutdown.clone(),
            )))
        } else {
            None
        };

        let served = match self.grpc_listener {
            Some(listener) => {
                tokio::spawn(crate::outbox::run(self.app.clone(), background.clone()));
                tracing::info!(grpc = %listener.local_addr()?, workers = self.settings.workers, "tasks service listening");
                GrpcServer::new(&self.metrics)
                    .add_service(TasksGrpc::new(self.app.clone(), self.verifier, hub).into_server())
                    .descriptor_set(devopstrack_proto::FILE_DESCRIPTOR_SET)
                    .serve(listener, shutdown.clone())
                    .await
            }
            None => {
                tracing::info!(workers = self.settings.workers, "tasks workers running");
                shutdown.cancelled().await;
                Ok(())
            }
        };
        shutdown.cancel();
        if let Some(workers) = workers {
            workers.await?;
        }
        background.cancel();
        admin.await??;
        served
    }
}

/// Keeps the queue gauges current (every few seconds; a store error leaves the last values).
async fn report_queue(app: Arc<TasksApp>, metrics: MetricsRegistry, hub: EventHub, stop: CancellationToken) {
    let ready = Gauge::<i64>::default();
    let delayed = Gauge::<i64>::default();
    let leased = Gauge::<i64>::default();
    let watchers = Gauge::<i64>::default();
    metrics.register("tasks_queue_ready", "Job attempts ready to be leased", ready.clone());
    metrics.register(
        "tasks_queue_delayed",
        "Job attempts waiting for their retry time",
        delayed.clone(),
    );
    metrics.register("tasks_queue_leased", "Job attempts held by workers", leased.clone());
    metrics.register(
        "tasks_event_watchers",
        "Live WatchEvents streams in this process",
        watchers.clone(),
    );
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Ok(depth) = app.store().queue_depth().await {
            ready.set(i64::try_from(depth.ready).unwrap_or(i64::MAX));
            delayed.set(i64::try_from(depth.delayed).unwrap_or(i64::MAX));
            leased.set(i64::try_from(depth.leased).unwrap_or(i64::MAX));
        }
        watchers.set(i64::try_from(hub.watchers()).unwrap_or(i64::MAX));
    }
}

/// Fetches the JWKS from auth over gRPC (an idempotent read: retried when auth blinks).
fn jwks_fetcher(auth: AuthClient) -> JwksFetcher {
    jwks_over_grpc(move || {
        let mut auth = auth.clone();
        async move {
            let keys = auth.get_jwks(auth_pb::GetJwksRequest {}).await?.into_inner().keys;
            Ok(keys
                .into_iter()
                .map(|k| Jwk {
                    kty: k.kty,
                    crv: k.crv,
                    x: k.x,
                    kid: k.kid,
                    alg: k.alg,
                    use_: k.r#use,
                })
                .collect())
        }
    })
}
