//! Bind first, run second: [`Application::build`] binds the public HTTP port and the private admin port (reporting the
//! real ones) and prepares the upstream clients; [`Application::run_until_stopped`] serves until the token is
//! cancelled, then drains. The admin port is the platform's ([`devopstrack_platform::admin`]): Prometheus `/metrics`,
//! `/healthz` and `/readyz`, like every service's; the public port keeps `/healthz` and `/readyz` for its probes only.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tokio_util::sync::CancellationToken;

use devopstrack_platform::admin::{self, AdminState, ReadinessCheck};
use devopstrack_platform::config::env_var;
use devopstrack_platform::net::bind;
use devopstrack_proto::auth::v1 as auth_pb;

use crate::audit_log::{AuditLog, AuditWriter};
use crate::chat::app::{ChatApp, Platform, SWEEP_EVERY, run_notifier, run_sweeper};
use crate::config::Settings;
use crate::state::AppState;

pub struct Application {
    listener: TcpListener,
    admin_listener: tokio::net::TcpListener,
    state: AppState,
    workers: usize,
    /// Commits the audit records of mutating requests (with a chat database).
    audit_writer: Option<AuditWriter>,
}

/// Connects the chat's store when one is configured and builds the chat on the state's clients.
async fn connect_chat(settings: &Settings, state: &AppState) -> anyhow::Result<Option<Arc<ChatApp>>> {
    let Some(url) = &settings.chat_database_url else {
        return Ok(None);
    };
    let store = crate::chat::store::connect(url).await.map_err(|e| {
        anyhow::anyhow!(
            "chat database {}: {e}; check {}",
            crate::chat::store::redact(url),
            env_var("gateway", "chat_database_url")
        )
    })?;
    let platform = Platform {
        projects: state.projects.clone(),
        tasks: state.tasks.clone(),
        metrics: state.metrics_service.clone(),
        auth: state.auth.clone(),
        service_tokens: state.service_tokens.clone(),
    };
    let metrics = crate::chat::app::metrics::ChatMetrics::register(&state.metrics);
    let llm = settings
        .chat_llm()
        .map(|config| crate::chat::llm::Llm::new(config, &state.metrics))
        .transpose()?;
    Ok(Some(Arc::new(ChatApp::new(store, platform, metrics).with_llm(llm))))
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.http_addr).map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {} ({e}); set {}",
                settings.http_addr,
                env_var("gateway", "http_addr")
            )
        })?;
        let admin_listener = bind(settings.admin_addr, &env_var("gateway", "admin_addr")).await?;
        let mut state = AppState::new(settings)?;
        state.chat = connect_chat(settings, &state).await?;
        let audit_writer = state.chat.as_ref().map(|chat| {
            let (log, writer) = AuditLog::new(chat.store().clone(), &state.metrics);
            state.audit = Some(log);
            writer
        });
        // Fetch the keys now when auth is already up; otherwise the first request will (start-up order is free).
        if let Err(error) = state.verifier.refresh(true).await {
            tracing::warn!(%error, "auth not reachable yet; keys will be fetched on first use");
        }
        let workers = settings
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        Ok(Self {
            listener,
            admin_listener,
            state,
            workers,
            audit_writer,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The admin port (Prometheus `/metrics`, `/healthz`, `/readyz`).
    pub fn admin_port(&self) -> u16 {
        self.admin_listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        // A child: the admin port also stops when the HTTP server ends on its own (an error).
        let admin_shutdown = shutdown.child_token();
        let admin_state = AdminState {
            metrics: self.state.metrics.clone(),
            readiness: auth_answers(&self.state),
            shutdown: admin_shutdown.clone(),
        };
        let admin = tokio::spawn(admin::serve(self.admin_listener, admin_state));
        // The chat's fan-out, its sweeper (expiring undecided actions) and its notifier (the bot's notices of runs)
        // stop with the server and are awaited before returning.
        let chat_tasks = self.state.chat.clone().map(|chat| {
            let tokens = self.state.service_tokens.clone();
            [
                tokio::spawn(chat.live().clone().run(admin_shutdown.clone())),
                tokio::spawn(run_sweeper(chat.clone(), SWEEP_EVERY, admin_shutdown.clone())),
                tokio::spawn(run_notifier(chat, tokens, admin_shutdown.clone())),
            ]
        });
        // Stopped after the server: by then every answered request's record is queued, and it commits them all.
        let audit_stop = CancellationToken::new();
        let audit_writer = self.audit_writer.map(|writer| writer.spawn(audit_stop.clone()));
        let state = web::Data::new(self.state);
        let addr = self.listener.local_addr()?;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(crate::middleware::observe))
                .configure(crate::routes::configure)
                .default_service(web::to(crate::routes::not_found))
        })
        .workers(self.workers)
        .disable_signals()
        .shutdown_timeout(10)
        .listen(self.listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            handle.stop(true).await;
        });
        tracing::info!(%addr, "gateway listening");
        let served = server.await;
        admin_shutdown.cancel();
        audit_stop.cancel();
        for task in chat_tasks.into_iter().flatten().chain(audit_writer) {
            task.await?;
        }
        admin.await??;
        Ok(served?)
    }
}

/// The admin port's readiness: auth answers (its keys verify every token), as the public `/readyz` checks.
fn auth_answers(state: &AppState) -> ReadinessCheck {
    let auth = state.auth.clone();
    Arc::new(move || {
        let mut auth = auth.clone();
        Box::pin(async move {
            let mut request = tonic::Request::new(auth_pb::GetJwksRequest {});
            request.set_timeout(Duration::from_secs(1));
            auth.get_jwks(request)
                .await
                .map(|_| ())
                .map_err(|status| format!("auth: {:?}: {}", status.code(), status.message()))
        })
    })
}
