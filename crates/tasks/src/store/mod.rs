//! The tasks store, in focused traits: [`PipelineStore`] (pipelines stored whole, compare-and-set on a version),
//! [`JobQueue`] (the job queue with leases), [`EventLog`] (job logs and the event stream), [`DeploymentOutbox`] and
//! [`MetricEventOutbox`]. [`TaskStore`] is all of them at once (plus health and the backlog sample): two
//! implementations chosen by URL (`redis://…` or `sqlite://path`), each implementing every trait, and one conformance
//! suite (`tests/api/store/`, a file per trait) that both pass.
//!
//! Atomicity is why the traits share one implementation: [`PipelineStore::update_pipeline`] stores the new pipeline *and* its queue
//! operations, events and outbox entry in one step (a Lua script on Redis, a transaction on SQLite), or nothing when
//! the version moved. A crash between "state changed" and "job enqueued" therefore cannot happen, and a duplicate
//! delivery loses its compare-and-set and changes nothing.
//!
//! Queue semantics (both stores):
//! - [`JobQueue::lease`] hands out ready entries in enqueue order (FIFO among entries that became ready at the same
//!   time), each to one worker for `lease`. Entries whose lease lapsed (worker killed) are handed out again with
//!   `deliveries` incremented; delayed entries (retries) become ready at their time.
//! - [`JobQueue::renew`] extends a lease only while the caller still holds it; [`JobQueue::ack`] removes the entry
//!   (and so does a pipeline write naming it in [`Writes::ack`], atomically with the write); [`JobQueue::release`]
//!   hands it back for immediate redelivery (graceful shutdown).
//!
//! Run numbers: [`PipelineStore::create_pipeline`] gives each new pipeline its project's next number (1, 2, 3…) in the
//! same atomic step that stores it (the create script on Redis, the create transaction on SQLite), so numbers are
//! never reused and have no gaps under concurrency; a create answered by its idempotency key consumes none. The number
//! is kept beside the pipeline document, not in it (a document never needs rewriting to carry it), and stamped into
//! the events the create writes (see [`number_stamp`]). Pipelines stored before numbering are numbered at upgrade, in
//! creation (id) order: a migration on SQLite, a one-time backfill at connect on Redis (`redis/numbers.rs`).
//!
//! The metric events outbox ([`Writes::metric_events`], [`MetricEventOutbox::pending_metric_events`]) is an
//! append-only log of job runs and deployments for the metrics service, kept until delivered: nothing trims it but
//! [`MetricEventOutbox::metric_events_delivered`].

mod codec;
mod event_log;
pub mod inbox;
mod outboxes;
mod pipelines;
mod queue;
mod redis;
mod sqlite;
#[cfg(test)]
pub(crate) mod test_support;
mod unavailable;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{JobId, Pipeline, PipelineId, PipelineStatus};

pub use codec::{decode_pipeline, encode_pipeline};
pub use event_log::EventLog;
pub use outboxes::{DeploymentOutbox, MetricEventOutbox};
pub use pipelines::PipelineStore;
pub use queue::JobQueue;
pub use redis::RedisStore;
pub use redis::durability::OVERRIDE as ALLOW_VOLATILE_REDIS_VAR;
pub use sqlite::SqliteStore;

/// Lines kept per job attempt; older lines are trimmed (reads from a trimmed offset start at the oldest kept line).
pub const MAX_LOG_LINES: u64 = 10_000;
/// Events kept on the event stream (approximately, on Redis); older ones are trimmed.
pub const MAX_EVENTS: u64 = 100_000;

/// Driver errors enter through `From` (`unavailable.rs`), which sorts out those meaning "the store is down or busy".
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or cannot take the request right now (down, restarting, out of connections or
    /// memory, busy past its timeout): the same request may succeed later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Sqlite(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Redis(::redis::RedisError),
    /// The Redis server could lose acknowledged writes (see `redis::durability`); start-up only.
    #[error("{0}")]
    Volatile(String),
    /// A stored value that no longer parses.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// An event id this store never issued (not one that was trimmed: those resume at the oldest kept event).
    #[error("invalid event id {0:?}")]
    BadEventId(String),
    #[error("unsupported database URL: {0}")]
    Url(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A pipeline as stored, with the version its next compare-and-set must name. Versions start at 1.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPipeline {
    pub pipeline: Pipeline,
    pub version: u64,
}

/// A job attempt to put on the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedJob {
    pub pipeline: PipelineId,
    pub job: JobId,
    pub attempt: u32,
    /// Not delivered before this time; `None`: ready now.
    pub not_before: Option<DateTime<Utc>>,
}

/// One delivery of a queue entry to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The queue entry (a stream id on Redis, a row id on SQLite). Opaque.
    pub entry: String,
    pub pipeline: PipelineId,
    pub job: JobId,
    pub attempt: u32,
    /// 1 on the first delivery; more when an earlier lease lapsed or the entry was released.
    pub deliveries: u32,
    /// When the entry became ready (enqueued, its retry time came, or it was handed back); `None` when unknown.
    pub queued_at: Option<DateTime<Utc>>,
}

/// An event to append. `payload` is an encoded `devopstrack.tasks.v1.Event` without its id; the store only reads the
/// filter keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub project: String,
    pub pipeline: PipelineId,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Monotonic within a store, opaque to callers.
    pub id: String,
    pub project: String,
    pub pipeline: PipelineId,
    pub payload: Vec<u8>,
}

/// A finished deploy to report to the projects service. `payload` is an encoded
/// `devopstrack.projects.v1.RecordDeploymentRequest`; the id is the pipeline's (the deployment's idempotency key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: PipelineId,
    pub payload: Vec<u8>,
    /// Failed deliveries so far.
    pub attempts: u32,
    pub due_at: DateTime<Utc>,
}

/// What the metrics service is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricEventKind {
    /// An encoded `devopstrack.metrics.v1.JobRun`.
    JobRun,
    /// An encoded `devopstrack.metrics.v1.Deployment`.
    Deployment,
    /// An encoded `devopstrack.metrics.v1.Change` (a GitHub push, from the webhook inbox).
    Change,
    /// An encoded `devopstrack.metrics.v1.Incident` (a GitHub issue labelled `incident`, from the webhook inbox).
    Incident,
}

impl MetricEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricEventKind::JobRun => "job_run",
            MetricEventKind::Deployment => "deployment",
            MetricEventKind::Change => "change",
            MetricEventKind::Incident => "incident",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            MetricEventKind::JobRun,
            MetricEventKind::Deployment,
            MetricEventKind::Change,
            MetricEventKind::Incident,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One event for the metrics service. The payload carries its own idempotency key (`event_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricEvent {
    pub kind: MetricEventKind,
    pub payload: Vec<u8>,
}

/// A metrics event waiting for delivery, with its position in the outbox (opaque, increasing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMetricEvent {
    pub id: String,
    pub event: MetricEvent,
}

/// What a pipeline write carries besides the pipeline, stored atomically with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writes {
    pub enqueue: Vec<QueuedJob>,
    /// Running attempts whose worker must stop (see [`JobQueue::stop_requested`]).
    pub stop: Vec<(JobId, u32)>,
    pub events: Vec<NewEvent>,
    /// Replaces any pending entry with the same id.
    pub outbox: Option<OutboxEntry>,
    /// Appended to the metric events outbox, in order.
    pub metric_events: Vec<MetricEvent>,
    /// Queue entries to remove, as [`JobQueue::ack`] does (deliveries the write is the outcome of).
    pub ack: Vec<Delivery>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// Stored, as run `number` of its project.
    Created { number: u64 },
    /// The `(project, idempotency key)` was used before: nothing was written, this is the first pipeline.
    Existing(StoredPipeline),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineFilter {
    pub project: Option<String>,
    pub status: Option<PipelineStatus>,
}

/// Lines of one job attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogPage {
    /// The offset of `lines[0]`: the asked offset, or the oldest kept line when older ones were trimmed.
    pub first_offset: u64,
    pub lines: Vec<String>,
    /// Lines ever appended to this attempt (kept or trimmed).
    pub total: u64,
}

/// What the backlog gauges sample (see [`TaskStore::backlog`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// When the oldest entry ready to be leased became ready (enqueued, or its retry time came); `None`: none is.
    pub oldest_ready_at: Option<DateTime<Utc>>,
    /// Deployment outbox entries not yet delivered (due or waiting for a retry).
    pub outbox: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Ready to be leased.
    pub ready: u64,
    /// Waiting for their retry time.
    pub delayed: u64,
    /// Held by workers.
    pub leased: u64,
}

/// Connects to the store named by `url` (`redis://…`, `rediss://…` or `sqlite://path`), creating what it needs.
/// `prefix` namespaces every Redis key (tests give each a fresh one); SQLite ignores it. No persistence check: the
/// service connects with [`connect_checked`].
pub async fn connect(url: &str, prefix: &str) -> StoreResult<Arc<dyn TaskStore>> {
    connect_checked(url, prefix, true).await
}

/// [`connect`], refusing a Redis that could lose acknowledged writes (no append-only file, eviction on) or whose
/// settings cannot be read (`CONFIG` forbidden), unless `allow_volatile_redis` (`StoreError::Volatile`, one line
/// naming `DEVOPSTRACK_TASKS__ALLOW_VOLATILE_REDIS`). See `redis/durability.rs`.
pub async fn connect_checked(url: &str, prefix: &str, allow_volatile_redis: bool) -> StoreResult<Arc<dyn TaskStore>> {
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        let store = RedisStore::connect(url, prefix).await?;
        if !allow_volatile_redis {
            store.require_durable().await?;
        }
        Ok(Arc::new(store))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::Url("want redis://… or sqlite://path".into()))
    }
}

/// The whole store a tasks process runs on: every focused trait, implemented by the same two stores ([`RedisStore`],
/// [`SqliteStore`]) so that one pipeline write can touch all of them atomically. Use-cases (`crate::app`) hold it;
/// nothing else does. A new area of the store is a new focused trait in its own file, added to this list (the GitHub
/// inbox, `inbox.rs`, joins here).
#[async_trait]
pub trait TaskStore:
    PipelineStore + JobQueue + EventLog + DeploymentOutbox + MetricEventOutbox + Send + Sync + 'static
{
    async fn ping(&self) -> StoreResult<()>;
    /// A cheap sample for the backlog gauges (every few seconds, not per job): spans the queue and the outbox.
    async fn backlog(&self) -> StoreResult<Backlog>;
}

/// What a create appends to the payload of each of its events (an encoded `devopstrack.tasks.v1.Event`): an `Event`
/// holding only `pipeline.number`. Protobuf merges a repeated embedded message field into the first, so the event
/// decodes with its pipeline numbered. The Redis create script builds the same bytes itself (`create.lua`).
pub fn number_stamp(number: u64) -> Vec<u8> {
    use devopstrack_proto::tasks::v1 as pb;
    use prost::Message;
    pb::Event {
        pipeline: Some(pb::Pipeline {
            number,
            ..pb::Pipeline::default()
        }),
        ..pb::Event::default()
    }
    .encode_to_vec()
}

/// The order of an event id of either store: Redis stream ids `ms-seq`, SQLite row ids `n` (as `(n, 0)`). `None`
/// for anything else.
pub fn event_order(id: &str) -> Option<(u64, u64)> {
    match id.split_once('-') {
        Some((ms, seq)) => Some((ms.parse().ok()?, seq.parse().ok()?)),
        None => Some((id.parse().ok()?, 0)),
    }
}
