//! Delivers finished deploys to the projects service, and (in [`metric_events`]) job runs and deployments to the metrics
//! service. A deploy pipeline's end and its outbox entry are stored in one write, so nothing is lost if projects (or
//! auth) is down: the entry is retried with exponential backoff (capped at [`MAX_BACKOFF`]) until it lands. Delivery
//! is idempotent on projects' side (by deployment id), so two API replicas delivering the same entry, or a crash
//! between delivering and marking delivered, record it once.

mod metric_events;

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio_util::sync::CancellationToken;

use devopstrack_peers::{Backoff, DeliveryError};

use crate::app::TasksApp;
use crate::store::OutboxEntry;

const POLL: Duration = Duration::from_millis(500);
const BATCH: u32 = 50;
/// The wait before an entry's next delivery: doubling from 500 ms up to [`MAX_BACKOFF`].
const BACKOFF: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
const MAX_BACKOFF: TimeDelta = TimeDelta::seconds(60);

/// Both delivery loops, until `shutdown`.
pub async fn run(app: Arc<TasksApp>, shutdown: CancellationToken) {
    let metrics = tokio::spawn(metric_events::run(app.clone(), shutdown.clone()));
    deployments(app, shutdown).await;
    let _ = metrics.await;
}

async fn deployments(app: Arc<TasksApp>, shutdown: CancellationToken) {
    loop {
        let delivered = deliver_due(&app).await;
        if delivered == BATCH as usize {
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// One pass over the due entries; returns how many were handled.
pub async fn deliver_due(app: &TasksApp) -> usize {
    let due = match app.due_deployments(BATCH).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "outbox: reading due entries failed");
            return 0;
        }
    };
    let handled = due.len();
    for entry in due {
        deliver(app, entry).await;
    }
    handled
}

async fn deliver(app: &TasksApp, entry: OutboxEntry) {
    let result = match app.projects().record_deployment(&entry.payload).await {
        Ok(()) => {
            tracing::info!(pipeline_id = %entry.id, "deployment recorded in projects");
            app.deployment_delivered(entry.id).await
        }
        Err(DeliveryError::Rejected(reason)) => {
            tracing::error!(pipeline_id = %entry.id, %reason, "projects refused the deployment; dropping it");
            app.deployment_delivered(entry.id).await
        }
        Err(DeliveryError::Retry(reason)) => {
            let backoff = backoff(entry.attempts);
            if entry.attempts == 0 || entry.attempts.is_power_of_two() {
                tracing::warn!(pipeline_id = %entry.id, attempts = entry.attempts + 1, %reason,
                    "recording the deployment failed; retrying in {}ms", backoff.num_milliseconds());
            }
            app.deployment_retry(entry.id, app.now() + backoff).await
        }
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "outbox: updating an entry failed; it will be delivered again");
    }
}

/// `min(500 ms · 2^attempts, 60 s)`.
pub(crate) fn backoff(attempts: u32) -> TimeDelta {
    TimeDelta::from_std(BACKOFF.delay(attempts)).unwrap_or(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff(0), TimeDelta::milliseconds(500));
        assert_eq!(backoff(1), TimeDelta::seconds(1));
        assert_eq!(backoff(3), TimeDelta::seconds(4));
        assert_eq!(backoff(10), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
