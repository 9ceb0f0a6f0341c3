//! Use-cases for the workers' side of the queue: lease deliveries, hold them (renew, watch for a stop request), and
//! let them go (ack, hand back). The outcomes themselves are pipeline transitions ([`super::jobs`]); these calls
//! only move queue entries, so a worker never holds the store.
//!
//! They answer the store's own error, not [`crate::error::Error`]: their callers are background loops that log the
//! cause and retry, and the transport's mapping would hide it (an internal error reads "internal error") and log an
//! unavailable store once per call on top of the loop's own throttled warning.

use std::time::Duration;

use super::TasksApp;
use crate::domain::{JobId, JobStatus};
use crate::store::{Delivery, StoreResult};

/// What a redelivered attempt's pipeline says about it (see [`TasksApp::redelivered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redelivered {
    /// The pipeline is gone: nothing to run.
    Gone,
    /// The attempt is still marked running: its previous holder's lease lapsed.
    StillRunning,
    /// The attempt is not running (queued and never started, or already over: the start decides).
    NotRunning,
}

impl TasksApp {
    /// Up to `max` deliveries for `worker`, each leased for `lease`; waits up to `wait` for one.
    pub async fn lease_deliveries(
        &self,
        worker: &str,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> StoreResult<Vec<Delivery>> {
        self.store.lease(worker, max, lease, wait).await
    }

    /// Extends `worker`'s lease on `delivery`; `false` when it lapsed and another worker took it.
    pub async fn renew_lease(&self, worker: &str, delivery: &Delivery, lease: Duration) -> StoreResult<bool> {
        self.store.renew(worker, delivery, lease).await
    }

    /// Done with the delivery, whatever its outcome (an entry already gone is fine).
    pub async fn ack_delivery(&self, delivery: &Delivery) -> StoreResult<()> {
        self.store.ack(delivery).await
    }

    /// Hands the delivery back to the queue, to be delivered again at once (shutdown, or a start that must wait).
    pub async fn release_delivery(&self, worker: &str, delivery: &Delivery) -> StoreResult<()> {
        self.store.release(worker, delivery).await
    }

    /// Whether a pipeline write (a cancel) asked the worker running this attempt to stop.
    pub async fn stop_requested(&self, job: JobId, attempt: u32) -> StoreResult<bool> {
        self.store.stop_requested(job, attempt).await
    }

    /// For a delivery handed out more than once: whether its attempt is still marked running in the stored pipeline.
    pub async fn redelivered(&self, delivery: &Delivery) -> StoreResult<Redelivered> {
        let Some(stored) = self.store.pipeline(delivery.pipeline).await? else {
            return Ok(Redelivered::Gone);
        };
        let running = stored
            .pipeline
            .jobs()
            .any(|j| j.id == delivery.job && j.status == JobStatus::Running && j.attempt == delivery.attempt);
        Ok(if running {
            Redelivered::StillRunning
        } else {
            Redelivered::NotRunning
        })
    }
}
