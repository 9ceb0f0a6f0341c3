//! The write path: a bounded in-memory buffer between Record* calls and the store, drained by one flusher task.
//!
//! - A call's events enter the buffer whole or not at all: when they do not fit, the call is refused UNAVAILABLE and
//!   `devopstrack_metrics_points_dropped_total` counts them. Callers (tasks' outbox) retry, so nothing is lost; a
//!   slow store never blocks a caller.
//! - The flusher writes whatever is buffered, at most `flush_batch` events per store write: at once when a batch is
//!   full, else at the latest every `flush_interval`. A failed write is retried with backoff (50 ms doubling to 5 s)
//!   until it lands; meanwhile the buffer fills and calls are refused.
//! - On shutdown the flusher writes everything still buffered (giving up on a batch only after
//!   [`SHUTDOWN_ATTEMPTS`] failures then, counted as dropped and logged).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use devopstrack_platform::metrics::MetricsRegistry;

use super::AppSettings;
use crate::domain::Event;
use crate::store::MetricsStore;

/// During shutdown a batch is tried this many times before it is given up.
pub const SHUTDOWN_ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Deployment event ids remembered so a redelivered deployment is not counted twice in `devopstrack_deployments`.
const COUNTED_IDS: usize = 100_000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeploymentLabels {
    environment: String,
    status: String,
}

struct IngestMetrics {
    received: Counter,
    ingested: Counter,
    dropped: Counter,
    write_failures: Counter,
    depth: Gauge,
    deployments: Family<DeploymentLabels, Counter>,
}

impl IngestMetrics {
    fn register(registry: &MetricsRegistry) -> Self {
        let metrics = Self {
            received: Counter::default(),
            ingested: Counter::default(),
            dropped: Counter::default(),
            write_failures: Counter::default(),
            depth: Gauge::default(),
            deployments: Family::default(),
        };
        registry.register(
            "devopstrack_deployments",
            "Deployments recorded, by environment and status",
            metrics.deployments.clone(),
        );
        registry.register(
            "devopstrack_metrics_points_received",
            "Events accepted into the write buffer",
            metrics.received.clone(),
        );
        registry.register(
            "devopstrack_metrics_points_ingested",
            "Events written to the store (duplicates included)",
            metrics.ingested.clone(),
        );
        registry.register(
            "devopstrack_metrics_points_dropped",
            "Events refused because the write buffer was full, or given up at shutdown",
            metrics.dropped.clone(),
        );
        registry.register(
            "devopstrack_metrics_store_write_failures",
            "Store writes that failed (and were retried)",
            metrics.write_failures.clone(),
        );
        registry.register(
            "devopstrack_metrics_buffer_depth",
            "Events waiting in the write buffer",
            metrics.depth.clone(),
        );
        metrics
    }
}

/// Event ids seen lately, oldest forgotten first.
#[derive(Default)]
struct RecentIds {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl RecentIds {
    /// True the first time `id` is seen (while remembered).
    fn first_time(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= COUNTED_IDS
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

pub struct WriteBuffer {
    queue: Mutex<VecDeque<Event>>,
    capacity: usize,
    batch: usize,
    interval: Duration,
    wake: Notify,
    metrics: IngestMetrics,
    counted: Mutex<RecentIds>,
}

/// Poisoning only follows a panic while holding the lock, which none of these critical sections can do.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl WriteBuffer {
    pub fn new(settings: &AppSettings, registry: &MetricsRegistry) -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
            capacity: settings.buffer_capacity,
            batch: settings.flush_batch.max(1),
            interval: settings.flush_interval,
            wake: Notify::new(),
            metrics: IngestMetrics::register(registry),
            counted: Mutex::new(RecentIds::default()),
        }
    }

    pub fn depth(&self) -> usize {
        lock(&self.queue).len()
    }

    /// Buffers all of `events`, or none: `Err(depth)` when they do not fit.
    pub fn offer(&self, events: Vec<Event>) -> Result<(), usize> {
        let n = events.len();
        let depth = {
            let mut queue = lock(&self.queue);
            if queue.len() + n > self.capacity {
                let depth = queue.len();
                drop(queue);
                self.metrics.dropped.inc_by(n as u64);
                return Err(depth);
            }
            queue.extend(events);
            queue.len()
        };
        self.metrics.received.inc_by(n as u64);
        self.metrics.depth.set(gauge_value(depth));
        if depth >= self.batch {
            self.wake.notify_one();
        }
        Ok(())
    }

    fn take(&self) -> Vec<Event> {
        let mut queue = lock(&self.queue);
        let n = queue.len().min(self.batch);
        let batch: Vec<Event> = queue.drain(..n).collect();
        self.metrics.depth.set(gauge_value(queue.len()));
        batch
    }

    /// Drains the buffer into `store` until `stop` is cancelled and the buffer is empty.
    pub async fn run(&self, store: Arc<dyn MetricsStore>, stop: CancellationToken) {
        loop {
            let batch = self.take();
            if batch.is_empty() {
                if stop.is_cancelled() {
                    return;
                }
                tokio::select! {
                    () = stop.cancelled() => {}
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(self.interval) => {}
                }
                continue;
            }
            self.write(store.as_ref(), batch, &stop).await;
        }
    }

    async fn write(&self, store: &dyn MetricsStore, batch: Vec<Event>, stop: &CancellationToken) {
        let mut backoff = FIRST_BACKOFF;
        let mut attempts = 0;
        loop {
            match store.append(&batch).await {
                Ok(()) => {
                    self.metrics.ingested.inc_by(batch.len() as u64);
                    self.count_deployments(&batch);
                    return;
                }
                Err(error) => {
                    attempts += 1;
                    self.metrics.write_failures.inc();
                    if stop.is_cancelled() && attempts >= SHUTDOWN_ATTEMPTS {
                        tracing::error!(%error, events = batch.len(), "shutting down: giving up writing metrics");
                        self.metrics.dropped.inc_by(batch.len() as u64);
                        return;
                    }
                    tracing::warn!(%error, attempts, events = batch.len(), "writing metrics failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn count_deployments(&self, batch: &[Event]) {
        let mut counted = lock(&self.counted);
        for event in batch {
            if let Event::Deployment(d) = event
                && counted.first_time(&d.event_id)
            {
                self.metrics
                    .deployments
                    .get_or_create(&DeploymentLabels {
                        environment: d.environment.clone(),
                        status: d.status.as_str().to_owned(),
                    })
                    .inc();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::{Deployment, DeploymentStatus, Source};
    use crate::store::{ReadQuery, StoreError, StoreResult};

    /// Keeps appended batches in memory; the first `failures` appends fail.
    #[derive(Default)]
    struct FlakyStore {
        failures: AtomicU32,
        batches: Mutex<Vec<usize>>,
    }

    #[async_trait]
    impl MetricsStore for FlakyStore {
        async fn append(&self, events: &[Event]) -> StoreResult<()> {
            if self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(StoreError::Influx("down".into()));
            }
            lock(&self.batches).push(events.len());
            Ok(())
        }

        async fn read(&self, _query: &ReadQuery) -> StoreResult<Vec<Event>> {
            Ok(Vec::new())
        }

        async fn ping(&self) -> StoreResult<()> {
            Ok(())
        }
    }

    fn deployments(n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| {
                Event::Deployment(Deployment {
                    event_id: format!("d{i}"),
                    project: "shop".into(),
                    environment: "production".into(),
                    status: DeploymentStatus::Succeeded,
                    version: String::new(),
                    commit_sha: String::new(),
                    commit_time: None,
                    started_at: None,
                    finished_at: DateTime::<Utc>::UNIX_EPOCH,
                    pipeline_id: String::new(),
                    source: Source::DevOpsTrack,
                })
            })
            .collect()
    }

    fn settings(capacity: usize, batch: usize) -> AppSettings {
        AppSettings {
            buffer_capacity: capacity,
            flush_batch: batch,
            flush_interval: Duration::from_millis(5),
            ..AppSettings::default()
        }
    }

    #[test]
    fn a_call_that_does_not_fit_is_refused_whole_and_counted_as_dropped() {
        let registry = MetricsRegistry::new();
        let buffer = WriteBuffer::new(&settings(10, 4), &registry);
        buffer.offer(deployments(8)).unwrap();
        assert_eq!(buffer.offer(deployments(3)), Err(8));
        assert_eq!(buffer.depth(), 8, "nothing of the refused call was kept");
        buffer.offer(deployments(2)).unwrap();
        let text = registry.encode();
        assert!(text.contains("devopstrack_metrics_points_dropped_total 3"), "{text}");
        assert!(text.contains("devopstrack_metrics_buffer_depth 10"), "{text}");
        assert_eq!(buffer.take().len(), 4, "batches are at most flush_batch");
    }

    #[tokio::test]
    async fn failed_writes_are_retried_until_they_land_and_shutdown_drains_the_buffer() {
        let registry = MetricsRegistry::new();
        let buffer = Arc::new(WriteBuffer::new(&settings(1_000, 50), &registry));
        let store = Arc::new(FlakyStore {
            failures: AtomicU32::new(2),
            ..FlakyStore::default()
        });
        buffer.offer(deployments(120)).unwrap();
        let stop = CancellationToken::new();
        stop.cancel();
        buffer.run(store.clone(), stop).await;
        assert_eq!(*lock(&store.batches), [50, 50, 20]);
        let text = registry.encode();
        assert!(text.contains("devopstrack_metrics_points_ingested_total 120"), "{text}");
        assert!(
            text.contains("devopstrack_metrics_store_write_failures_total 2"),
            "{text}"
        );
        assert!(text.contains("devopstrack_metrics_points_dropped_total 0"), "{text}");
        assert!(
            text.contains(r#"devopstrack_deployments_total{environment="production",status="succeeded"} 120"#),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_redelivered_deployment_is_counted_once() {
        let registry = MetricsRegistry::new();
        let buffer = Arc::new(WriteBuffer::new(&settings(1_000, 50), &registry));
        buffer.offer(deployments(3)).unwrap();
        buffer.offer(deployments(3)).unwrap();
        let stop = CancellationToken::new();
        stop.cancel();
        buffer.run(Arc::new(FlakyStore::default()), stop).await;
        let text = registry.encode();
        assert!(
            text.contains(r#"devopstrack_deployments_total{environment="production",status="succeeded"} 3"#),
            "{text}"
        );
    }
}
