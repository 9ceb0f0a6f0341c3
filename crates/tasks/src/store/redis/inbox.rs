//! The webhook inbox on Redis. Keys (under the store's prefix): `inbox:seen:<project id>:<delivery id>` (a string
//! expiring after the dedup window: the id is remembered), `inbox:d:<id>` (a hash: the delivery), `inbox:due` (a zset
//! of pending ids by due time), `inbox:pending` and `inbox:parked` (zsets of ids at score 0, listed by id: UUIDv7 ids
//! sort by arrival). Every change is one script (`inbox/*.lua`), so an id and its delivery, or a completion and its
//! outbox entries, land together or not at all.

use std::collections::HashMap;
use std::sync::LazyLock;

use ::redis::Script;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{RedisStore, corrupt};
use crate::store::StoreResult;
use crate::store::inbox::{DEDUP_WINDOW, InboxDelivery, InboxEffects, InboxState, InboxStore, NewDelivery, Received};

struct InboxScripts {
    receive: Script,
    take: Script,
    complete: Script,
    settle: Script,
    replay: Script,
}

static SCRIPTS: LazyLock<InboxScripts> = LazyLock::new(|| InboxScripts {
    receive: Script::new(include_str!("inbox/receive.lua")),
    take: Script::new(include_str!("inbox/take.lua")),
    complete: Script::new(include_str!("inbox/complete.lua")),
    settle: Script::new(include_str!("inbox/settle.lua")),
    replay: Script::new(include_str!("inbox/replay.lua")),
});

impl RedisStore {
    fn delivery_key(&self, id: &str) -> String {
        self.keys.inbox(&format!("d:{id}"))
    }

    fn index_key(&self, state: InboxState) -> String {
        self.keys.inbox(state.as_str())
    }

    /// The deliveries stored under `ids`, in that order; ids whose hash is gone (completed meanwhile) are left out.
    async fn deliveries(&self, ids: &[String]) -> StoreResult<Vec<InboxDelivery>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = ::redis::pipe();
        for id in ids {
            pipe.cmd("HGETALL").arg(self.delivery_key(id));
        }
        let hashes: Vec<HashMap<String, Vec<u8>>> = pipe.query_async(&mut self.conn()).await?;
        ids.iter()
            .zip(hashes)
            .filter(|(_, hash)| !hash.is_empty())
            .map(|(id, hash)| delivery_from_hash(id, hash))
            .collect()
    }

    async fn settle(&self, id: Uuid, error: &str, how: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let id = id.to_string();
        let done: i64 = SCRIPTS
            .settle
            .key(self.delivery_key(&id))
            .key(self.keys.inbox("due"))
            .key(self.index_key(InboxState::Pending))
            .key(self.index_key(InboxState::Parked))
            .arg(&id)
            .arg(error)
            .arg(how)
            .arg(at.timestamp_millis())
            .invoke_async(&mut self.conn())
            .await?;
        Ok(done == 1)
    }
}

#[async_trait]
impl InboxStore for RedisStore {
    async fn receive(&self, delivery: &NewDelivery, now: DateTime<Utc>) -> StoreResult<Received> {
        let id = delivery.id.to_string();
        let seen = self
            .keys
            .inbox(&format!("seen:{}:{}", delivery.project_id, delivery.delivery_id));
        let recorded: i64 = SCRIPTS
            .receive
            .key(seen)
            .key(self.delivery_key(&id))
            .key(self.keys.inbox("due"))
            .key(self.index_key(InboxState::Pending))
            .arg((now + DEDUP_WINDOW).timestamp_millis())
            .arg(if delivery.body.is_some() { "1" } else { "0" })
            .arg(&id)
            .arg(&delivery.project_id)
            .arg(&delivery.project_slug)
            .arg(&delivery.delivery_id)
            .arg(&delivery.event)
            .arg(delivery.body.as_deref().unwrap_or_default())
            .arg(now.timestamp_millis())
            .invoke_async(&mut self.conn())
            .await?;
        Ok(if recorded == 1 {
            Received::Recorded
        } else {
            Received::Duplicate
        })
    }

    async fn take_due(&self, now: DateTime<Utc>, lease: TimeDelta, limit: u32) -> StoreResult<Vec<InboxDelivery>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = SCRIPTS
            .take
            .key(self.keys.inbox("due"))
            .arg(now.timestamp_millis())
            .arg((now + lease).timestamp_millis())
            .arg(limit)
            .arg(self.keys.inbox("d:"))
            .invoke_async(&mut self.conn())
            .await?;
        self.deliveries(&ids).await
    }

    async fn complete(&self, id: Uuid, effects: &InboxEffects) -> StoreResult<bool> {
        let id = id.to_string();
        let mut invocation = SCRIPTS.complete.prepare_invoke();
        invocation
            .key(self.delivery_key(&id))
            .key(self.keys.inbox("due"))
            .key(self.index_key(InboxState::Pending))
            .key(self.keys.outbox_payloads())
            .key(self.keys.outbox_attempts())
            .key(self.keys.outbox_due())
            .key(self.keys.metric_events())
            .arg(&id)
            .arg(effects.outbox.len());
        for entry in &effects.outbox {
            invocation
                .arg(entry.id.to_string())
                .arg(entry.payload.as_slice())
                .arg(entry.attempts)
                .arg(entry.due_at.timestamp_millis());
        }
        invocation.arg(effects.metrics.len());
        for event in &effects.metrics {
            invocation.arg(event.kind.as_str()).arg(event.payload.as_slice());
        }
        let done: i64 = invocation.invoke_async(&mut self.conn()).await?;
        Ok(done == 1)
    }

    async fn retry(&self, id: Uuid, error: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        self.settle(id, error, "retry", at).await
    }

    async fn park(&self, id: Uuid, error: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        self.settle(id, error, "park", now).await
    }

    async fn replay(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<InboxDelivery>> {
        let id = id.to_string();
        let done: i64 = SCRIPTS
            .replay
            .key(self.delivery_key(&id))
            .key(self.keys.inbox("due"))
            .key(self.index_key(InboxState::Pending))
            .key(self.index_key(InboxState::Parked))
            .arg(&id)
            .arg(now.timestamp_millis())
            .invoke_async(&mut self.conn())
            .await?;
        if done == 0 {
            return Ok(None);
        }
        Ok(self.deliveries(&[id]).await?.into_iter().next())
    }

    async fn list(&self, state: InboxState, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<InboxDelivery>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let from = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let ids: Vec<String> = ::redis::cmd("ZRANGE")
            .arg(self.index_key(state))
            .arg(from)
            .arg("+")
            .arg("BYLEX")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut self.conn())
            .await?;
        self.deliveries(&ids).await
    }

    async fn count(&self, state: InboxState) -> StoreResult<u64> {
        let n: u64 = ::redis::cmd("ZCARD")
            .arg(self.index_key(state))
            .query_async(&mut self.conn())
            .await?;
        Ok(n)
    }

    /// The ids expire by themselves (`SET … PXAT`).
    async fn prune_ids(&self, _before: DateTime<Utc>) -> StoreResult<u64> {
        Ok(0)
    }
}

fn delivery_from_hash(id: &str, mut hash: HashMap<String, Vec<u8>>) -> StoreResult<InboxDelivery> {
    let bad = |what: &str| corrupt(format!("inbox delivery {id}: {what}"));
    let text = |field: &str| {
        hash.get(field)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .ok_or_else(|| bad(&format!("no {field}")))
    };
    let time = |ms: String, field: &str| {
        ms.parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(|| bad(&format!("{field} {ms:?}")))
    };
    let state = text("state")?;
    let attempts = text("attempts")?;
    let last_error = text("last_error").ok();
    Ok(InboxDelivery {
        id: Uuid::parse_str(id).map_err(|_| bad("its id"))?,
        project_id: text("project_id")?,
        project_slug: text("project_slug")?,
        delivery_id: text("delivery_id")?,
        event: text("event")?,
        state: InboxState::parse(&state).ok_or_else(|| bad(&format!("state {state:?}")))?,
        attempts: attempts.parse().map_err(|_| bad(&format!("attempts {attempts:?}")))?,
        last_error,
        received_at: time(text("received_at")?, "received_at")?,
        due_at: time(text("due_at")?, "due_at")?,
        body: hash.remove("body").ok_or_else(|| bad("no body"))?,
    })
}
