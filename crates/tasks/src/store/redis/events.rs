//! The event stream: one stream trimmed to about [`MAX_EVENTS`], whose entry ids are the event ids callers see.

use std::time::{Duration, Instant};

use ::redis::streams::{StreamId, StreamRangeReply, StreamReadReply};

use super::{EntryId, MAX_WAIT, RedisStore, corrupt, millis};
use crate::domain::PipelineId;
use crate::store::{MAX_EVENTS, NewEvent, StoreError, StoreResult, StoredEvent};

/// Events returned by one `read_events` call at most.
const MAX_EVENT_BATCH: usize = 10_000;
/// A blocking event read lasts at most this long, so a dead connection is noticed during a long wait.
const EVENTS_BLOCK_SLICE: Duration = Duration::from_secs(5);

impl RedisStore {
    pub(super) async fn add_events(&self, events: &[NewEvent]) -> StoreResult<()> {
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
        pipe.query_async::<()>(&mut self.conn()).await?;
        Ok(())
    }

    /// An `after` newer than the newest event was never issued here and is refused like garbage. One older than the
    /// oldest kept event reads from the oldest.
    pub(super) async fn events_from(
        &self,
        after: Option<&str>,
        limit: usize,
        wait: Duration,
    ) -> StoreResult<Vec<StoredEvent>> {
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

    pub(super) async fn newest_event_id(&self) -> StoreResult<Option<String>> {
        let newest: StreamRangeReply = ::redis::cmd("XREVRANGE")
            .arg(self.keys.events())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn())
            .await?;
        Ok(newest.ids.into_iter().next().map(|e| e.id))
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
            .query_async(&mut self.conn())
            .await?;
        let newest = match newest.ids.first() {
            None => None,
            Some(e) => Some(EntryId::parse(&e.id).ok_or_else(|| corrupt(format!("event id {:?}", e.id)))?),
        };
        Ok((newest, stream_events(read)?))
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
