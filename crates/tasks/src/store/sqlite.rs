//! The embedded tasks store on SQLite: what a laptop or a small team runs for real, with the workers in the same
//! process (the architecture's "in-process queue on SQLite"). Same semantics as the Redis store; the schema and its
//! conventions are in `migrations/sqlite/0001_init.sql`.
//!
//! Writes that must be atomic run in one `BEGIN IMMEDIATE` transaction, so concurrent writers queue on the busy
//! timeout instead of deadlocking on a read-to-write lock upgrade. Waiting readers (`lease`, `read_events`) do not
//! poll: they sleep on a [`Notify`] that the writes of this process signal, and on a timer at the next time something
//! becomes ready by itself (a delayed entry, a lapsing lease), never past their `wait`.
//!
//! Area by area: [`pipelines`] (and the [`Writes`] stored with them), [`queue`], [`logs`], [`events`], [`outbox`].

mod backlog;
mod events;
mod inbox;
mod logs;
mod outbox;
mod pipelines;
mod queue;
mod rows;
#[cfg(test)]
mod tests;

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{Sqlite, SqlitePool, SqliteRow};
use sqlx::{Row, Transaction};
use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

use devopstrack_platform::sqlite::{ColumnError, micros};

use super::{
    Created, Delivery, DeploymentOutbox, EventLog, JobQueue, LogPage, MetricEventOutbox, NewEvent, OutboxEntry,
    PendingMetricEvent, PipelineFilter, PipelineStore, QueueDepth, StoreError, StoreResult, StoredEvent,
    StoredPipeline, TaskStore, Writes,
};
use crate::domain::{JobId, Pipeline, PipelineId};

const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// The event stream is trimmed back to [`super::MAX_EVENTS`] (and old stop flags are pruned) once per this many
/// appended events and on connect, so a busy stream holds at most this many more.
const TRIM_EVERY: u64 = 1_000;

/// Added to a timed wake-up so the entry it waits for is ready by the time the query runs.
const WAKE_SLACK: Duration = Duration::from_millis(1);

type Tx = Transaction<'static, Sqlite>;

pub struct SqliteStore {
    pool: SqlitePool,
    /// Every write goes through this one connection (see `devopstrack_platform::sqlite::open_writer`).
    writer: SqlitePool,
    /// Signalled after every write that adds or hands back a queue entry: waiting `lease` calls look again.
    queue_changed: Notify,
    /// Signalled after every write that appends events: waiting `read_events` calls look again.
    events_appended: Notify,
    /// Events appended through this store, to trim every [`TRIM_EVERY`].
    events_written: AtomicU64,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/tasks.db`), migrates it and trims what
    /// outlived its keep limits.
    ///
    /// The pool settings (and `sqlite::memory:` support) are the platform's: [`devopstrack_platform::sqlite`].
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = devopstrack_platform::sqlite::open_pool(url).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let writer = devopstrack_platform::sqlite::open_writer(url, &pool).await?;
        let store = Self {
            pool,
            writer,
            queue_changed: Notify::new(),
            events_appended: Notify::new(),
            events_written: AtomicU64::new(0),
        };
        maintain(&store.writer).await?;
        Ok(store)
    }

    async fn begin_write(&self) -> StoreResult<Tx> {
        Ok(self.writer.begin_with(BEGIN_WRITE).await?)
    }

    /// Wakes the waiters a committed write concerns, and trims the event stream when it is due.
    async fn committed(&self, enqueued: bool, events: usize) {
        if enqueued {
            self.queue_changed.notify_waiters();
        }
        if events == 0 {
            return;
        }
        self.events_appended.notify_waiters();
        let n = u64::try_from(events).unwrap_or(u64::MAX);
        let before = self.events_written.fetch_add(n, Ordering::Relaxed);
        if before / TRIM_EVERY != before.saturating_add(n) / TRIM_EVERY {
            // The write is committed: a failed trim must not make the caller think otherwise. The next one catches up.
            if let Err(e) = maintain(&self.writer).await {
                tracing::warn!(error = %e, "trimming the tasks store failed");
            }
        }
    }
}

/// Trims what outlived its keep limit: the oldest events and stop flags of attempts that ended long ago.
async fn maintain(pool: &SqlitePool) -> StoreResult<()> {
    events::trim(pool).await?;
    queue::prune_stop_flags(pool).await
}

/// When a wait of `wait` from now ends; an absurdly long one ends in a century instead of overflowing.
fn deadline_after(wait: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    let now = Instant::now();
    now.checked_add(wait.min(CENTURY)).unwrap_or(now)
}

/// Sleeps until `signal` fires, the unix time `at` (microseconds: when something becomes ready by itself) passes, or
/// `deadline`, whichever comes first. `false` when the deadline had already passed: the caller gives up.
async fn pause(signal: Pin<&mut Notified<'_>>, deadline: Instant, at: Option<i64>) -> bool {
    let now = Instant::now();
    if now >= deadline {
        return false;
    }
    let until = match at {
        Some(at) => {
            let ahead = Duration::from_micros(u64::try_from(at.saturating_sub(micros(Utc::now()))).unwrap_or(0));
            deadline.min(now + ahead.min(deadline - now) + WAKE_SLACK)
        }
        None => deadline,
    };
    tokio::select! {
        () = signal => {}
        () = tokio::time::sleep_until(until) => {}
    }
    true
}

/// A caller's duration as stored (microseconds), saturating instead of wrapping.
fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// `head` (SQL that ends in `LIMIT`) with `limit` written in as a number, then `tail`. A `LIMIT ?` makes SQLite
/// re-prepare the statement every time it runs: it plans with the bound value and marks the statement expired whenever
/// that parameter is bound again (`sqlite3ExprIsInteger`), which cost about 65k instructions a call and 14% of all
/// the instructions of a create in the issue-19 profile (`scripts/bench-profile.sh`). A number written in is a
/// statement of its own in sqlx's per-connection cache; callers pass a few fixed limits (the worker's free slots, the
/// outboxes' and the watch stream's batch sizes).
fn with_limit(head: &str, limit: u64, tail: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("{head} {limit}{tail}"))
}

fn corrupt(message: impl Into<String>) -> StoreError {
    StoreError::Corrupt(message.into())
}

impl From<ColumnError> for StoreError {
    fn from(e: ColumnError) -> Self {
        match e {
            ColumnError::Sqlx(e) => StoreError::Sqlite(e),
            ColumnError::Corrupt(message) => StoreError::Corrupt(message),
        }
    }
}

fn pipeline_id_col(row: &SqliteRow, column: &str) -> StoreResult<PipelineId> {
    let value: String = row.try_get(column)?;
    PipelineId::parse(&value).map_err(|e| corrupt(format!("{column}: {value:?} {e}")))
}

fn job_id_col(row: &SqliteRow, column: &str) -> StoreResult<JobId> {
    let value: String = row.try_get(column)?;
    JobId::parse(&value).map_err(|e| corrupt(format!("{column}: {value:?} {e}")))
}

fn u32_col(row: &SqliteRow, column: &str) -> StoreResult<u32> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| corrupt(format!("{column}: {value} is out of range")))
}

fn u64_col(row: &SqliteRow, column: &str) -> StoreResult<u64> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| corrupt(format!("{column}: {value} is negative")))
}

#[async_trait]
impl PipelineStore for SqliteStore {
    async fn create_pipeline(&self, pipeline: &Pipeline, writes: &Writes) -> StoreResult<Created> {
        pipelines::create(self, pipeline, writes).await
    }

    async fn pipeline(&self, id: PipelineId) -> StoreResult<Option<StoredPipeline>> {
        pipelines::get(&self.pool, id).await
    }

    async fn pipeline_by_number(&self, project: &str, number: u64) -> StoreResult<Option<StoredPipeline>> {
        pipelines::by_number(&self.pool, project, number).await
    }

    async fn pipeline_of_job(&self, job: JobId) -> StoreResult<Option<PipelineId>> {
        pipelines::of_job(&self.pool, job).await
    }

    async fn list_pipelines(
        &self,
        filter: &PipelineFilter,
        before: Option<PipelineId>,
        limit: u32,
    ) -> StoreResult<Vec<Pipeline>> {
        pipelines::list(&self.pool, filter, before, limit).await
    }

    async fn update_pipeline(&self, pipeline: &Pipeline, expected_version: u64, writes: &Writes) -> StoreResult<bool> {
        pipelines::update(self, pipeline, expected_version, writes).await
    }
}

#[async_trait]
impl JobQueue for SqliteStore {
    async fn lease(&self, worker: &str, max: usize, lease: Duration, wait: Duration) -> StoreResult<Vec<Delivery>> {
        queue::lease(self, worker, max, lease, wait).await
    }

    async fn renew(&self, worker: &str, delivery: &Delivery, lease: Duration) -> StoreResult<bool> {
        queue::renew(&self.writer, worker, delivery, lease).await
    }

    async fn ack(&self, delivery: &Delivery) -> StoreResult<()> {
        queue::ack(&self.writer, delivery).await
    }

    async fn release(&self, worker: &str, delivery: &Delivery) -> StoreResult<()> {
        if queue::release(&self.writer, worker, delivery).await? {
            self.committed(true, 0).await;
        }
        Ok(())
    }

    async fn stop_requested(&self, job: JobId, attempt: u32) -> StoreResult<bool> {
        queue::stop_requested(&self.pool, job, attempt).await
    }

    async fn queue_depth(&self) -> StoreResult<QueueDepth> {
        queue::depth(&self.pool).await
    }
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn append_log(&self, job: JobId, attempt: u32, offset: u64, lines: &[String]) -> StoreResult<()> {
        logs::append(self, job, attempt, offset, lines).await
    }

    async fn read_log(&self, job: JobId, attempt: u32, offset: u64, limit: u32) -> StoreResult<LogPage> {
        logs::read(&self.pool, job, attempt, offset, limit).await
    }

    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()> {
        events::append(self, events).await
    }

    async fn read_events(&self, after: Option<&str>, limit: usize, wait: Duration) -> StoreResult<Vec<StoredEvent>> {
        events::read(self, after, limit, wait).await
    }

    async fn last_event_id(&self) -> StoreResult<Option<String>> {
        events::last_id(&self.pool).await
    }
}

#[async_trait]
impl DeploymentOutbox for SqliteStore {
    async fn due_outbox(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        outbox::due(&self.pool, now, limit).await
    }

    async fn outbox_delivered(&self, id: PipelineId) -> StoreResult<()> {
        outbox::delivered(&self.writer, id).await
    }

    async fn outbox_retry(&self, id: PipelineId, at: DateTime<Utc>) -> StoreResult<()> {
        outbox::retry(&self.writer, id, at).await
    }
}

#[async_trait]
impl MetricEventOutbox for SqliteStore {
    async fn pending_metric_events(&self, limit: usize) -> StoreResult<Vec<PendingMetricEvent>> {
        outbox::pending_metric_events(&self.pool, limit).await
    }

    async fn metric_events_delivered(&self, ids: &[String]) -> StoreResult<()> {
        outbox::metric_events_delivered(&self.writer, ids).await
    }

    async fn metric_events_backlog(&self) -> StoreResult<u64> {
        outbox::metric_events_backlog(&self.pool).await
    }
}

#[async_trait]
impl TaskStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn backlog(&self) -> StoreResult<super::Backlog> {
        backlog::sample(&self.pool).await
    }
}
