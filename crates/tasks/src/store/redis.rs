//! The Redis [`TaskStore`]: pipelines as hashes with sorted-set indexes, the queue as a stream read by one consumer
//! group, a stream per job attempt for logs, one stream of events and the outbox as a hash plus a due-time zset.
//!
//! Every multi-key change is one Lua script (the scripts live in `redis/*.lua`), so a pipeline write and its queue
//! entries, stop flags, events and outbox entry land together or not at all. Scripts are isolated, not rolled back:
//! each checks everything it needs before its first write, so the only partial write left is one the server itself
//! refuses midway (a key of the wrong type, i.e. a keyspace edited by hand).
//!
//! Blocking reads (`XREADGROUP … BLOCK`, `XREAD … BLOCK`) never run on the shared multiplexed connection, where they
//! would stall every other command behind them: each takes a dedicated connection from a small idle pool and blocks
//! for at most a slice of its wait.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use ::redis::streams::{StreamId, StreamPendingReply, StreamRangeReply, StreamReadReply};
use ::redis::{AsyncConnectionConfig, FromRedisValue, Script, ScriptInvocation};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::domain::{JobId, Pipeline, PipelineId, PipelineStatus};

/// The consumer group every worker reads the queue through.
const GROUP: &str = "workers";
/// A stop flag outlives the longest job timeout (24 h) plus time spent queued.
const STOP_TTL: Duration = Duration::from_secs(2 * 24 * 3600);
/// Logs of an attempt are kept this long after its last line.
const LOG_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Deliveries handed out by one `lease` call at most, to bound the script's run time.
const MAX_LEASE_BATCH: usize = 1000;
/// Events returned by one `read_events` call at most.
const MAX_EVENT_BATCH: usize = 10_000;
/// A blocking queue read lasts at most this long, so lapsed leases and due retries are noticed during a long wait.
const LEASE_BLOCK_SLICE: Duration = Duration::from_secs(1);
/// A blocking event read lasts at most this long, so a dead connection is noticed during a long wait.
const EVENTS_BLOCK_SLICE: Duration = Duration::from_secs(5);
/// Longer waits are cut to this (callers loop anyway; it keeps deadline arithmetic in range).
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Idle dedicated connections kept for blocking reads; more are opened when needed and closed after use.
const IDLE_BLOCKING_CONNECTIONS: usize = 8;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// For ordinary commands; generous because appending a large log batch is one script.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long past its BLOCK time a blocking read may take to answer before the connection counts as dead.
const BLOCK_MARGIN: Duration = Duration::from_secs(5);

pub struct RedisStore {
    client: ::redis::Client,
    conn: ConnectionManager,
    /// Idle dedicated connections for blocking reads (see the module docs).
    blocking: Mutex<Vec<MultiplexedConnection>>,
    keys: Keys,
    scripts: Scripts,
}

/// Every key the store uses, each starting with the prefix.
struct Keys {
    prefix: String,
}

impl Keys {
    fn pipeline(&self, id: &str) -> String {
        format!("{}pipeline:{id}", self.prefix)
    }
    /// Hash: job id → pipeline id.
    fn job_pipelines(&self) -> String {
        format!("{}pipelines:jobs", self.prefix)
    }
    /// Hash: [`idempotency_field`] → pipeline id.
    fn idempotency(&self) -> String {
        format!("{}pipelines:idempotency", self.prefix)
    }
    /// Sorted set (score 0, member = pipeline id) of the pipelines matching a filter. The project comes last, so a
    /// slug containing `:` cannot make two filters share a key.
    fn index(&self, project: Option<&str>, status: Option<PipelineStatus>) -> String {
        match (status, project) {
            (None, None) => format!("{}pipelines:by:all", self.prefix),
            (None, Some(p)) => format!("{}pipelines:by-project:{p}", self.prefix),
            (Some(s), None) => format!("{}pipelines:by-status:{s}", self.prefix),
            (Some(s), Some(p)) => format!("{}pipelines:by-status-project:{s}:{p}", self.prefix),
        }
    }
    fn queue(&self) -> String {
        format!("{}queue", self.prefix)
    }
    fn delayed(&self) -> String {
        format!("{}queue:delayed", self.prefix)
    }
    fn stop(&self, job: JobId, attempt: u32) -> String {
        format!("{}stop:{job}:{attempt}", self.prefix)
    }
    fn log(&self, job: JobId, attempt: u32) -> String {
        format!("{}log:{job}:{attempt}", self.prefix)
    }
    fn log_total(&self, job: JobId, attempt: u32) -> String {
        format!("{}log:{job}:{attempt}:total", self.prefix)
    }
    fn events(&self) -> String {
        format!("{}events", self.prefix)
    }
    fn outbox_payloads(&self) -> String {
        format!("{}outbox:payloads", self.prefix)
    }
    fn outbox_attempts(&self) -> String {
        format!("{}outbox:attempts", self.prefix)
    }
    fn outbox_due(&self) -> String {
        format!("{}outbox:due", self.prefix)
    }
}

struct Scripts {
    create: Script,
    update: Script,
    lease: Script,
    renew: Script,
    release: Script,
    append_log: Script,
    outbox_due: Script,
    outbox_retry: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            create: Script::new(concat!(
                include_str!("redis/writes.lua"),
                include_str!("redis/create.lua")
            )),
            update: Script::new(concat!(
                include_str!("redis/writes.lua"),
                include_str!("redis/update.lua")
            )),
            lease: Script::new(concat!(
                include_str!("redis/entry.lua"),
                include_str!("redis/lease.lua")
            )),
            renew: Script::new(concat!(
                include_str!("redis/entry.lua"),
                include_str!("redis/held.lua"),
                include_str!("redis/renew.lua")
            )),
            release: Script::new(concat!(
                include_str!("redis/entry.lua"),
                include_str!("redis/held.lua"),
                include_str!("redis/release.lua")
            )),
            append_log: Script::new(include_str!("redis/append_log.lua")),
            outbox_due: Script::new(include_str!("redis/outbox_due.lua")),
            outbox_retry: Script::new(include_str!("redis/outbox_retry.lua")),
        }
    }
}

impl RedisStore {
    /// Connects to `url` and creates the queue's consumer group (and stream) unless they exist. Every key starts with
    /// `prefix`.
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
            keys: Keys {
                prefix: prefix.to_owned(),
            },
            scripts: Scripts::new(),
        };
        store.create_group().await?;
        Ok(store)
    }

    /// From id `0`: if the group was lost, every entry still in the stream is undelivered or unacknowledged.
    async fn create_group(&self) -> StoreResult<()> {
        let created: ::redis::RedisResult<()> = ::redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.keys.queue())
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.conn.clone())
            .await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// The create or update script with the arguments described in `redis/writes.lua`. `check` is the idempotency
    /// field (create) or the expected version (update).
    fn pipeline_write<'s>(
        &self,
        script: &'s Script,
        p: &Pipeline,
        check: &str,
        next_version: u64,
        writes: &Writes,
        moves_status: bool,
    ) -> ScriptInvocation<'s> {
        let k = &self.keys;
        let id = p.id.to_string();
        let project = p.meta.project.as_str();
        let mut inv = script.prepare_invoke();
        inv.key(k.pipeline(&id))
            .key(k.job_pipelines())
            .key(k.idempotency())
            .key(k.index(None, None))
            .key(k.index(Some(project), None))
            .key(k.index(None, Some(p.status)))
            .key(k.index(Some(project), Some(p.status)))
            .key(k.queue())
            .key(k.delayed())
            .key(k.events())
            .key(k.outbox_payloads())
            .key(k.outbox_attempts())
            .key(k.outbox_due());
        let others: Vec<PipelineStatus> = if moves_status {
            PipelineStatus::ALL.into_iter().filter(|s| *s != p.status).collect()
        } else {
            Vec::new()
        };
        for s in &others {
            inv.key(k.index(None, Some(*s))).key(k.index(Some(project), Some(*s)));
        }
        for (job, attempt) in &writes.stop {
            inv.key(k.stop(*job, *attempt));
        }

        inv.arg(&id)
            .arg(encode_pipeline(p))
            .arg(check)
            .arg(next_version)
            .arg(Utc::now().timestamp_millis())
            .arg(MAX_EVENTS)
            .arg(millis(STOP_TTL))
            .arg(p.jobs().count());
        for job in p.jobs() {
            inv.arg(job.id.to_string());
        }
        inv.arg(others.len() * 2).arg(writes.enqueue.len());
        for q in &writes.enqueue {
            inv.arg(q.pipeline.to_string())
                .arg(q.job.to_string())
                .arg(q.attempt)
                .arg(
                    q.not_before
                        .map_or_else(String::new, |t| t.timestamp_millis().to_string()),
                );
        }
        inv.arg(writes.stop.len()).arg(writes.events.len());
        for e in &writes.events {
            inv.arg(&e.project).arg(e.pipeline.to_string()).arg(&e.payload[..]);
        }
        match &writes.outbox {
            None => inv.arg("0"),
            Some(o) => inv
                .arg("1")
                .arg(o.id.to_string())
                .arg(&o.payload[..])
                .arg(o.attempts)
                .arg(o.due_at.timestamp_millis()),
        };
        inv
    }

    /// One non-blocking pass: promote due retries, claim lapsed leases, read new entries. Also returns when the next
    /// delayed entry is due.
    async fn lease_now(&self, worker: &str, max: usize, lease: Duration) -> StoreResult<(Vec<Delivery>, Option<i64>)> {
        let out: Vec<Vec<u8>> = self
            .scripts
            .lease
            .key(self.keys.queue())
            .key(self.keys.delayed())
            .arg(GROUP)
            .arg(worker)
            .arg(max)
            .arg(millis(lease).max(1))
            .arg(Utc::now().timestamp_millis())
            .invoke_async(&mut self.conn.clone())
            .await?;
        let Some((next_due, rest)) = out.split_first() else {
            return Err(StoreError::Corrupt("lease script returned nothing".into()));
        };
        let next_due = std::str::from_utf8(next_due)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .map(|ms| ms as i64);
        let raw = rest
            .chunks(5)
            .map(|c| {
                let text = |i: usize| {
                    c.get(i)
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .unwrap_or_default()
                };
                RawDelivery {
                    entry: text(0),
                    pipeline: text(1),
                    job: text(2),
                    attempt: text(3),
                    deliveries: text(4),
                }
            })
            .collect();
        Ok((self.keep_valid(raw).await?, next_due))
    }

    /// Blocks up to `block` for entries never delivered before, on a dedicated connection.
    async fn read_new(&self, worker: &str, max: usize, block: Duration) -> StoreResult<Vec<Delivery>> {
        let mut cmd = ::redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(worker)
            .arg("COUNT")
            .arg(max)
            .arg("BLOCK")
            .arg(millis(block).max(1))
            .arg("STREAMS")
            .arg(self.keys.queue())
            .arg(">");
        let reply: Option<StreamReadReply> = self.blocking_query(&cmd, block).await?;
        let raw = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(|e| {
                let text = |name: &str| e.get::<String>(name).unwrap_or_default();
                // A first delivery: the group's counter is 1, so the number is the entry's own count.
                RawDelivery {
                    pipeline: text("pipeline"),
                    job: text("job"),
                    attempt: text("attempt"),
                    deliveries: e.get::<String>("deliveries").unwrap_or_else(|| "1".into()),
                    entry: e.id,
                }
            })
            .collect();
        self.keep_valid(raw).await
    }

    /// Parses deliveries; entries that cannot be parsed would be handed out forever, so they are logged and removed.
    async fn keep_valid(&self, raw: Vec<RawDelivery>) -> StoreResult<Vec<Delivery>> {
        let mut valid = Vec::with_capacity(raw.len());
        for r in raw {
            match r.parse() {
                Ok(d) => valid.push(d),
                Err(reason) => {
                    tracing::error!(entry = %r.entry, %reason, "dropping a malformed queue entry");
                    self.remove_entry(&r.entry).await?;
                }
            }
        }
        Ok(valid)
    }

    async fn remove_entry(&self, entry: &str) -> StoreResult<()> {
        let queue = self.keys.queue();
        ::redis::pipe()
            .atomic()
            .cmd("XACK")
            .arg(&queue)
            .arg(GROUP)
            .arg(entry)
            .ignore()
            .cmd("XDEL")
            .arg(&queue)
            .arg(entry)
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
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

    /// The newest event's id and up to `limit` events after `after`, in one snapshot.
    async fn events_after(&self, after: &str, limit: usize) -> StoreResult<(Option<EntryId>, Vec<StoredEvent>)> {
        let events = self.keys.events();
        let (newest, read): (StreamRangeReply, Option<StreamReadReply>) = ::redis::pipe()
            .atomic()
            .cmd("XREVRANGE")
            .arg(&events)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .cmd("XREAD")
            .arg("COUNT")
            .arg(limit)
            .arg("STREAMS")
            .arg(&events)
            .arg(after)
            .query_async(&mut self.conn.clone())
            .await?;
        let newest = match newest.ids.first() {
            None => None,
            Some(e) => Some(EntryId::parse(&e.id).ok_or_else(|| corrupt(format!("event id {:?}", e.id)))?),
        };
        Ok((newest, stream_events(read)?))
    }
}

#[async_trait]
impl TaskStore for RedisStore {
    async fn ping(&self) -> StoreResult<()> {
        ::redis::cmd("PING").query_async::<()>(&mut self.conn.clone()).await?;
        Ok(())
    }

    /// Also answers [`Created::Existing`] when a pipeline with this id is already stored (a retried create).
    async fn create_pipeline(&self, pipeline: &Pipeline, writes: &Writes) -> StoreResult<Created> {
        let check = match &pipeline.meta.idempotency_key {
            Some(key) => idempotency_field(&pipeline.meta.project, key),
            None => String::new(),
        };
        let existing: Option<String> = self
            .pipeline_write(&self.scripts.create, pipeline, &check, 1, writes, false)
            .invoke_async(&mut self.conn.clone())
            .await?;
        let Some(existing) = existing else {
            return Ok(Created::Created);
        };
        let id = PipelineId::parse(&existing).map_err(|e| corrupt(format!("idempotency index: {e}")))?;
        match self.pipeline(id).await? {
            Some(stored) => Ok(Created::Existing(stored)),
            None => Err(corrupt(format!("idempotency index names missing pipeline {id}"))),
        }
    }

    async fn pipeline(&self, id: PipelineId) -> StoreResult<Option<StoredPipeline>> {
        let (doc, version): (Option<Vec<u8>>, Option<String>) = ::redis::cmd("HMGET")
            .arg(self.keys.pipeline(&id.to_string()))
            .arg("doc")
            .arg("version")
            .query_async(&mut self.conn.clone())
            .await?;
        let (Some(doc), Some(version)) = (doc, version) else {
            return Ok(None);
        };
        let version = version
            .parse()
            .map_err(|_| corrupt(format!("pipeline {id}: version {version:?}")))?;
        Ok(Some(StoredPipeline {
            pipeline: decode_pipeline(&doc)?,
            version,
        }))
    }

    async fn pipeline_of_job(&self, job: JobId) -> StoreResult<Option<PipelineId>> {
        let id: Option<String> = ::redis::cmd("HGET")
            .arg(self.keys.job_pipelines())
            .arg(job.to_string())
            .query_async(&mut self.conn.clone())
            .await?;
        id.map(|id| PipelineId::parse(&id).map_err(|e| corrupt(format!("pipeline of job {job}: {e}"))))
            .transpose()
    }

    async fn list_pipelines(
        &self,
        filter: &PipelineFilter,
        before: Option<PipelineId>,
        limit: u32,
    ) -> StoreResult<Vec<Pipeline>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ::redis::cmd("ZREVRANGEBYLEX")
            .arg(self.keys.index(filter.project.as_deref(), filter.status))
            .arg(before.map_or_else(|| "+".to_owned(), |b| format!("({b}")))
            .arg("-")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = ::redis::pipe();
        for id in &ids {
            pipe.cmd("HGET").arg(self.keys.pipeline(id)).arg("doc");
        }
        let docs: Vec<Option<Vec<u8>>> = pipe.query_async(&mut self.conn.clone()).await?;
        // Pipelines are never deleted, so a listed id always has its document.
        docs.into_iter().flatten().map(|doc| decode_pipeline(&doc)).collect()
    }

    /// The project and idempotency key are fixed at creation: the indexes use the pipeline's project as given.
    async fn update_pipeline(&self, pipeline: &Pipeline, expected_version: u64, writes: &Writes) -> StoreResult<bool> {
        let Some(next) = expected_version.checked_add(1) else {
            return Ok(false);
        };
        let applied: i64 = self
            .pipeline_write(
                &self.scripts.update,
                pipeline,
                &expected_version.to_string(),
                next,
                writes,
                true,
            )
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(applied == 1)
    }

    /// On Redis a lease lapses once the entry has been idle for the *leasing* caller's `lease`: every worker should
    /// use the same lease length.
    async fn lease(&self, worker: &str, max: usize, lease: Duration, wait: Duration) -> StoreResult<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let max = max.min(MAX_LEASE_BATCH);
        let deadline = Instant::now() + wait.min(MAX_WAIT);
        let mut recreated_group = false;
        loop {
            let pass = async {
                let (deliveries, next_due) = self.lease_now(worker, max, lease).await?;
                if !deliveries.is_empty() {
                    return Ok(Some(deliveries));
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(Some(Vec::new()));
                }
                let mut block = left.min(LEASE_BLOCK_SLICE);
                if let Some(due) = next_due {
                    let until_due = due.saturating_sub(Utc::now().timestamp_millis());
                    block = block.min(Duration::from_millis(u64::try_from(until_due).unwrap_or(0)));
                }
                let fresh = self.read_new(worker, max, block).await?;
                Ok::<_, StoreError>((!fresh.is_empty()).then_some(fresh))
            };
            match pass.await {
                Ok(Some(deliveries)) => return Ok(deliveries),
                Ok(None) => {}
                // The group is gone (the keyspace was flushed or edited): recreate it once and carry on.
                Err(StoreError::Redis(e)) if e.code() == Some("NOGROUP") && !recreated_group => {
                    tracing::warn!("the queue's consumer group was missing: recreating it");
                    recreated_group = true;
                    self.create_group().await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Resets the lease's idle clock: the lapse threshold is the leasing caller's `lease` (see `lease` above).
    async fn renew(&self, worker: &str, delivery: &Delivery, _lease: Duration) -> StoreResult<bool> {
        if EntryId::parse(&delivery.entry).is_none() {
            return Ok(false);
        }
        let renewed: i64 = self
            .scripts
            .renew
            .key(self.keys.queue())
            .arg(GROUP)
            .arg(worker)
            .arg(&delivery.entry)
            .arg(delivery.deliveries)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(renewed == 1)
    }

    async fn ack(&self, delivery: &Delivery) -> StoreResult<()> {
        if EntryId::parse(&delivery.entry).is_none() {
            return Ok(());
        }
        self.remove_entry(&delivery.entry).await
    }

    /// Does nothing when `worker` no longer holds the delivery (its lease lapsed and someone else took it).
    async fn release(&self, worker: &str, delivery: &Delivery) -> StoreResult<()> {
        if EntryId::parse(&delivery.entry).is_none() {
            return Ok(());
        }
        self.scripts
            .release
            .key(self.keys.queue())
            .arg(GROUP)
            .arg(worker)
            .arg(&delivery.entry)
            .arg(delivery.deliveries)
            .invoke_async::<i64>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn stop_requested(&self, job: JobId, attempt: u32) -> StoreResult<bool> {
        let exists: bool = ::redis::cmd("EXISTS")
            .arg(self.keys.stop(job, attempt))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(exists)
    }

    /// Delayed entries already due count as ready (the next `lease` promotes them).
    async fn queue_depth(&self) -> StoreResult<QueueDepth> {
        let (queue, delayed) = (self.keys.queue(), self.keys.delayed());
        let now = Utc::now().timestamp_millis();
        let (len, pending, due, later): (u64, StreamPendingReply, u64, u64) = ::redis::pipe()
            .atomic()
            .cmd("XLEN")
            .arg(&queue)
            .cmd("XPENDING")
            .arg(&queue)
            .arg(GROUP)
            .cmd("ZCOUNT")
            .arg(&delayed)
            .arg("-inf")
            .arg(now)
            .cmd("ZCOUNT")
            .arg(&delayed)
            .arg(format!("({now}"))
            .arg("+inf")
            .query_async(&mut self.conn.clone())
            .await?;
        // Acked entries are deleted, so the stream holds exactly the undelivered and the leased ones.
        let leased = pending.count() as u64;
        Ok(QueueDepth {
            ready: len.saturating_sub(leased) + due,
            delayed: later,
            leased,
        })
    }

    async fn append_log(&self, job: JobId, attempt: u32, offset: u64, lines: &[String]) -> StoreResult<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut inv = self.scripts.append_log.prepare_invoke();
        inv.key(self.keys.log(job, attempt))
            .key(self.keys.log_total(job, attempt))
            .arg(offset)
            .arg(MAX_LOG_LINES)
            .arg(millis(LOG_TTL));
        for line in lines {
            inv.arg(line);
        }
        inv.invoke_async::<u64>(&mut self.conn.clone()).await?;
        Ok(())
    }

    async fn read_log(&self, job: JobId, attempt: u32, offset: u64, limit: u32) -> StoreResult<LogPage> {
        // Line `n` is entry `0-<n + 1>`.
        let start = offset.checked_add(1).filter(|_| limit > 0);
        let mut pipe = ::redis::pipe();
        pipe.atomic().cmd("GET").arg(self.keys.log_total(job, attempt));
        if let Some(start) = start {
            pipe.cmd("XRANGE")
                .arg(self.keys.log(job, attempt))
                .arg(format!("0-{start}"))
                .arg("+")
                .arg("COUNT")
                .arg(limit);
        }
        let (total, range): (Option<String>, Option<StreamRangeReply>) = if start.is_some() {
            pipe.query_async(&mut self.conn.clone()).await?
        } else {
            let (total,): (Option<String>,) = pipe.query_async(&mut self.conn.clone()).await?;
            (total, None)
        };
        let total = match total {
            None => 0,
            Some(t) => t
                .parse()
                .map_err(|_| corrupt(format!("log total of job {job} attempt {attempt}: {t:?}")))?,
        };
        let mut first_offset = offset;
        let mut lines = Vec::new();
        for (i, e) in range.map(|r| r.ids).unwrap_or_default().into_iter().enumerate() {
            let bad = || corrupt(format!("log line {:?} of job {job} attempt {attempt}", e.id));
            let seq = EntryId::parse(&e.id)
                .map(|id| id.seq)
                .filter(|seq| *seq > 0)
                .ok_or_else(bad)?;
            if i == 0 {
                first_offset = seq - 1;
            }
            lines.push(e.get::<String>("line").ok_or_else(bad)?);
        }
        Ok(LogPage {
            first_offset,
            lines,
            total,
        })
    }

    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let key = self.keys.events();
        let mut pipe = ::redis::pipe();
        pipe.atomic();
        for e in events {
            pipe.cmd("XADD")
                .arg(&key)
                .arg("MAXLEN")
                .arg("~")
                .arg(MAX_EVENTS)
                .arg("*")
                .arg("project")
                .arg(&e.project)
                .arg("pipeline")
                .arg(e.pipeline.to_string())
                .arg("payload")
                .arg(&e.payload[..])
                .ignore();
        }
        pipe.query_async::<()>(&mut self.conn.clone()).await?;
        Ok(())
    }

    /// An `after` newer than the newest event was never issued here and is refused like garbage. One older than the
    /// oldest kept event reads from the oldest.
    async fn read_events(&self, after: Option<&str>, limit: usize, wait: Duration) -> StoreResult<Vec<StoredEvent>> {
        let after_id = match after {
            None => EntryId::default(),
            Some(raw) => EntryId::parse(raw).ok_or_else(|| StoreError::BadEventId(raw.to_owned()))?,
        };
        let after = after_id.to_string();
        let limit = limit.min(MAX_EVENT_BATCH);
        let (newest, events) = self.events_after(&after, limit.max(1)).await?;
        if after_id != EntryId::default() && newest.is_none_or(|n| after_id > n) {
            return Err(StoreError::BadEventId(after));
        }
        if limit == 0 || !events.is_empty() {
            return Ok(events.into_iter().take(limit).collect());
        }
        let deadline = Instant::now() + wait.min(MAX_WAIT);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Vec::new());
            }
            let block = left.min(EVENTS_BLOCK_SLICE);
            let mut cmd = ::redis::cmd("XREAD");
            cmd.arg("COUNT")
                .arg(limit)
                .arg("BLOCK")
                .arg(millis(block).max(1))
                .arg("STREAMS")
                .arg(self.keys.events())
                .arg(&after);
            let events = stream_events(self.blocking_query(&cmd, block).await?)?;
            if !events.is_empty() {
                return Ok(events);
            }
        }
    }

    async fn last_event_id(&self) -> StoreResult<Option<String>> {
        let newest: StreamRangeReply = ::redis::cmd("XREVRANGE")
            .arg(self.keys.events())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(newest.ids.into_iter().next().map(|e| e.id))
    }

    async fn due_outbox(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let out: Vec<Vec<u8>> = self
            .scripts
            .outbox_due
            .key(self.keys.outbox_payloads())
            .key(self.keys.outbox_attempts())
            .key(self.keys.outbox_due())
            .arg(now.timestamp_millis())
            .arg(limit)
            .invoke_async(&mut self.conn.clone())
            .await?;
        out.chunks(4).map(outbox_entry).collect()
    }

    async fn outbox_delivered(&self, id: PipelineId) -> StoreResult<()> {
        let id = id.to_string();
        ::redis::pipe()
            .atomic()
            .cmd("HDEL")
            .arg(self.keys.outbox_payloads())
            .arg(&id)
            .ignore()
            .cmd("HDEL")
            .arg(self.keys.outbox_attempts())
            .arg(&id)
            .ignore()
            .cmd("ZREM")
            .arg(self.keys.outbox_due())
            .arg(&id)
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Does nothing when the entry was delivered meanwhile.
    async fn outbox_retry(&self, id: PipelineId, at: DateTime<Utc>) -> StoreResult<()> {
        self.scripts
            .outbox_retry
            .key(self.keys.outbox_payloads())
            .key(self.keys.outbox_attempts())
            .key(self.keys.outbox_due())
            .arg(id.to_string())
            .arg(at.timestamp_millis())
            .invoke_async::<i64>(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}

/// A queue entry's fields as read, before validation.
struct RawDelivery {
    entry: String,
    pipeline: String,
    job: String,
    attempt: String,
    deliveries: String,
}

impl RawDelivery {
    fn parse(&self) -> Result<Delivery, String> {
        Ok(Delivery {
            entry: self.entry.clone(),
            pipeline: PipelineId::parse(&self.pipeline).map_err(|e| format!("pipeline {:?}: {e}", self.pipeline))?,
            job: JobId::parse(&self.job).map_err(|e| format!("job {:?}: {e}", self.job))?,
            attempt: self
                .attempt
                .parse()
                .map_err(|_| format!("attempt {:?}", self.attempt))?,
            deliveries: self
                .deliveries
                .parse()
                .map_err(|_| format!("deliveries {:?}", self.deliveries))?,
        })
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

fn stream_events(read: Option<StreamReadReply>) -> StoreResult<Vec<StoredEvent>> {
    read.into_iter()
        .flat_map(|r| r.keys)
        .flat_map(|k| k.ids)
        .map(|e| stored_event(&e))
        .collect()
}

fn stored_event(e: &StreamId) -> StoreResult<StoredEvent> {
    let bad = |what: &str| corrupt(format!("event {}: {what}", e.id));
    let pipeline = e.get::<String>("pipeline").ok_or_else(|| bad("no pipeline"))?;
    Ok(StoredEvent {
        id: e.id.clone(),
        project: e.get("project").ok_or_else(|| bad("no project"))?,
        pipeline: PipelineId::parse(&pipeline).map_err(|err| bad(&format!("pipeline {pipeline:?}: {err}")))?,
        payload: e.get("payload").ok_or_else(|| bad("no payload"))?,
    })
}

/// One `(id, due ms, attempts, payload)` row of the outbox script.
fn outbox_entry(row: &[Vec<u8>]) -> StoreResult<OutboxEntry> {
    let [id, due, attempts, payload] = row else {
        return Err(corrupt("outbox: a short row"));
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (id, due, attempts) = (text(id), text(due), text(attempts));
    let due_at = due
        .parse::<f64>()
        .ok()
        .and_then(|ms| DateTime::from_timestamp_millis(ms as i64))
        .ok_or_else(|| corrupt(format!("outbox {id}: due {due:?}")))?;
    Ok(OutboxEntry {
        id: PipelineId::parse(&id).map_err(|e| corrupt(format!("outbox id {id:?}: {e}")))?,
        payload: payload.clone(),
        attempts: attempts
            .parse()
            .map_err(|_| corrupt(format!("outbox {id}: attempts {attempts:?}")))?,
        due_at,
    })
}

/// Length-prefixed, so no `(project, key)` pair can collide with another.
fn idempotency_field(project: &str, key: &str) -> String {
    format!("{}:{project}{key}", project.len())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn corrupt(message: impl Into<String>) -> StoreError {
    StoreError::Corrupt(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_parse_only_in_their_one_form() {
        assert_eq!(EntryId::parse("0-0"), Some(EntryId { ms: 0, seq: 0 }));
        assert_eq!(
            EntryId::parse("1700000000000-12"),
            Some(EntryId {
                ms: 1_700_000_000_000,
                seq: 12
            })
        );
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "1",
            "1-2-3",
            "a-1",
            "1-b",
            "+1-2",
            " 1-2",
            "1-2 ",
            "99999999999999999999-0",
        ] {
            assert_eq!(EntryId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn stream_ids_order_numerically_not_as_text() {
        let parse = |s| EntryId::parse(s).expect("a valid id");
        assert!(parse("10-0") > parse("9-5"));
        assert!(parse("5-10") > parse("5-9"));
        assert_eq!(parse("7-3").to_string(), "7-3");
    }

    #[test]
    fn idempotency_fields_do_not_collide_across_projects() {
        assert_ne!(idempotency_field("ab", "c"), idempotency_field("a", "bc"));
        assert_eq!(idempotency_field("web", "k1"), "3:webk1");
    }

    #[test]
    fn malformed_queue_entries_are_reported_not_parsed() {
        let raw = RawDelivery {
            entry: "1-0".into(),
            pipeline: PipelineId::new().to_string(),
            job: JobId::new().to_string(),
            attempt: "2".into(),
            deliveries: "1".into(),
        };
        let d = raw.parse().expect("a valid entry");
        assert_eq!((d.attempt, d.deliveries), (2, 1));
        let bad = RawDelivery {
            attempt: "x".into(),
            ..raw
        };
        assert!(bad.parse().unwrap_err().contains("attempt"));
    }

    /// A store on the test Redis under a fresh prefix, or `None` (skipped) when there is none.
    async fn store() -> Option<RedisStore> {
        let redis = devopstrack_testkit::redis().await?;
        Some(
            RedisStore::connect(&redis.url, &redis.prefix)
                .await
                .expect("connect to the test Redis"),
        )
    }

    async fn raw_enqueue(store: &RedisStore, job: &str) {
        ::redis::cmd("XADD")
            .arg(store.keys.queue())
            .arg("*")
            .arg("pipeline")
            .arg(PipelineId::new().to_string())
            .arg("job")
            .arg(job)
            .arg("attempt")
            .arg(1)
            .arg("deliveries")
            .arg(1)
            .query_async::<String>(&mut store.conn.clone())
            .await
            .expect("XADD");
    }

    #[tokio::test]
    async fn a_lost_consumer_group_is_recreated_by_the_next_lease() {
        let Some(store) = store().await else { return };
        ::redis::cmd("XGROUP")
            .arg("DESTROY")
            .arg(store.keys.queue())
            .arg(GROUP)
            .query_async::<i64>(&mut store.conn.clone())
            .await
            .expect("XGROUP DESTROY");
        let job = JobId::new();
        raw_enqueue(&store, &job.to_string()).await;

        let got = store
            .lease("w1", 1, Duration::from_secs(60), Duration::ZERO)
            .await
            .expect("lease");

        assert_eq!(got.iter().map(|d| d.job).collect::<Vec<_>>(), [job]);
    }

    #[tokio::test]
    async fn malformed_queue_entries_are_dropped_instead_of_wedging_the_queue() {
        let Some(store) = store().await else { return };
        raw_enqueue(&store, "not-a-job-id").await;
        let job = JobId::new();
        raw_enqueue(&store, &job.to_string()).await;

        let got = store
            .lease("w1", 10, Duration::from_secs(60), Duration::ZERO)
            .await
            .expect("lease");

        assert_eq!(got.iter().map(|d| d.job).collect::<Vec<_>>(), [job]);
        let depth = store.queue_depth().await.expect("depth");
        assert_eq!((depth.ready, depth.leased), (0, 1), "the malformed entry is gone");
    }

    #[tokio::test]
    async fn malformed_stored_values_are_reported_as_corrupt() {
        let Some(store) = store().await else { return };
        let id = PipelineId::new();
        ::redis::cmd("HSET")
            .arg(store.keys.pipeline(&id.to_string()))
            .arg("doc")
            .arg("{")
            .arg("version")
            .arg(1)
            .query_async::<i64>(&mut store.conn.clone())
            .await
            .expect("HSET");
        ::redis::cmd("XADD")
            .arg(store.keys.events())
            .arg("*")
            .arg("project")
            .arg("web")
            .arg("pipeline")
            .arg("not-a-pipeline-id")
            .arg("payload")
            .arg("x")
            .query_async::<String>(&mut store.conn.clone())
            .await
            .expect("XADD");

        let pipeline = store.pipeline(id).await;
        let events = store.read_events(None, 10, Duration::ZERO).await;

        assert!(matches!(pipeline, Err(StoreError::Corrupt(_))), "{pipeline:?}");
        assert!(matches!(events, Err(StoreError::Corrupt(_))), "{events:?}");
    }

    #[tokio::test]
    async fn an_event_id_newer_than_any_issued_is_refused() {
        let Some(store) = store().await else { return };
        let none_yet = store.read_events(Some("5-0"), 10, Duration::ZERO).await;
        store
            .append_events(&[NewEvent {
                project: "web".into(),
                pipeline: PipelineId::new(),
                payload: b"a".to_vec(),
            }])
            .await
            .expect("append");
        let last = store.last_event_id().await.expect("last id").expect("an event");
        let newest = EntryId::parse(&last).expect("a stream id");
        let future = EntryId {
            ms: newest.ms + 1,
            seq: 0,
        }
        .to_string();

        let refused = store.read_events(Some(&future), 10, Duration::ZERO).await;
        let from_start = store.read_events(Some("0-0"), 10, Duration::ZERO).await;

        assert!(matches!(none_yet, Err(StoreError::BadEventId(_))), "{none_yet:?}");
        assert!(matches!(refused, Err(StoreError::BadEventId(_))), "{refused:?}");
        assert_eq!(from_start.expect("0-0 is the start").len(), 1);
    }
}
