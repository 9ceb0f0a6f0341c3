//! The chat's own database: rooms, messages, actions with their decisions, and the audit trail. One trait,
//! [`ChatStore`], two implementations chosen by URL ([`connect`]): PostgreSQL (the `chat` database in production)
//! and SQLite (embedded in `devopstrack up`). Both pass one conformance suite (`tests/chat_store/`). Nothing lives
//! only in memory: a write is answered once it is committed.
//!
//! Guarantees both keep:
//! - **Messages** get a per-room event id, 1, 2, 3… in commit order with no gaps (a counter on the room row,
//!   incremented in the message's transaction), so the id is the resume cursor. A resend (same sender, room,
//!   `clientMsgId`, text) answers the stored message; the same id with other text is a conflict.
//! - **Actions** change state by compare-and-set on the state the decider saw, in one transaction with the decision
//!   row and the audit record: of two deciders exactly one wins.
//! - **The audit trail** is append-only and hash-chained (see [`audit`]); appends are serialised on the chain's head
//!   row, so the chain never forks; [`ChatStore::verify_audit_chain`] names the first broken record.
//! - **The change feed** ([`ChatStore::subscribe`]) tells every subscriber, on every replica, about each committed
//!   message and action change (PostgreSQL `LISTEN/NOTIFY`; in-process for SQLite).
//!
//! Times are kept to the microsecond (both databases' precision): the store truncates what it is given.

/// A query assembled with `format!` from this module's constant column lists, and from nothing else: never from
/// input (values are always bound). sqlx 0.9 asks dynamic SQL to be vouched for with `AssertSqlSafe`.
macro_rules! sql {
    ($($format:tt)*) => {
        sqlx::AssertSqlSafe(format!($($format)*))
    };
}

pub mod actions;
pub mod audit;
mod dialect;
mod error;
pub mod feed;
pub mod limits;
pub mod messages;
mod postgres;
mod rows;
mod shared;
mod sqlite;
mod statements;
mod types;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use uuid::Uuid;

use crate::chat::domain::RoomId;

pub use actions::{
    APPROVE_WITHIN, Action, ActionScope, CONFIRM_WITHIN, DecisionRecord, DecisionRequest, NewAction, OPEN_STATES,
    Outcome, RequestMeta, RunRef,
};
pub use audit::{AuditActor, AuditPage, AuditQuery, AuditRecord, ChainBreak, ChainReport, NewAuditRecord};
pub use error::{Conflict, StoreError, StoreResult};
pub use feed::ChangeNotice;
pub use limits::{Admission, SlotRequest};
pub use messages::{
    Appended, HistoryQuery, MAX_PAGE, Message, NewMessage, REPLAY_CAP, Replay, Room, Sender, room_visible_to,
};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use types::{ClientMsgId, EventId, Person, ShortCode};

/// How many short codes the store draws for one proposal before giving up with [`Conflict::NoFreeShortCode`].
pub const SHORT_CODE_ATTEMPTS: usize = 16;

/// Where a store draws short codes from: [`ShortCode::random`] unless a test injects a sequence.
pub type CodeSource = Arc<dyn Fn() -> ShortCode + Send + Sync>;

/// What a store can be tuned with beyond its URL.
#[derive(Clone)]
pub struct StoreOptions {
    pub short_codes: CodeSource,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            short_codes: Arc::new(ShortCode::random),
        }
    }
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions").finish_non_exhaustive()
    }
}

/// Connects to the store named by `url` (`postgres://…` or `sqlite://path`) and migrates it.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn ChatStore>> {
    connect_with(url, StoreOptions::default()).await
}

/// [`connect`] with options.
pub async fn connect_with(url: &str, options: StoreOptions) -> StoreResult<Arc<dyn ChatStore>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url, options).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, options).await?))
    } else {
        Err(StoreError::InvalidInput(format!(
            "database URL: want postgres:// or sqlite://, got {}",
            redact(url)
        )))
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &credentials[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// `at` truncated to the microsecond, as both databases keep it.
pub(crate) fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

#[async_trait]
pub trait ChatStore: Send + Sync + 'static {
    /// A cheap round trip, for readiness.
    async fn ping(&self) -> StoreResult<()>;

    // ---- rooms
    /// The room, created now if it is new (`general` always exists).
    async fn ensure_room(&self, room: &RoomId, now: DateTime<Utc>) -> StoreResult<Room>;
    async fn room(&self, room: &RoomId) -> StoreResult<Option<Room>>;
    /// The rooms `user_id` may see: `general`, every project room, and their own private room (once it exists);
    /// `general` first, then project rooms by slug, then the private room.
    async fn rooms_visible_to(&self, user_id: &str) -> StoreResult<Vec<Room>>;

    // ---- messages
    /// Appends `message` to its room (created on first use) with the room's next event id. A resend of a stored
    /// message (same sender, room, `clientMsgId` and text) answers it with `created: false`; the same
    /// `clientMsgId` with other text is [`Conflict::ClientMsgIdReused`].
    async fn append_message(&self, message: &NewMessage) -> StoreResult<Appended>;
    async fn message(&self, room: &RoomId, event_id: EventId) -> StoreResult<Option<Message>>;
    /// A page of history, oldest first (see [`HistoryQuery`]); an unknown room has none.
    async fn history(&self, room: &RoomId, query: &HistoryQuery) -> StoreResult<Vec<Message>>;

    /// What a client that saw `after` last missed: every later message, or [`Replay::ResyncRequired`] beyond
    /// [`REPLAY_CAP`] (or when `after` is ahead of the room).
    async fn replay(&self, room: &RoomId, after: EventId) -> StoreResult<Replay> {
        let last = self.room(room).await?.map_or(EventId::ZERO, |r| r.last_event_id);
        if after > last || last.get() - after.get() > REPLAY_CAP {
            return Ok(Replay::ResyncRequired);
        }
        let mut events = Vec::new();
        let mut cursor = after;
        loop {
            let page = self
                .history(room, &HistoryQuery::new(None, Some(cursor), MAX_PAGE)?)
                .await?;
            let full = page.len() == MAX_PAGE as usize;
            cursor = page.last().map_or(cursor, |m| m.event_id);
            events.extend(page);
            if events.len() as u64 > REPLAY_CAP {
                return Ok(Replay::ResyncRequired);
            }
            if !full {
                return Ok(Replay::Events(events));
            }
        }
    }

    // ---- actions
    /// Stores a proposal in `awaiting_confirmation`, with a fresh id, a short code free among open actions and its
    /// confirmation deadline, and audits it (`chat.action.propose`), in one transaction.
    async fn propose_action(&self, action: &NewAction) -> StoreResult<Action>;
    async fn action(&self, id: Uuid) -> StoreResult<Option<Action>>;
    /// The open action (awaiting confirmation or approval) holding `code` within `scope`.
    async fn open_action_by_code(&self, code: &ShortCode, scope: &ActionScope) -> StoreResult<Option<Action>>;
    /// Open actions within `scope`, oldest first.
    async fn open_actions(&self, scope: &ActionScope) -> StoreResult<Vec<Action>>;
    /// Applies a decision by compare-and-set on `request.expected`, storing the decision row and its audit record
    /// (`chat.action.<decision>`) in the same transaction. See [`actions`] for the rules.
    async fn decide(&self, request: &DecisionRequest) -> StoreResult<Action>;
    /// Records the run an executing action started (once), audited as `chat.action.run_started`.
    async fn record_run(&self, id: Uuid, run: &RunRef, at: DateTime<Utc>, meta: &RequestMeta) -> StoreResult<Action>;
    /// Ends an executing action (`succeeded` or `failed`), audited as `chat.action.outcome`.
    async fn finish_action(
        &self,
        id: Uuid,
        outcome: &Outcome,
        at: DateTime<Utc>,
        meta: &RequestMeta,
    ) -> StoreResult<Action>;
    /// Expires, atomically, every open action whose deadline is before `now` (each audited as
    /// `chat.action.expire` by `system`), and answers them. Two replicas sweeping at once expire each action once.
    async fn expire_overdue(&self, now: DateTime<Utc>) -> StoreResult<Vec<Action>>;
    /// Ends, atomically, every action still `executing` whose last change is before `before` (the gateway running
    /// it stopped): `succeeded` when its run was recorded, else `failed` with what to check (see
    /// [`actions::recovered_outcome`]; nothing is run again), each audited as `chat.action.recover` by `system`,
    /// and answers them. Two replicas recovering at once end each action once.
    async fn recover_stuck(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<Vec<Action>>;

    // ---- audit trail
    /// Appends a record at the end of the chain.
    async fn append_audit(&self, record: &NewAuditRecord) -> StoreResult<AuditRecord>;
    /// Appends `records`, in order, at the end of the chain in one transaction: all of them or none.
    async fn append_audit_batch(&self, records: &[NewAuditRecord]) -> StoreResult<()>;
    /// A page of records matching `query`, newest first.
    async fn audit_page(&self, query: &AuditQuery) -> StoreResult<AuditPage>;
    /// Walks the chain from the first record and says whether it is intact, and if not where it first breaks.
    async fn verify_audit_chain(&self) -> StoreResult<ChainReport>;

    // ---- followers of other services' event streams (the bot's notices)
    /// The last event the follower `name` handled, if it saved one.
    async fn feed_cursor(&self, name: &str) -> StoreResult<Option<String>>;
    /// Saves the follower `name`'s position (the last event it handled) at `at`.
    async fn save_feed_cursor(&self, name: &str, position: &str, at: DateTime<Utc>) -> StoreResult<()>;

    /// Takes one slot of a rate window shared by every store on this database ([`limits`]).
    async fn take_slot(&self, request: &SlotRequest<'_>) -> StoreResult<Admission>;

    // ---- change feed
    /// Notices of every message and action change committed from now on, on this replica or another.
    fn subscribe(&self) -> BoxStream<'static, ChangeNotice>;
}
