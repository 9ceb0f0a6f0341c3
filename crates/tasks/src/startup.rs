//! Bind first, run second: [`Application::build`] connects the store, prepares the token verifier (keys from auth's
//! `GetJwks`, fetched on first use, so start-up order does not matter) and binds both ports (reporting the real ones,
//! so tests can bind port 0); [`Application::run_until_stopped`] serves until the token is cancelled.
//!
//! What runs depends on the role: `all` (API, outboxes, webhook inbox processor, workers), `api` (API, outboxes,
//! webhook inbox processor), `worker` (workers only; the admin port still serves `/metrics` and health).

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

use crate::app::TasksApp;
use crate::app::intake::Intake;
use crate::config::{ProcessRole, Settings};
use crate::events::EventHub;
use crate::executor::{ExecutorSettings, Executors};
use crate::grpc::TasksGrpc;
use crate::metrics_service::MetricsService;
use crate::projects::Projects;
use crate::prometheus::GaugeSample;
use crate::worker::{self, WorkerSettings};

pub struct Application {
    grpc_listener: Option<TcpListener>,
    admin_listener: TcpListener,
    app: Arc<TasksApp>,
    intake: Arc<Intake>,
    verifier: Arc<JwtVerifier>,
    /// The Prometheus registry served on the admin port's `/metrics`.
    registry: MetricsRegistry,
    settings: Settings,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let stores = crate::store::inbox::connect_stores(
            &settings.database_url,
            &settings.key_prefix,
            settings.allow_volatile_redis,
        )
        .await
        .map_err(|e| anyhow::anyhow!("tasks store ({}): {e}", env_var("tasks", "database_url")))?;
        let store = stores.tasks;
        let projects = Projects::new(
            &settings.projects_url,
            &settings.peers.auth_url,
            settings.peers.upstream_timeout(),
            &settings.client_id,
            settings.client_secret.clone(),
        )?;
        let registry = MetricsRegistry::new();
        let verifier = Arc::new(jwks::verifier(&settings.peers, projects.auth(), &registry));
        let metrics_service = MetricsService::new(
            &settings.metrics_url,
            settings.peers.upstream_timeout(),
            projects.service_tokens(),
        )?;
        let app =
            Arc::new(TasksApp::new(store, projects, TasksApp::system_clock()).with_metrics_service(metrics_service));
        let intake = Arc::new(Intake::new(app.clone(), stores.inbox, settings.intake()));
        let grpc_listener = match settings.role {
            ProcessRole::Worker => None,
            ProcessRole::All | ProcessRole::Api => {
                Some(bind(settings.grpc_addr, &env_var("tasks", "grpc_addr")).await?)
            }
        };
        let admin_listener = bind(settings.admin_addr, &env_var("tasks", "admin_addr")).await?;
        app.counters().register(&registry);
        Ok(Self {
            grpc_listener,
            admin_listener,
            app,
            intake,
            verifier,
            registry,
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
            metrics: self.registry.clone(),
            readiness: Arc::new(move || {
                let app = ready_app.clone();
                Box::pin(async move { app.ready().await })
            }),
            shutdown: shutdown.clone(),
        };
        let bound: Vec<_> = [self.grpc_listener.as_ref(), Some(&self.admin_listener)]
            .into_iter()
            .flatten()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        let admin = tokio::spawn(admin::serve(self.admin_listener, admin_state));
        let background = CancellationToken::new();
        let hub = EventHub::start(self.app.clone(), background.clone()).await;
        let (sampled_app, sampled_hub, sampled_intake) = (self.app.clone(), hub.clone(), self.intake.clone());
        let sampler: crate::prometheus::Sampler = Box::new(move || {
            let (app, hub, intake) = (sampled_app.clone(), sampled_hub.clone(), sampled_intake.clone());
            Box::pin(async move {
                let sample = app.backlog_sample().await;
                GaugeSample {
                    watchers: hub.watchers(),
                    parked_webhooks: intake.parked().await.ok(),
                    ..sample
                }
            })
        });
        tokio::spawn(crate::prometheus::report_gauges(
            sampler,
            self.registry.clone(),
            background.clone(),
        ));

        let workers = if self.settings.workers > 0 && self.settings.role != ProcessRole::Api {
            let mut executor_settings = ExecutorSettings::from_config(&self.settings).map_err(|why| {
                let (allow, deny) = (env_var("tasks", "outbound_allow"), env_var("tasks", "outbound_deny"));
                anyhow::anyhow!("{allow} / {deny}: {why}")
            })?;
            // The ports actually bound (the settings may say port 0) are the platform's own listeners too.
            executor_settings.outbound = bound
                .into_iter()
                .fold(executor_settings.outbound, |policy, addr| policy.deny_listener(addr));
            let executors = Arc::new(Executors::new(executor_settings)?);
            let settings = WorkerSettings {
                name: worker::process_name(),
                count: self.settings.workers,
                leasers: self.settings.lease_loops,
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

        let mut intake = None;
        let served = match self.grpc_listener {
            Some(listener) => {
                tokio::spawn(crate::outbox::run(self.app.clone(), background.clone()));
                // Kept, and awaited below: shutdown waits for the deliveries in flight.
                if self.settings.webhook_processor {
                    intake = Some(tokio::spawn(crate::intake::run(self.intake.clone(), shutdown.clone())));
                }
                tracing::info!(grpc = %listener.local_addr()?, workers = self.settings.workers, "tasks service listening");
                GrpcServer::new(&self.registry)
                    .add_service(
                        TasksGrpc::new(self.app.clone(), self.verifier, hub)
                            .with_intake(self.intake.clone())
                            .into_server(),
                    )
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
        if let Some(intake) = intake {
            intake.await?;
        }
        if let Some(workers) = workers {
            workers.await?;
        }
        background.cancel();
        admin.await??;
        served
    }
}
