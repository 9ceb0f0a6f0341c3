//! Workers: one leasing loop per process (`leasers` loops when set higher, sharing the slots) hands deliveries out
//! to at most `count` concurrent job attempts; a loop leases for the slots free when it asks. The deliveries of one
//! lease that belong to the same pipeline (the jobs of a stage, enqueued together) form a group
//! that starts in one compare-and-set write, runs its executors concurrently (each renewing its lease and watching
//! for a stop request), and records the outcomes that are ready together in one write that also acks them.
//! Deliveries are at least once; the pipeline's compare-and-set makes each attempt start and finish exactly once:
//!
//! - a delivery whose attempt is no longer current (cancelled, duplicated, already done) is acked and dropped;
//! - a redelivery of an attempt still marked running means its worker's lease lapsed (it was killed): the attempt
//!   is reported lost (`lease_lapsed`) and a new attempt is queued;
//! - a worker that loses its lease (another worker was handed the delivery, or renewals failed or went unanswered
//!   until the next one would come too late) stops the executor and reports nothing: the new holder of the delivery
//!   decides. It stops at most one renewal interval after its first failed renewal, before its lease lapses
//!   (`lease.rs`).
//!
//! Shutdown: on the token, the loops stop leasing; running jobs get `grace` to finish, then their executors are
//! cancelled and their deliveries handed back to the queue (run again elsewhere as a new attempt).

mod group;
mod lease;
mod logs;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::TasksApp;
use crate::executor::Executors;
use crate::store::Delivery;

/// How long one lease call waits for work before checking for shutdown again.
const LEASE_WAIT: Duration = Duration::from_secs(1);
/// Deliveries asked for in one lease call at most.
const MAX_LEASE: usize = 64;

#[derive(Clone)]
pub struct WorkerSettings {
    /// Unique per process (host and pid): the queue consumer's name.
    pub name: String,
    /// Job attempts run at once in this process.
    pub count: u32,
    /// Leasing loops sharing those slots (at least one runs). More than one splits a stage's jobs between concurrent
    /// leases, whose starts then race for the pipeline (see `config::Settings::lease_loops`).
    pub leasers: u32,
    pub lease: Duration,
    pub grace: Duration,
}

/// Runs up to `settings.count` job attempts at once until `shutdown`, then waits for the running ones (at most the
/// grace period plus a lease).
pub async fn run(app: Arc<TasksApp>, executors: Arc<Executors>, settings: WorkerSettings, shutdown: CancellationToken) {
    let slots = Arc::new(Semaphore::new(settings.count as usize));
    let worker = Arc::new(group::Worker {
        app,
        executors,
        name: settings.name.clone(),
        lease: settings.lease,
        grace: settings.grace,
    });
    let mut loops = JoinSet::new();
    for _ in 0..settings.leasers.clamp(1, settings.count.max(1)) {
        loops.spawn(lease_loop(worker.clone(), slots.clone(), shutdown.clone()));
    }
    tracing::info!(workers = settings.count, leasers = loops.len(), name = %settings.name, "workers started");
    while loops.join_next().await.is_some() {}
    tracing::info!("workers stopped");
}

/// One leasing loop: leases for the free slots, starts each pipeline's deliveries as a group, and at shutdown waits
/// for its groups.
async fn lease_loop(worker: Arc<group::Worker>, slots: Arc<Semaphore>, shutdown: CancellationToken) {
    let mut groups = JoinSet::new();
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        while groups.try_join_next().is_some() {}
        // At least one free slot, then every free one (up to a lease's worth).
        let first = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let mut permits = vec![first];
        while permits.len() < MAX_LEASE {
            match slots.clone().try_acquire_owned() {
                Ok(permit) => permits.push(permit),
                Err(_) => break,
            }
        }
        let asked = tokio::time::Instant::now();
        let leased = tokio::select! {
            () = shutdown.cancelled() => break,
            leased = worker.app.lease_deliveries(&worker.name, permits.len(), worker.lease, LEASE_WAIT) => leased,
        };
        let deliveries = match leased {
            Ok(deliveries) => {
                failures = 0;
                deliveries
            }
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(worker = %worker.name, error = %e, failures, "leasing failed; retrying");
                }
                drop(permits);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                continue;
            }
        };
        permits.truncate(deliveries.len());
        for group in by_pipeline(deliveries) {
            let held = permits.split_off(permits.len() - group.len());
            groups.spawn(worker.clone().run_group(group, asked, held, shutdown.clone()));
        }
    }
    while groups.join_next().await.is_some() {}
}

/// A name for this process's workers: host name and pid.
pub fn process_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// Deliveries grouped by pipeline, each group in delivery order, groups in order of their first delivery.
fn by_pipeline(deliveries: Vec<Delivery>) -> Vec<Vec<Delivery>> {
    let mut groups: Vec<Vec<Delivery>> = Vec::new();
    for d in deliveries {
        match groups.iter_mut().find(|g| g[0].pipeline == d.pipeline) {
            Some(group) => group.push(d),
            None => groups.push(vec![d]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{JobId, PipelineId};

    fn delivery(pipeline: PipelineId, entry: &str) -> Delivery {
        Delivery {
            entry: entry.into(),
            pipeline,
            job: JobId::new(),
            attempt: 1,
            deliveries: 1,
            queued_at: None,
        }
    }

    #[test]
    fn deliveries_group_by_pipeline_keeping_their_order() {
        let (a, b) = (PipelineId::new(), PipelineId::new());
        let got = by_pipeline(vec![
            delivery(a, "1"),
            delivery(b, "2"),
            delivery(a, "3"),
            delivery(b, "4"),
            delivery(a, "5"),
        ]);
        let entries: Vec<Vec<&str>> = got
            .iter()
            .map(|g| g.iter().map(|d| d.entry.as_str()).collect())
            .collect();
        assert_eq!(entries, [vec!["1", "3", "5"], vec!["2", "4"]]);
    }
}
