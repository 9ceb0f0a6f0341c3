//! The job queue: a stream read through one consumer group (a lease is a pending entry, its idle time the lease's
//! age), a zset of delayed entries promoted when due, and stop flags as keys with a time to live.

use std::time::{Duration, Instant};

use ::redis::streams::{StreamPendingReply, StreamReadReply};
use chrono::{DateTime, Utc};

use super::{EntryId, GROUP, MAX_WAIT, RedisStore, millis};
use crate::domain::{JobId, PipelineId};
use crate::store::{Delivery, QueueDepth, StoreError, StoreResult};

/// Deliveries handed out by one `lease` call at most, to bound the script's run time.
const MAX_LEASE_BATCH: usize = 1000;
/// A blocking queue read lasts at most this long, so lapsed leases and due retries are noticed during a long wait.
const LEASE_BLOCK_SLICE: Duration = Duration::from_secs(1);

impl RedisStore {
    /// On Redis a lease lapses once the entry has been idle for the *leasing* caller's `lease`: every worker should
    /// use the same lease length.
    pub(super) async fn lease_entries(
        &self,
        worker: &str,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> StoreResult<Vec<Delivery>> {
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
            .invoke_async(&mut self.conn())
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
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Resets the lease's idle clock: the lapse threshold is the leasing caller's `lease` (see `lease_entries`).
    pub(super) async fn renew_entry(&self, worker: &str, delivery: &Delivery, _lease: Duration) -> StoreResult<bool> {
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
            .invoke_async(&mut self.conn())
            .await?;
        Ok(renewed == 1)
    }

    pub(super) async fn ack_entry(&self, delivery: &Delivery) -> StoreResult<()> {
        if EntryId::parse(&delivery.entry).is_none() {
            return Ok(());
        }
        self.remove_entry(&delivery.entry).await
    }

    /// Does nothing when `worker` no longer holds the delivery (its lease lapsed and someone else took it).
    pub(super) async fn release_entry(&self, worker: &str, delivery: &Delivery) -> StoreResult<()> {
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
            .invoke_async::<i64>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub(super) async fn stop_flag(&self, job: JobId, attempt: u32) -> StoreResult<bool> {
        let exists: bool = ::redis::cmd("EXISTS")
            .arg(self.keys.stop(job, attempt))
            .query_async(&mut self.conn())
            .await?;
        Ok(exists)
    }

    /// Delayed entries already due count as ready (the next `lease` promotes them).
    pub(super) async fn depth(&self) -> StoreResult<QueueDepth> {
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
            .query_async(&mut self.conn())
            .await?;
        // Acked entries are deleted, so the stream holds exactly the undelivered and the leased ones.
        let leased = pending.count() as u64;
        Ok(QueueDepth {
            ready: len.saturating_sub(leased) + due,
            delayed: later,
            leased,
        })
    }
}

/// A queue entry's fields as read, before validation.
pub(super) struct RawDelivery {
    pub(super) entry: String,
    pub(super) pipeline: String,
    pub(super) job: String,
    pub(super) attempt: String,
    pub(super) deliveries: String,
}

impl RawDelivery {
    /// The entry id's time is when the entry was added to the stream: when it became ready.
    pub(super) fn parse(&self) -> Result<Delivery, String> {
        let id = EntryId::parse(&self.entry).ok_or_else(|| format!("entry id {:?}", self.entry))?;
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
            queued_at: i64::try_from(id.ms)
                .ok()
                .and_then(DateTime::<Utc>::from_timestamp_millis),
        })
    }
}
