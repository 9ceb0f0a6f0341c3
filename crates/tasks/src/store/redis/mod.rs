//! The Redis [`TaskStore`]: pipelines as hashes with sorted-set indexes, the queue as a stream read by one consumer
//! group, a stream per job attempt for logs, one stream of events, the deployment outbox as a hash plus a due-time
//! zset, and the metrics outbox as a stream trimmed only by delivery.
//!
//! Every multi-key change is one Lua script (the `*.lua` files beside this one), so a pipeline write and its queue
//! entries, acks, stop flags, events and outbox entries land together or not at all. Scripts are isolated, not rolled
//! back: each checks everything it needs before its first write, so the only partial write left is one the server
//! itself refuses midway (a key of the wrong type, i.e. a keyspace edited by hand).
//!
//! Blocking reads (`XREADGROUP … BLOCK`, `XREAD … BLOCK`) never run on the shared multiplexed connection, where they
//! would stall every other command behind them: each takes a dedicated connection from a small idle pool and blocks
//! for at most a slice of its wait.
//!
//! Area by area: [`keys`] (key names and scripts), [`pipelines`] (and [`numbers`]), [`queue`], [`logs`], [`events`], [`outbox`].

mod backlog;
pub(super) mod durability;
mod events;
mod inbox;
mod keys;
mod logs;
mod numbers;
mod outbox;
mod pipelines;
mod queue;
#[cfg(test)]
mod tests;

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use ::redis::{AsyncConnectionConfig, FromRedisValue};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    Created, Delivery, DeploymentOutbox, EventLog, JobQueue, LogPage, MetricEventOutbox, NewEvent, OutboxEntry,
    PendingMetricEvent, PipelineFilter, PipelineStore, QueueDepth, StoreError, StoreResult, StoredEvent,
    StoredPipeline, TaskStore, Writes,
};
use crate::domain::{JobId, Pipeline, PipelineId};
use keys::{Keys, Scripts};

/// The consumer group every worker reads the queue through.
const GROUP: &str = "workers";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// For ordinary commands; generous because appending a large log batch is one script.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long past its BLOCK time a blocking read may take to answer before the connection counts as dead.
const BLOCK_MARGIN: Duration = Duration::from_secs(5);
/// Idle dedicated connections kept for blocking reads; more are opened when needed and closed after use.
const IDLE_BLOCKING_CONNECTIONS: usize = 8;
/// Longer waits are cut to this (callers loop anyway; it keeps deadline arithmetic in range).
const MAX_WAIT: Duration = Duration::from_secs(3600);

pub struct RedisStore {
    client: ::redis::Client,
    conn: ConnectionManager,
    /// Idle dedicated connections for blocking reads (see the module docs).
    blocking: Mutex<Vec<MultiplexedConnection>>,
    keys: Keys,
    scripts: Scripts,
}

impl RedisStore {
    /// Connects to `url`, creates the queue's consumer group (and stream) unless they exist and numbers pipelines
    /// stored before run numbers (once, see [`numbers`]). Every key starts with `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> StoreResult<Self> {
        let client = ::redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        let store = Self {
            client,
            conn,
            blocking: Mutex::new(Vec::new()),
            keys: Keys::new(prefix),
            scripts: Scripts::new(),
        };
        store.create_group().await?;
        store.backfill_numbers().await?;
        Ok(store)
    }

    /// Fails unless the server keeps what it acknowledges (see [`durability`]).
    pub async fn require_durable(&self) -> StoreResult<()> {
        durability::require_durable(&mut self.conn()).await
    }

    /// A handle on the shared multiplexed connection.
    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// From id `0`: if the group was lost, every entry still in the stream is undelivered or unacknowledged.
    async fn create_group(&self) -> StoreResult<()> {
        let created: ::redis::RedisResult<()> = ::redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.keys.queue())
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.conn())
            .await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Runs a blocking command on a dedicated connection, which goes back to the idle pool only after a clean answer.
    async fn blocking_query<T: FromRedisValue>(&self, cmd: &::redis::Cmd, block: Duration) -> StoreResult<T> {
        let idle = self.blocking.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(None);
                self.client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?
            }
        };
        conn.set_response_timeout(block + BLOCK_MARGIN);
        let value = cmd.query_async(&mut conn).await?;
        let mut idle = self.blocking.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < IDLE_BLOCKING_CONNECTIONS {
            idle.push(conn);
        }
        Ok(value)
    }
}

#[async_trait]
impl PipelineStore for RedisStore {
    async fn create_pipeline(&self, pipeline: &Pipeline, writes: &Writes) -> StoreResult<Created> {
        self.create(pipeline, writes).await
    }

    async fn pipeline(&self, id: PipelineId) -> StoreResult<Option<StoredPipeline>> {
        self.get(id).await
    }

    async fn pipeline_by_number(&self, project: &str, number: u64) -> StoreResult<Option<StoredPipeline>> {
        self.by_number(project, number).await
    }

    async fn pipeline_of_job(&self, job: JobId) -> StoreResult<Option<PipelineId>> {
        self.of_job(job).await
    }

    async fn list_pipelines(
        &self,
        filter: &PipelineFilter,
        before: Option<PipelineId>,
        limit: u32,
    ) -> StoreResult<Vec<Pipeline>> {
        self.list(filter, before, limit).await
    }

    async fn update_pipeline(&self, pipeline: &Pipeline, expected_version: u64, writes: &Writes) -> StoreResult<bool> {
        self.update(pipeline, expected_version, writes).await
    }
}

#[async_trait]
impl JobQueue for RedisStore {
    async fn lease(&self, worker: &str, max: usize, lease: Duration, wait: Duration) -> StoreResult<Vec<Delivery>> {
        self.lease_entries(worker, max, lease, wait).await
    }

    async fn renew(&self, worker: &str, delivery: &Delivery, lease: Duration) -> StoreResult<bool> {
        self.renew_entry(worker, delivery, lease).await
    }

    async fn ack(&self, delivery: &Delivery) -> StoreResult<()> {
        self.ack_entry(delivery).await
    }

    async fn release(&self, worker: &str, delivery: &Delivery) -> StoreResult<()> {
        self.release_entry(worker, delivery).await
    }

    async fn stop_requested(&self, job: JobId, attempt: u32) -> StoreResult<bool> {
        self.stop_flag(job, attempt).await
    }

    async fn queue_depth(&self) -> StoreResult<QueueDepth> {
        self.depth().await
    }
}

#[async_trait]
impl EventLog for RedisStore {
    async fn append_log(&self, job: JobId, attempt: u32, offset: u64, lines: &[String]) -> StoreResult<()> {
        self.append_lines(job, attempt, offset, lines).await
    }

    async fn read_log(&self, job: JobId, attempt: u32, offset: u64, limit: u32) -> StoreResult<LogPage> {
        self.read_lines(job, attempt, offset, limit).await
    }

    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()> {
        self.add_events(events).await
    }

    async fn read_events(&self, after: Option<&str>, limit: usize, wait: Duration) -> StoreResult<Vec<StoredEvent>> {
        self.events_from(after, limit, wait).await
    }

    async fn last_event_id(&self) -> StoreResult<Option<String>> {
        self.newest_event_id().await
    }
}

#[async_trait]
impl DeploymentOutbox for RedisStore {
    async fn due_outbox(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        self.outbox_due(now, limit).await
    }

    async fn outbox_delivered(&self, id: PipelineId) -> StoreResult<()> {
        self.outbox_done(id).await
    }

    async fn outbox_retry(&self, id: PipelineId, at: DateTime<Utc>) -> StoreResult<()> {
        self.outbox_later(id, at).await
    }
}

#[async_trait]
impl MetricEventOutbox for RedisStore {
    async fn pending_metric_events(&self, limit: usize) -> StoreResult<Vec<PendingMetricEvent>> {
        self.metrics_pending(limit).await
    }

    async fn metric_events_delivered(&self, ids: &[String]) -> StoreResult<()> {
        self.metrics_done(ids).await
    }

    async fn metric_events_backlog(&self) -> StoreResult<u64> {
        self.metrics_len().await
    }
}

#[async_trait]
impl TaskStore for RedisStore {
    async fn ping(&self) -> StoreResult<()> {
        ::redis::cmd("PING").query_async::<()>(&mut self.conn()).await?;
        Ok(())
    }

    async fn backlog(&self) -> StoreResult<super::Backlog> {
        self.sample_backlog().await
    }
}

/// A stream entry id, `<ms>-<seq>`: event ids, queue entries and log lines (`0-<offset + 1>`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct EntryId {
    ms: u64,
    seq: u64,
}

impl EntryId {
    fn parse(raw: &str) -> Option<Self> {
        let (ms, seq) = raw.split_once('-')?;
        let number = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        Some(Self {
            ms: number(ms)?,
            seq: number(seq)?,
        })
    }
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn corrupt(message: impl Into<String>) -> StoreError {
    StoreError::Corrupt(message.into())
}
