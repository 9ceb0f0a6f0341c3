//! Use-cases for the delivery loops (`crate::outbox`): read what is due in the two outboxes and record what became
//! of it. The entries themselves are written only by pipeline writes ([`super::writes`]), atomically with them. They
//! answer the store's own error, for the loops to log with its cause (see [`super::queue`]).

use chrono::{DateTime, Utc};

use super::TasksApp;
use crate::domain::PipelineId;
use crate::prometheus::GaugeSample;
use crate::store::{OutboxEntry, PendingMetricEvent, StoreResult};

impl TasksApp {
    /// Deployment entries due now, oldest due first, at most `limit`.
    pub async fn due_deployments(&self, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        self.store.due_outbox(self.now(), limit).await
    }

    /// The deployment entry landed (or was refused for good): it leaves the outbox.
    pub async fn deployment_delivered(&self, id: PipelineId) -> StoreResult<()> {
        self.store.outbox_delivered(id).await
    }

    /// The deployment entry failed to land: counted, and due again at `at`.
    pub async fn deployment_retry(&self, id: PipelineId, at: DateTime<Utc>) -> StoreResult<()> {
        self.store.outbox_retry(id, at).await
    }

    /// The oldest undelivered metric events, at most `limit`.
    pub async fn pending_metric_events(&self, limit: usize) -> StoreResult<Vec<PendingMetricEvent>> {
        self.store.pending_metric_events(limit).await
    }

    /// Metric events that landed (ids from [`Self::pending_metric_events`]) leave the outbox.
    pub async fn metric_events_delivered(&self, ids: &[String]) -> StoreResult<()> {
        self.store.metric_events_delivered(ids).await
    }

    /// The queue and both outboxes, sampled for the gauges (`watchers` and `parked_webhooks` are left to the caller).
    pub async fn backlog_sample(&self) -> GaugeSample {
        GaugeSample {
            queue: self.store.queue_depth().await.ok(),
            backlog: self.store.backlog().await.ok(),
            metric_events: self.store.metric_events_backlog().await.ok(),
            watchers: 0,
            parked_webhooks: None,
        }
    }
}
