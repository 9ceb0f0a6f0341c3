//! The two outboxes. Deployments for projects: a hash of payloads and one of attempts by pipeline id, plus a zset of
//! due times. Metrics events: a stream (fields `kind`, `payload`) whose entries are deleted once delivered and never
//! trimmed otherwise, so nothing is lost however long the metrics service stays away.

use ::redis::streams::StreamRangeReply;
use chrono::{DateTime, Utc};

use super::{EntryId, RedisStore, corrupt};
use crate::domain::PipelineId;
use crate::store::{MetricEvent, MetricEventKind, OutboxEntry, PendingMetricEvent, StoreResult};

impl RedisStore {
    pub(super) async fn outbox_due(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
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
            .invoke_async(&mut self.conn())
            .await?;
        out.chunks(4).map(outbox_entry).collect()
    }

    pub(super) async fn outbox_done(&self, id: PipelineId) -> StoreResult<()> {
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
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Does nothing when the entry was delivered meanwhile.
    pub(super) async fn outbox_later(&self, id: PipelineId, at: DateTime<Utc>) -> StoreResult<()> {
        self.scripts
            .outbox_retry
            .key(self.keys.outbox_payloads())
            .key(self.keys.outbox_attempts())
            .key(self.keys.outbox_due())
            .arg(id.to_string())
            .arg(at.timestamp_millis())
            .invoke_async::<i64>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub(super) async fn metrics_pending(&self, limit: usize) -> StoreResult<Vec<PendingMetricEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let range: StreamRangeReply = ::redis::cmd("XRANGE")
            .arg(self.keys.metric_events())
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn())
            .await?;
        range
            .ids
            .into_iter()
            .map(|e| {
                let bad = |what: &str| corrupt(format!("metrics outbox entry {}: {what}", e.id));
                let kind: String = e.get("kind").ok_or_else(|| bad("no kind"))?;
                let kind = MetricEventKind::parse(&kind).ok_or_else(|| bad(&format!("kind {kind:?}")))?;
                let payload: Vec<u8> = e.get("payload").ok_or_else(|| bad("no payload"))?;
                Ok(PendingMetricEvent {
                    id: e.id,
                    event: MetricEvent { kind, payload },
                })
            })
            .collect()
    }

    pub(super) async fn metrics_done(&self, ids: &[String]) -> StoreResult<()> {
        let ids: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|id| EntryId::parse(id).is_some())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        ::redis::cmd("XDEL")
            .arg(self.keys.metric_events())
            .arg(&ids)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub(super) async fn metrics_len(&self) -> StoreResult<u64> {
        Ok(::redis::cmd("XLEN")
            .arg(self.keys.metric_events())
            .query_async(&mut self.conn())
            .await?)
    }
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
