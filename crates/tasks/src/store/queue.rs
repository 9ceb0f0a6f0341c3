//! [`JobQueue`]: job attempts waiting for a worker, leased to one worker at a time (see the queue semantics in the
//! parent module). Entries arrive only with pipeline writes ([`super::Writes::enqueue`]).

use std::time::Duration;

use async_trait::async_trait;

use super::{Delivery, QueueDepth, StoreResult};
use crate::domain::JobId;

#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Up to `max` deliveries for `worker`, each leased until now + `lease`: first lapsed leases (older than `lease`),
    /// then ready entries. Waits up to `wait` for one when there is none.
    async fn lease(&self, worker: &str, max: usize, lease: Duration, wait: Duration) -> StoreResult<Vec<Delivery>>;
    /// Extends the lease to now + `lease` if `worker` still holds the delivery; `false` when it lapsed and was taken.
    async fn renew(&self, worker: &str, delivery: &Delivery, lease: Duration) -> StoreResult<bool>;
    /// Removes the entry (done with it, whatever the outcome). Acking an entry that is gone is not an error.
    async fn ack(&self, delivery: &Delivery) -> StoreResult<()>;
    /// Hands the entry back: it is delivered again at once (to any worker), with `deliveries` incremented.
    async fn release(&self, worker: &str, delivery: &Delivery) -> StoreResult<()>;
    /// Whether a pipeline write asked the worker running this attempt to stop.
    async fn stop_requested(&self, job: JobId, attempt: u32) -> StoreResult<bool>;
    async fn queue_depth(&self) -> StoreResult<QueueDepth>;
}
