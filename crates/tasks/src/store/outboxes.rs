//! The two outboxes, filled only by pipeline writes and drained by their delivery loops (`crate::outbox`):
//! [`DeploymentOutbox`] (finished deploys for the projects service, one entry per pipeline, retried with backoff) and
//! [`MetricEventOutbox`] (job runs and deployments for the metrics service, an append-only log kept until delivered).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{OutboxEntry, PendingMetricEvent, StoreResult};
use crate::domain::PipelineId;

#[async_trait]
pub trait DeploymentOutbox: Send + Sync {
    /// Entries due at `now`, oldest due first, at most `limit`.
    async fn due_outbox(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxEntry>>;
    async fn outbox_delivered(&self, id: PipelineId) -> StoreResult<()>;
    /// Counts a failed delivery and makes the entry due again at `at`.
    async fn outbox_retry(&self, id: PipelineId, at: DateTime<Utc>) -> StoreResult<()>;
}

#[async_trait]
pub trait MetricEventOutbox: Send + Sync {
    /// The oldest undelivered metric events, oldest first, at most `limit`.
    async fn pending_metric_events(&self, limit: usize) -> StoreResult<Vec<PendingMetricEvent>>;
    /// Removes delivered events (ids from [`MetricEventOutbox::pending_metric_events`]); unknown or already removed
    /// ids are ignored.
    async fn metric_events_delivered(&self, ids: &[String]) -> StoreResult<()>;
    /// Events waiting for delivery.
    async fn metric_events_backlog(&self) -> StoreResult<u64>;
}
