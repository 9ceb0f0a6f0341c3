//! The webhook route's shared state, a leaf (it knows nothing of `AppState`): the per-source cap on deliveries in
//! flight and `devopstrack_webhook_deliveries_total{event,result}`.

use std::net::IpAddr;
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use devopstrack_platform::metrics::MetricsRegistry;

use crate::routes::ws::caps::{Cap, Slot};

/// Deliveries one source address may have in flight at once (reading the body and waiting for tasks); past it: 429.
pub const MAX_IN_FLIGHT_PER_SOURCE: u32 = 8;

/// The event names counted by name; anything else is `other`, so a caller cannot grow the label set.
const EVENTS: [&str; 6] = [
    "workflow_run",
    "workflow_job",
    "deployment_status",
    "push",
    "issues",
    "ping",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub event: String,
    /// `accepted`, `ignored`, `duplicate`, `invalid_signature`, `not_configured`, `malformed`, `too_large`,
    /// `too_many` or `unavailable`.
    pub result: String,
}

/// The route's shared state: the per-source cap and `devopstrack_webhook_deliveries_total{event,result}`.
#[derive(Clone)]
pub struct WebhookIntake {
    per_source: Arc<Cap<IpAddr>>,
    deliveries: Family<DeliveryLabels, Counter>,
}

impl WebhookIntake {
    pub fn new(registry: &MetricsRegistry) -> Self {
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "devopstrack_webhook_deliveries",
            "GitHub webhook deliveries, by event and what the intake answered",
            deliveries.clone(),
        );
        Self {
            per_source: Cap::new(MAX_IN_FLIGHT_PER_SOURCE),
            deliveries,
        }
    }

    /// A place for one delivery from `source` (an [`address_key`](crate::routes::ws::caps::address_key)), or
    /// `None` past [`MAX_IN_FLIGHT_PER_SOURCE`]; freed on drop.
    pub fn take(&self, source: IpAddr) -> Option<Slot<IpAddr>> {
        self.per_source.take(source)
    }

    pub fn count(&self, event: &str, result: &str) {
        let event = EVENTS.iter().find(|e| **e == event).copied().unwrap_or("other");
        self.deliveries
            .get_or_create(&DeliveryLabels {
                event: event.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }
}
