//! What every handler shares: clients of the internal services, the token verifier, limits, metrics.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;

use devopstrack_platform::auth::{Jwk, JwksFetcher, JwtVerifier};
use devopstrack_platform::grpc::{ClientSettings, TracePropagation, jwks_over_grpc, lazy_channel};
use devopstrack_platform::metrics::{HttpMetrics, MetricsRegistry};
use devopstrack_proto::auth::v1 as pb;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;
use devopstrack_proto::metrics::v1::metrics_service_client::MetricsServiceClient;
use devopstrack_proto::projects::v1::project_service_client::ProjectServiceClient;
use devopstrack_proto::tasks::v1::task_service_client::TaskServiceClient;

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
    pub login_limiter: Arc<RateLimiter>,
    pub metrics: MetricsRegistry,
    pub http_metrics: HttpMetrics,
    /// Open WebSocket connections.
    pub websocket_connections: Gauge,
    /// Caps on open WebSockets per user and per client address.
    pub socket_caps: crate::routes::ws::caps::SocketCaps,
    pub secure_cookies: bool,
    /// Whose `X-Forwarded-For` / `X-Forwarded-Proto` are read (the client address, HSTS behind a proxy).
    pub proxies: TrustedProxies,
    /// Answer `Strict-Transport-Security` on every response (`public_https`).
    pub public_https: bool,
    /// The gateway's own `service` token (login passes the client address on with it).
    pub service_token: Arc<crate::service_token::ServiceToken>,
    /// The GitHub webhook route's per-source cap and counters.
    pub webhook_intake: crate::routes::webhooks::intake::WebhookIntake,
    /// Where the built web dashboard is (served at `/`).
    pub dashboard: Arc<crate::routes::dashboard::dist::Dashboard>,
    /// Health checks of every upstream, for `/readyz`.
    pub upstreams: Arc<crate::routes::health::readiness::Upstreams>,
}

impl AppState {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let client_settings = |url: &str| ClientSettings {
            timeout: Duration::from_millis(settings.upstream_timeout_ms),
            ..ClientSettings::new(url)
        };
        let auth =
            AuthServiceClient::with_interceptor(lazy_channel(&client_settings(&settings.auth_url))?, TracePropagation);
        let projects = ProjectServiceClient::with_interceptor(
            lazy_channel(&client_settings(&settings.projects_url))?,
            TracePropagation,
        );
        let tasks =
            TaskServiceClient::with_interceptor(lazy_channel(&client_settings(&settings.tasks_url))?, TracePropagation);
        let metrics_service = MetricsServiceClient::with_interceptor(
            lazy_channel(&client_settings(&settings.metrics_url))?,
            TracePropagation,
        );
        let verifier = Arc::new(JwtVerifier::new(
            &settings.issuer,
            &settings.audience,
            jwks_fetcher(auth.clone()),
        ));
        let per_minute = settings.login_rate_per_minute;
        let login_limiter = Arc::new(RateLimiter::per_minute(per_minute, (per_minute / 6).max(5)));
        let metrics = MetricsRegistry::new();
        let http_metrics = HttpMetrics::register(&metrics);
        let websocket_connections = Gauge::default();
        metrics.register(
            "websocket_connections",
            "WebSocket connections open on /api/v1/ws",
            websocket_connections.clone(),
        );
        let service_token = Arc::new(crate::service_token::ServiceToken::new(
            auth.clone(),
            &settings.client_id,
            settings.client_secret.clone(),
        ));
        let webhook_intake = crate::routes::webhooks::intake::WebhookIntake::new(&metrics);
        Ok(Self {
            upstreams: Arc::new(crate::routes::health::readiness::Upstreams::new(settings)?),
            service_token,
            webhook_intake,
            auth,
            projects,
            tasks,
            metrics_service,
            verifier,
            login_limiter,
            metrics,
            http_metrics,
            websocket_connections,
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

/// Fetches the JWKS from auth over gRPC (an idempotent read: retried when auth blinks).
fn jwks_fetcher(auth: AuthClient) -> JwksFetcher {
    jwks_over_grpc(move || {
        let mut auth = auth.clone();
        async move {
            let keys = auth.get_jwks(pb::GetJwksRequest {}).await?.into_inner().keys;
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
