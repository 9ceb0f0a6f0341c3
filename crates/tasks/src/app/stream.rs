//! Use-cases for what happened: job log lines and the event stream, written by the workers (log batches) and read
//! by the event fan-out (`crate::events`) and the watchers it serves. Like the queue's use-cases they answer the
//! store's own error (see [`super::queue`]); a watcher maps it as any transport does.

use std::time::Duration;

use super::TasksApp;
use crate::domain::JobId;
use crate::store::{NewEvent, StoreResult, StoredEvent};

impl TasksApp {
    /// Appends a running attempt's lines, numbered from `offset` (the attempt's line count so far).
    pub async fn append_log_lines(&self, job: JobId, attempt: u32, offset: u64, lines: &[String]) -> StoreResult<()> {
        self.store.append_log(job, attempt, offset, lines).await
    }

    /// Appends events that no pipeline write carries (log batches).
    pub async fn publish_events(&self, events: &[NewEvent]) -> StoreResult<()> {
        self.store.append_events(events).await
    }

    /// Events after `after` (`None`: from the oldest kept one), oldest first, at most `limit`; waits up to `wait` for
    /// one when there is none.
    pub async fn events_after(
        &self,
        after: Option<&str>,
        limit: usize,
        wait: Duration,
    ) -> StoreResult<Vec<StoredEvent>> {
        self.store.read_events(after, limit, wait).await
    }

    /// The newest event's id (`None`: there is none), where a live-only reader starts.
    pub async fn newest_event_id(&self) -> StoreResult<Option<String>> {
        self.store.last_event_id().await
    }
}
