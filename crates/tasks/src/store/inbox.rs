//! The GitHub webhook inbox: deliveries verified by the intake, kept until processed, and the delivery ids seen in
//! the last [`DEDUP_WINDOW`]. One trait, the same two implementations as [`super::TaskStore`] (`redis/inbox.rs`,
//! `sqlite/inbox.rs`), one conformance suite (`tests/api/store/inbox.rs`) that both pass.
//!
//! Atomicity is the point, as for pipeline writes:
//! - [`InboxStore::receive`] records the delivery id *and* the raw delivery in one step (a Lua script on Redis, a
//!   transaction on SQLite), so an accepted delivery is never lost and a duplicate never stored twice;
//! - [`InboxStore::complete`] removes the delivery *and* appends its downstream effects to the two outboxes (metrics
//!   events, projects deployments) in one step, so a crash between "processed" and "effects queued" cannot happen.
//!
//! Processing is leased: [`InboxStore::take_due`] hands out due deliveries and makes them due again after the lease,
//! so a processor killed mid-delivery leaves it to be taken again (and processed again: every effect is idempotent
//! downstream). A delivery that keeps failing is parked ([`InboxStore::park`]) and stays until an admin replays it.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{MetricEvent, OutboxEntry, StoreResult};

/// How long a delivery id is remembered: a redelivery within it is a duplicate.
pub const DEDUP_WINDOW: TimeDelta = TimeDelta::days(7);

/// A verified delivery to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// The inbox's own id (time-ordered UUIDv7): what the admin routes name.
    pub id: Uuid,
    pub project_id: String,
    pub project_slug: String,
    /// `X-GitHub-Delivery`.
    pub delivery_id: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// The raw body. `None`: nothing to process (an ignored delivery): only the id is recorded.
    pub body: Option<Vec<u8>>,
}

/// What [`InboxStore::receive`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Recorded (the id, and the delivery when it had a body).
    Recorded,
    /// The id was recorded within the window: nothing was written.
    Duplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InboxState {
    /// Waiting for processing (or for its next attempt, or leased to a processor).
    Pending,
    /// Failed every attempt; waits for an admin's replay.
    Parked,
}

impl InboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            InboxState::Pending => "pending",
            InboxState::Parked => "parked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [InboxState::Pending, InboxState::Parked]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxDelivery {
    pub id: Uuid,
    pub project_id: String,
    pub project_slug: String,
    pub delivery_id: String,
    pub event: String,
    pub body: Vec<u8>,
    pub state: InboxState,
    /// Failed attempts so far.
    pub attempts: u32,
    pub last_error: Option<String>,
    pub received_at: DateTime<Utc>,
    /// When it is due (pending), or when it was parked.
    pub due_at: DateTime<Utc>,
}

/// What a processed delivery leaves behind, stored atomically with its removal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxEffects {
    /// Appended to the metrics outbox, in order.
    pub metrics: Vec<MetricEvent>,
    /// Put in the deployment outbox (replacing a pending entry with the same id).
    pub outbox: Vec<OutboxEntry>,
}

#[async_trait]
pub trait InboxStore: Send + Sync + 'static {
    /// Records the delivery id, and the delivery (pending, due at `now`) when it has a body, in one atomic step,
    /// unless the same `(project_id, delivery_id)` was recorded after `now - DEDUP_WINDOW` (then nothing is
    /// written). An id older than the window is recorded again.
    async fn receive(&self, delivery: &NewDelivery, now: DateTime<Utc>) -> StoreResult<Received>;

    /// Up to `limit` pending deliveries due at `now`, oldest due first, each made due again at `now + lease` (so a
    /// processor that dies holding one leaves it to be taken again after the lease).
    async fn take_due(&self, now: DateTime<Utc>, lease: TimeDelta, limit: u32) -> StoreResult<Vec<InboxDelivery>>;

    /// Removes a processed delivery and stores its effects, all or nothing. `false` (nothing written) when the
    /// delivery is no longer pending (completed by another processor, parked, or unknown).
    async fn complete(&self, id: Uuid, effects: &InboxEffects) -> StoreResult<bool>;

    /// Counts a failed attempt, keeps `error` and makes the delivery due at `at`. `false` when it is not pending.
    async fn retry(&self, id: Uuid, error: &str, at: DateTime<Utc>) -> StoreResult<bool>;

    /// Counts a failed attempt and parks the delivery with `error` (at `now`). `false` when it is not pending.
    async fn park(&self, id: Uuid, error: &str, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Makes a parked delivery pending again, due at `now`, its attempts back to 0. `None` when no delivery with that
    /// id is parked.
    async fn replay(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<InboxDelivery>>;

    /// Deliveries in `state` with an id greater than `after`, in id (so arrival) order, at most `limit`.
    async fn list(&self, state: InboxState, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<InboxDelivery>>;

    /// How many deliveries are in `state` (for the parked-deliveries gauge and its alert).
    async fn count(&self, state: InboxState) -> StoreResult<u64>;

    /// Forgets delivery ids recorded before `before` (Redis expires them by itself); answers how many went.
    async fn prune_ids(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// Both views of one store.
pub struct Stores {
    pub tasks: std::sync::Arc<dyn super::TaskStore>,
    pub inbox: std::sync::Arc<dyn InboxStore>,
}

/// [`super::connect_checked`], answering the store as both traits (one connection pool, one writer).
pub async fn connect_stores(url: &str, prefix: &str, allow_volatile_redis: bool) -> StoreResult<Stores> {
    use std::sync::Arc;
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        let store = Arc::new(super::RedisStore::connect(url, prefix).await?);
        if !allow_volatile_redis {
            store.require_durable().await?;
        }
        Ok(Stores {
            tasks: store.clone(),
            inbox: store,
        })
    } else if url.starts_with("sqlite:") {
        let store = Arc::new(super::SqliteStore::connect(url).await?);
        Ok(Stores {
            tasks: store.clone(),
            inbox: store,
        })
    } else {
        Err(super::StoreError::Url("want redis://… or sqlite://path".into()))
    }
}
