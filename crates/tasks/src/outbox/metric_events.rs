//! Delivers the metric events outbox (job runs and deployments, written with the pipeline writes they describe; changes and
//! incidents, written by the webhook inbox) to the metrics service, oldest first, in batches of up to [`MAX_BATCH`]
//! per `Record*` call, and removes what landed.
//!
//! Nothing is lost while metrics (or auth) is down: the outbox is trimmed only by delivery, and a failed batch is
//! sent again after a backoff (doubling from 500 ms up to a minute). A batch may land twice (a crash between delivering
//! and removing, two API replicas delivering at once): every event carries a deterministic `event_id`, so metrics
//! stores it once. A batch metrics refuses as invalid is sent again one event at a time, and only the events refused
//! on their own are dropped (logged).

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio_util::sync::CancellationToken;

use devopstrack_peers::DeliveryError;
use devopstrack_proto::metrics::v1 as pb;

use crate::app::TasksApp;
use crate::metrics_service::{MAX_BATCH, MetricsService};
use crate::store::{MetricEventKind, PendingMetricEvent};

/// How often an empty outbox is looked at again.
const POLL: Duration = Duration::from_millis(200);

pub(super) async fn run(app: Arc<TasksApp>, shutdown: CancellationToken) {
    let Some(client) = app.metrics_service() else { return };
    let mut failures = 0u32;
    loop {
        let pause = match deliver_batch(&app, client).await {
            Ok(n) if n == MAX_BATCH => continue,
            Ok(_) => {
                failures = 0;
                POLL
            }
            Err(reason) => {
                let pause = super::backoff(failures).to_std().unwrap_or(POLL);
                failures = failures.saturating_add(1);
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(%reason, failures, "metrics outbox: delivery failed; retrying in {pause:?}");
                }
                pause
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Delivers (and removes) the oldest batch; returns how many events it held.
async fn deliver_batch(app: &TasksApp, client: &MetricsService) -> Result<usize, String> {
    let pending = app.pending_metric_events(MAX_BATCH).await.map_err(|e| e.to_string())?;
    if pending.is_empty() {
        return Ok(0);
    }
    let batch = split(&pending);
    let sent = async {
        if !batch.runs.is_empty() {
            send(client, batch.runs, |c, runs| Box::pin(c.record_job_runs(runs))).await?;
        }
        if !batch.deployments.is_empty() {
            send(client, batch.deployments, |c, ds| Box::pin(c.record_deployments(ds))).await?;
        }
        if !batch.changes.is_empty() {
            send(client, batch.changes, |c, cs| Box::pin(c.record_changes(cs))).await?;
        }
        if !batch.incidents.is_empty() {
            send(client, batch.incidents, |c, is| Box::pin(c.record_incidents(is))).await?;
        }
        Ok::<_, String>(())
    };
    sent.await?;
    let ids: Vec<String> = pending.iter().map(|p| p.id.clone()).collect();
    app.metric_events_delivered(&ids).await.map_err(|e| e.to_string())?;
    Ok(pending.len())
}

/// One batch, decoded by kind.
#[derive(Default)]
struct Batch {
    runs: Vec<pb::JobRun>,
    deployments: Vec<pb::Deployment>,
    changes: Vec<pb::Change>,
    incidents: Vec<pb::Incident>,
}

/// The batch's events, decoded; an undecodable payload (only a hand edit makes one) is dropped.
fn split(pending: &[PendingMetricEvent]) -> Batch {
    let mut batch = Batch::default();
    for p in pending {
        let payload = p.event.payload.as_slice();
        let decoded = match p.event.kind {
            MetricEventKind::JobRun => pb::JobRun::decode(payload).map(|r| batch.runs.push(r)),
            MetricEventKind::Deployment => pb::Deployment::decode(payload).map(|d| batch.deployments.push(d)),
            MetricEventKind::Change => pb::Change::decode(payload).map(|c| batch.changes.push(c)),
            MetricEventKind::Incident => pb::Incident::decode(payload).map(|i| batch.incidents.push(i)),
        };
        if let Err(e) = decoded {
            tracing::error!(id = %p.id, error = %e, "metrics outbox: dropping an undecodable event");
        }
    }
    batch
}

type Call<'c, T> =
    fn(&'c MetricsService, Vec<T>) -> std::pin::Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'c>>;

/// Sends `items` in one call; when metrics refuses the batch as invalid, one call per item, dropping the refused.
async fn send<'c, T: Clone + std::fmt::Debug>(
    client: &'c MetricsService,
    items: Vec<T>,
    call: Call<'c, T>,
) -> Result<(), String> {
    let batch = items.clone();
    match call(client, batch).await {
        Ok(()) => Ok(()),
        Err(DeliveryError::Retry(reason)) => Err(reason),
        Err(DeliveryError::Rejected(reason)) if items.len() == 1 => {
            tracing::error!(%reason, event = ?items[0], "metrics refused an event; dropping it");
            Ok(())
        }
        Err(DeliveryError::Rejected(reason)) => {
            tracing::warn!(%reason, events = items.len(), "metrics refused a batch; sending its events one by one");
            for item in items {
                match call(client, vec![item.clone()]).await {
                    Ok(()) => {}
                    Err(DeliveryError::Retry(reason)) => return Err(reason),
                    Err(DeliveryError::Rejected(reason)) => {
                        tracing::error!(%reason, event = ?item, "metrics refused an event; dropping it");
                    }
                }
            }
            Ok(())
        }
    }
}
