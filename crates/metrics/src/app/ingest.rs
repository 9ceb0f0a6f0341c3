//! The write path: group commit. A `Record*` call is answered only once its events are durably in the store (a
//! SQLite commit, an InfluxDB 2xx), so an acknowledged call survives a crash of this process and the sender may
//! forget its copy (tasks' outbox trims on the acknowledgement).
//!
//! - A call's events wait in a bounded queue ([`GroupCommit::write`]); one writer task ([`GroupCommit::run`]) takes
//!   every call waiting — whole calls, up to `flush_batch` events, at least one call — appends them in one store
//!   write (one transaction on SQLite), then answers each of them. Calls that arrive while a write is in flight wait
//!   for the next one, so concurrent callers share a transaction and its sync instead of paying one each.
//! - A call whose events do not fit in the queue (`buffer_capacity`) is refused at once, UNAVAILABLE, and counted in
//!   `devopstrack_metrics_points_dropped_total`: the sender retries later. A slow store fills the queue instead of
//!   piling up callers without bound.
//! - A failed store write answers every call of the group with the store's error (UNAVAILABLE when the store is down
//!   or busy): nothing of theirs counts as stored, and appends are idempotent by event id, so their retries neither
//!   lose nor double anything. The writer does not retry on its own: the callers hold the events and back off.
//! - A caller that gives up (deadline, disconnect) after its events were queued does not take them back: they are
//!   still written, which its retry then finds stored.
//! - On shutdown gRPC drains first (every call in flight gets its answer), then the writer stops once the queue is
//!   empty.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use devopstrack_platform::metrics::MetricsRegistry;

use super::AppSettings;
use crate::domain::Event;
use crate::store::{MetricsStore, StoreError};

/// Deployment event ids remembered so a redelivered deployment is not counted twice in `devopstrack_deployments`.
const COUNTED_IDS: usize = 100_000;

/// Why a call's events were not (known to be) stored.
#[derive(Debug)]
pub enum WriteError {
    /// The queue is full; the payload is how many events wait for the store.
    Full(usize),
    /// The store write of the call's group failed (shared by every call of the group).
    Store(Arc<StoreError>),
    /// The writer has stopped (the service is shutting down).
    Stopped,
}

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
    commits: Counter,
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
            commits: Counter::default(),
            depth: Gauge::default(),
            deployments: Family::default(),
        };
        let counters = [
            (
                "devopstrack_metrics_points_received",
                "Events of Record calls queued for the store",
                &metrics.received,
            ),
            (
                "devopstrack_metrics_points_ingested",
                "Events written to the store (duplicates included); their calls were acknowledged",
                &metrics.ingested,
            ),
            (
                "devopstrack_metrics_points_dropped",
                "Events of Record calls refused because the write queue was full (the sender retries)",
                &metrics.dropped,
            ),
            (
                "devopstrack_metrics_store_write_failures",
                "Store writes that failed (their calls were answered with the error and are retried by the sender)",
                &metrics.write_failures,
            ),
            (
                "devopstrack_metrics_store_commits",
                "Store writes that succeeded (each commits the events of one or more Record calls)",
                &metrics.commits,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "devopstrack_deployments",
            "Deployments recorded, by environment and status",
            metrics.deployments.clone(),
        );
        registry.register(
            "devopstrack_metrics_buffer_depth",
            "Events waiting for their store write",
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

type Answer = Result<(), Arc<StoreError>>;

/// One call's events and where its answer goes.
struct Waiting {
    events: Vec<Event>,
    answer: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct Queue {
    calls: VecDeque<Waiting>,
    /// Events in `calls`.
    events: usize,
}

pub struct GroupCommit {
    queue: Mutex<Queue>,
    capacity: usize,
    batch: usize,
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

impl GroupCommit {
    pub fn new(settings: &AppSettings, registry: &MetricsRegistry) -> Self {
        Self {
            queue: Mutex::new(Queue::default()),
            capacity: settings.buffer_capacity,
            batch: settings.flush_batch.max(1),
            wake: Notify::new(),
            metrics: IngestMetrics::register(registry),
            counted: Mutex::new(RecentIds::default()),
        }
    }

    /// Events waiting for their store write.
    pub fn depth(&self) -> usize {
        lock(&self.queue).events
    }

    /// Stores `events` (all of them, or none: the call is answered with the error then), returning once they are
    /// committed. Needs [`GroupCommit::run`] running.
    pub async fn write(&self, events: Vec<Event>) -> Result<(), WriteError> {
        if events.is_empty() {
            return Ok(());
        }
        let answer = self.enqueue(events).map_err(WriteError::Full)?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(WriteError::Store(e)),
            Err(_) => Err(WriteError::Stopped),
        }
    }

    /// Queues a call whole, or refuses it: `Err(depth)` when it does not fit.
    fn enqueue(&self, events: Vec<Event>) -> Result<oneshot::Receiver<Answer>, usize> {
        let n = events.len();
        let (answer, answered) = oneshot::channel();
        let depth = {
            let mut queue = lock(&self.queue);
            if queue.events + n > self.capacity {
                let depth = queue.events;
                drop(queue);
                self.metrics.dropped.inc_by(n as u64);
                return Err(depth);
            }
            queue.events += n;
            queue.calls.push_back(Waiting { events, answer });
            queue.events
        };
        self.metrics.received.inc_by(n as u64);
        self.metrics.depth.set(gauge_value(depth));
        self.wake.notify_one();
        Ok(answered)
    }

    /// The next group: whole calls in arrival order, up to `batch` events, and at least one call.
    fn take(&self) -> Vec<Waiting> {
        let mut queue = lock(&self.queue);
        let mut group = Vec::new();
        let mut events = 0;
        while let Some(next) = queue.calls.front() {
            if !group.is_empty() && events + next.events.len() > self.batch {
                break;
            }
            events += next.events.len();
            group.extend(queue.calls.pop_front());
        }
        queue.events -= events;
        self.metrics.depth.set(gauge_value(queue.events));
        group
    }

    /// Writes the queued calls group by group until `stop` is cancelled and the queue is empty.
    pub async fn run(&self, store: Arc<dyn MetricsStore>, stop: CancellationToken) {
        loop {
            let group = self.take();
            if group.is_empty() {
                if stop.is_cancelled() {
                    return;
                }
                tokio::select! {
                    () = stop.cancelled() => {}
                    () = self.wake.notified() => {}
                }
                continue;
            }
            self.commit(store.as_ref(), group).await;
        }
    }

    /// One store write for the whole group, then every call's answer.
    async fn commit(&self, store: &dyn MetricsStore, group: Vec<Waiting>) {
        let mut events = Vec::with_capacity(group.iter().map(|w| w.events.len()).sum());
        let mut answers = Vec::with_capacity(group.len());
        for Waiting {
            events: mut call,
            answer,
        } in group
        {
            events.append(&mut call);
            answers.push(answer);
        }
        let outcome = match store.append(&events).await {
            Ok(()) => {
                self.metrics.commits.inc();
                self.metrics.ingested.inc_by(events.len() as u64);
                self.count_deployments(&events);
                Ok(())
            }
            Err(error) => {
                self.metrics.write_failures.inc();
                tracing::warn!(%error, calls = answers.len(), events = events.len(),
                    "writing metrics failed; the calls are answered with the error and retried by their senders");
                Err(Arc::new(error))
            }
        };
        for answer in answers {
            // A caller that has given up no longer listens; its events are written all the same.
            let _ = answer.send(outcome.clone());
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
mod tests;
