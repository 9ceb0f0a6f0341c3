//! Use-cases for the workers' side of the queue: lease deliveries, hold them (renew, watch for a stop request), and
//! let them go (ack, hand back). The outcomes themselves are pipeline transitions ([`super::jobs`]); these calls
//! only move queue entries, so a worker never holds the store.

use std::time::Duration;

use super::TasksApp;
use crate::domain::{JobId, JobStatus};
use crate::error::Error;
use crate::store::Delivery;

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
    ) -> Result<Vec<Delivery>, Error> {
        Ok(self.store.lease(worker, max, lease, wait).await?)
    }

    /// Extends `worker`'s lease on `delivery`; `false` when it lapsed and another worker took it.
    pub async fn renew_lease(&self, worker: &str, delivery: &Delivery, lease: Duration) -> Result<bool, Error> {
        Ok(self.store.renew(worker, delivery, lease).await?)
    }

    /// Done with the delivery, whatever its outcome (an entry already gone is fine).
    pub async fn ack_delivery(&self, delivery: &Delivery) -> Result<(), Error> {
        Ok(self.store.ack(delivery).await?)
    }

    /// Hands the delivery back to the queue, to be delivered again at once (shutdown, or a start that must wait).
    pub async fn release_delivery(&self, worker: &str, delivery: &Delivery) -> Result<(), Error> {
        Ok(self.store.release(worker, delivery).await?)
    }

    /// Whether a pipeline write (a cancel) asked the worker running this attempt to stop.
    pub async fn stop_requested(&self, job: JobId, attempt: u32) -> Result<bool, Error> {
        Ok(self.store.stop_requested(job, attempt).await?)
    }

    /// For a delivery handed out more than once: whether its attempt is still marked running in the stored pipeline.
    pub async fn redelivered(&self, delivery: &Delivery) -> Result<Redelivered, Error> {
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
