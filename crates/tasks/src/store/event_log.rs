//! [`EventLog`]: what happened, for readers: the job logs (lines per attempt) and the event stream that watchers
//! tail. Pipeline writes append their events atomically ([`super::Writes::events`]); log batches append here.

use std::time::Duration;

use async_trait::async_trait;

use super::{LogPage, NewEvent, StoreResult, StoredEvent};
use crate::domain::JobId;

#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends lines numbered from `offset` (the attempt's line count so far; the single writer is the worker running
    /// the attempt). Lines already stored at those offsets are left as they are. Keeps the last
    /// [`super::MAX_LOG_LINES`].
    async fn append_log(&self, job: JobId, attempt: u32, offset: u64, lines: &[String]) -> StoreResult<()>;
    /// Up to `limit` lines from `offset`.
    async fn read_log(&self, job: JobId, attempt: u32, offset: u64, limit: u32) -> StoreResult<LogPage>;

    /// Appends events outside a pipeline write (log batches).
    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()>;
    /// Events after `after` (`None`: from the oldest kept one), oldest first, at most `limit`; waits up to `wait` for
    /// one when there is none.
    async fn read_events(&self, after: Option<&str>, limit: usize, wait: Duration) -> StoreResult<Vec<StoredEvent>>;
    /// The newest event's id (`None` when there is none): where a live-only reader starts.
    async fn last_event_id(&self) -> StoreResult<Option<String>>;
}
