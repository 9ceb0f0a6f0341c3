//! The backlog gauges' sample ([`TaskStore::backlog`](crate::store::TaskStore::backlog)): one Lua script, so the
//! queue and the outbox are read in one snapshot.

use std::sync::LazyLock;

use ::redis::Script;
use chrono::{DateTime, Utc};

use super::{GROUP, RedisStore};
use crate::store::{Backlog, StoreResult};

static BACKLOG: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("backlog.lua")));

impl RedisStore {
    pub(super) async fn sample_backlog(&self) -> StoreResult<Backlog> {
        let (oldest, outbox): (i64, u64) = BACKLOG
            .key(self.keys.queue())
            .key(self.keys.delayed())
            .key(self.keys.outbox_due())
            .arg(GROUP)
            .arg(Utc::now().timestamp_millis())
            .invoke_async(&mut self.conn())
            .await?;
        Ok(Backlog {
            oldest_ready_at: (oldest >= 0).then(|| DateTime::from_timestamp_millis(oldest)).flatten(),
            outbox,
        })
    }
}
