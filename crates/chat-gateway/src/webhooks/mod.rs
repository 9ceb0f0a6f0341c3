//! The GitHub webhook intake behind `POST /api/v1/webhooks/github/{project}` (the route is in
//! `routes/webhooks.rs`): the projects service checks each delivery's signature and dedups its id
//! (`VerifyGithubWebhook`: the secret never leaves projects), [`mapping`] turns the payload into calls on the other
//! services, and [`processor`] makes them in the background, so GitHub gets its answer at once. [`recovery`] takes
//! over the deliveries whose processing died with a gateway (claims projects saw left unfinished) and queues them
//! again.
//!
//! Metrics: `devopstrack_webhook_deliveries_total{event,result}` (what the intake answered; `event` is one of the
//! handled event names or `other`, so a caller cannot grow the label set),
//! `devopstrack_webhook_actions_total{action,result}` (what became of each downstream call) and
//! `devopstrack_webhook_recovered_total` (deliveries taken over for processing again).

pub mod mapping;
pub mod payload;
pub mod processor;
pub mod recovery;
pub mod status;
pub mod token;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use devopstrack_platform::metrics::MetricsRegistry;

use crate::clients::{AuthClient, MetricsClient, ProjectsClient, TasksClient};
use crate::config::Settings;
use crate::error::ApiError;
use mapping::GithubEvent;
use processor::{Delivery, Upstreams};
use token::ServiceToken;

/// Verified deliveries waiting for the processor; when full, deliveries are refused with 503 (GitHub can redeliver).
pub const QUEUE_CAPACITY: usize = 1_024;
/// Largest webhook body accepted (GitHub caps payloads at 25 MB, but the events handled here are far smaller).
pub const MAX_PAYLOAD_BYTES: usize = 5 * 1024 * 1024;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub event: String,
    /// `accepted`, `ignored`, `duplicate`, `invalid_signature`, `not_configured`, `malformed`, `too_large`,
    /// `unavailable` or `error`.
    pub result: String,
}

/// The intake's shared state: the queue into the processor, the service token, the counters.
#[derive(Clone)]
pub struct Webhooks {
    queue: mpsc::Sender<Delivery>,
    token: Arc<ServiceToken>,
    deliveries: Family<DeliveryLabels, Counter>,
}

/// The upstream clients the intake uses.
pub struct Clients {
    pub auth: AuthClient,
    pub projects: ProjectsClient,
    pub tasks: TasksClient,
    pub metrics: MetricsClient,
}

impl Webhooks {
    /// Registers the counters and starts the processor and, when the gateway has service credentials, the recovery
    /// loop (call inside the Tokio runtime).
    pub fn start(settings: &Settings, clients: Clients, registry: &MetricsRegistry) -> Self {
        let token = Arc::new(ServiceToken::new(
            clients.auth,
            &settings.client_id,
            settings.client_secret.clone(),
        ));
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "devopstrack_webhook_deliveries",
            "GitHub webhook deliveries, by event and what the intake answered",
            deliveries.clone(),
        );
        let outcomes = Family::<processor::ActionLabels, Counter>::default();
        registry.register(
            "devopstrack_webhook_actions",
            "Downstream calls made for verified webhook deliveries, by call and outcome",
            outcomes.clone(),
        );
        let recovered = Counter::default();
        registry.register(
            "devopstrack_webhook_recovered",
            "Webhook deliveries whose processing died unfinished, taken over for processing again",
            recovered.clone(),
        );
        let claims = recovery::ProjectsClaims {
            projects: clients.projects.clone(),
            token: token.clone(),
        };
        let upstreams = Arc::new(Upstreams {
            projects: clients.projects,
            tasks: clients.tasks,
            metrics: clients.metrics,
            token: token.clone(),
            outcomes,
        });
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(processor::run(receiver, upstreams));
        if token.configured() {
            let every = Duration::from_millis(settings.webhook_recovery_interval_ms);
            tokio::spawn(recovery::run(claims, queue.downgrade(), every, recovered));
        } else {
            // Without a token nothing can be claimed, by the route or by recovery.
            tracing::info!("no service credentials: webhook recovery is off");
        }
        Self {
            queue,
            token,
            deliveries,
        }
    }

    pub fn token(&self) -> &ServiceToken {
        &self.token
    }

    pub fn count(&self, event: GithubEvent, result: &'static str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                event: event.label().to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// A place in the queue, taken before the delivery is verified: a delivery is recorded as seen only when it can
    /// also be processed (a redelivery of a refused one must not be a duplicate).
    pub fn reserve(&self) -> Result<mpsc::OwnedPermit<Delivery>, ApiError> {
        self.queue.clone().try_reserve_owned().map_err(|e| match e {
            TrySendError::Full(_) => {
                ApiError::Unavailable("too many webhook deliveries waiting; redeliver later".into())
            }
            TrySendError::Closed(_) => ApiError::Unavailable("the gateway is stopping; redeliver later".into()),
        })
    }
}
