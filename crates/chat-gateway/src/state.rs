//! What every handler shares: clients of the internal services, the token verifier, limits, metrics.

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use devopstrack_peers::{ServiceTokens, clients, jwks};
use devopstrack_platform::auth::JwtVerifier;
use devopstrack_platform::metrics::{HttpMetrics, MetricsRegistry};

use crate::config::Settings;
use crate::extract::forwarded::TrustedProxies;
use crate::ratelimit::RateLimiter;

pub use crate::clients::{AuthClient, MetricsClient, ProjectsClient, TasksClient};

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthClient,
    pub projects: ProjectsClient,
    /// Also carries the WebSocket's `WatchEvents` streams: the channel's deadline bounds only the wait for the
    /// stream to open (tonic times the response head), never its life.
    pub tasks: TasksClient,
    pub metrics_service: MetricsClient,
    pub verifier: Arc<JwtVerifier>,
    /// The gateway's own `service` token (`DEVOPSTRACK_GATEWAY__CLIENT_ID` / `__CLIENT_SECRET`): sent with logins, so
    /// auth believes the client address the gateway forwards.
    pub service_tokens: Arc<ServiceTokens>,
    pub login_limiter: Arc<RateLimiter>,
    pub metrics: MetricsRegistry,
    pub http_metrics: HttpMetrics,
    /// Open WebSocket connections.
    pub websocket_connections: Gauge,
    /// WebSockets closed because their send queue overflowed (the client read too slowly: close code 4408).
    pub websocket_overflows: Counter,
    /// Caps on open WebSockets per user and per client address.
    pub socket_caps: crate::routes::ws::caps::SocketCaps,
    pub secure_cookies: bool,
    /// Whose `X-Forwarded-For` / `X-Forwarded-Proto` are read (the client address, HSTS behind a proxy).
    pub proxies: TrustedProxies,
    /// Answer `Strict-Transport-Security` on every response (`public_https`).
    pub public_https: bool,
    /// The GitHub webhook route's per-source cap and counters.
    pub webhook_intake: crate::routes::webhooks::intake::WebhookIntake,
    /// Where the built web dashboard is (served at `/`).
    pub dashboard: Arc<crate::routes::dashboard::dist::Dashboard>,
    /// The chat (rooms, messages, actions, audit trail); `None` when no chat database is configured.
    pub chat: Option<Arc<crate::chat::app::ChatApp>>,
    /// The audit trail's queue for mutating requests; `None` without a chat database.
    pub audit: Option<crate::audit_log::AuditLog>,
    /// Health checks of every upstream, for `/readyz`.
    pub upstreams: Arc<crate::routes::health::readiness::Upstreams>,
}

impl AppState {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let peers = &settings.peers;
        let auth = peers.auth_client()?;
        let projects = clients::projects(&peers.client(&settings.projects_url))?;
        let tasks = clients::tasks(&peers.client(&settings.tasks_url))?;
        let metrics_service = clients::metrics(&peers.client(&settings.metrics_url))?;
        let metrics = MetricsRegistry::new();
        let verifier = Arc::new(jwks::verifier(peers, auth.clone(), &metrics));
        let service_tokens = Arc::new(ServiceTokens::new(
            auth.clone(),
            "gateway",
            &settings.client_id,
            settings.client_secret.clone(),
        ));
        let per_minute = settings.login_rate_per_minute;
        let login_limiter = Arc::new(RateLimiter::per_minute(per_minute, (per_minute / 6).max(5)));
        let http_metrics = HttpMetrics::register(&metrics);
        let websocket_connections = Gauge::default();
        metrics.register(
            "devopstrack_websocket_connections",
            "WebSocket connections open on /api/v1/ws",
            websocket_connections.clone(),
        );
        let websocket_overflows = Counter::default();
        metrics.register(
            "devopstrack_websocket_send_queue_overflows",
            "WebSockets closed because the client read too slowly and its send queue overflowed (close code 4408)",
            websocket_overflows.clone(),
        );
        let webhook_intake = crate::routes::webhooks::intake::WebhookIntake::new(&metrics);
        Ok(Self {
            upstreams: Arc::new(crate::routes::health::readiness::Upstreams::new(settings)?),
            webhook_intake,
            chat: None,
            audit: None,
            auth,
            projects,
            tasks,
            metrics_service,
            verifier,
            service_tokens,
            login_limiter,
            metrics,
            http_metrics,
            websocket_connections,
            websocket_overflows,
            socket_caps: crate::routes::ws::caps::SocketCaps::new(
                settings.ws_max_per_user,
                settings.ws_max_per_address,
            ),
            secure_cookies: settings.secure_cookies(),
            proxies: settings.trusted_proxies(),
            public_https: settings.public_https,
            dashboard: Arc::new(crate::routes::dashboard::dist::Dashboard::new(
                settings.dashboard_dir.as_deref(),
            )),
        })
    }
}
