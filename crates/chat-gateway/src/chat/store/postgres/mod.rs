//! The production chat store on PostgreSQL (`migrations/postgres/`): TIMESTAMPTZ, UUID, TEXT enums guarded by
//! CHECKs, JSON kept as the exact text the store wrote.
//!
//! Transactions run at READ COMMITTED. Serialisation points are rows: a room's row (its event counter) for
//! messages, an action's row for its compare-and-set (PostgreSQL re-checks the `WHERE state = …` after waiting on a
//! concurrent writer), and the audit head row (`SELECT … FOR UPDATE`) for the chain. Locks are always taken in the
//! order action → audit head, so they cannot deadlock. Each write NOTIFYs inside its transaction, so the notice is
//! delivered on commit and never for a rollback; every replica's listener (`listener.rs`) hears it.

mod actions;
mod audit;
mod limits;
mod listener;
mod messages;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Postgres, Row};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::audit::PageKey;
use super::dialect::{Dialect, Statement};
use super::feed::{CHANNEL, Hub};
use super::rows::{Columns, Plain};
use super::shared;
use super::{
    Action, ActionScope, Appended, AuditPage, AuditQuery, AuditRecord, ChainReport, ChangeNotice, ChatStore,
    DecisionRequest, EventId, HistoryQuery, Message, NewAction, NewAuditRecord, NewMessage, Outcome, RequestMeta, Room,
    RunRef, ShortCode, StoreOptions, StoreResult,
};
use crate::chat::domain::RoomId;

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct PostgresStore {
    pool: PgPool,
    hub: Hub,
    page_key: PageKey,
    options: StoreOptions,
    listener: JoinHandle<()>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host/chat`), migrates the database and starts listening for
    /// changes: a store that is returned already hears every later commit.
    pub async fn connect(url: &str, options: StoreOptions) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let page_key = shared::page_key(&pool).await?;
        let hub = Hub::new();
        let listener = listener::start(&pool, hub.clone()).await?;
        Ok(Self {
            pool,
            hub,
            page_key,
            options,
            listener,
        })
    }

    /// The pool, for tests that reach under the store (tampering with the audit trail).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// Queues `notice` for delivery when the transaction on `conn` commits.
async fn notify(conn: &mut PgConnection, notice: &ChangeNotice) -> StoreResult<()> {
    if let Some(payload) = notice.payload() {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Times bind as TIMESTAMPTZ; a prefix is matched by `starts_with`.
impl Dialect for Postgres {
    /// Locks the head row until the transaction ends: concurrent appends from any replica queue there.
    const LOCK_ROW: &'static str = " FOR UPDATE";

    fn bind_time(statement: Statement<'_, Self>, at: DateTime<Utc>) -> Statement<'_, Self> {
        statement.bind(at)
    }

    fn starts_with(column: &str, n: usize) -> String {
        format!("starts_with({column}, ${n})")
    }
}

/// Every column reads as its own type: times are TIMESTAMPTZ, ids UUID.
impl Columns for PgRow {
    fn value<T: Plain>(&self, column: &str) -> StoreResult<T> {
        Ok(self.try_get(column)?)
    }

    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        Ok(self.try_get(column)?)
    }

    fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(self.try_get(column)?)
    }

    fn micros(&self, column: &str) -> StoreResult<i64> {
        Ok(self.time(column)?.timestamp_micros())
    }

    fn uuid(&self, column: &str) -> StoreResult<Uuid> {
        Ok(self.try_get(column)?)
    }
}

#[async_trait]
impl ChatStore for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn ensure_room(&self, room: &RoomId, now: DateTime<Utc>) -> StoreResult<Room> {
        shared::ensure_room(&self.pool, room, now).await
    }

    async fn room(&self, room: &RoomId) -> StoreResult<Option<Room>> {
        shared::room(&self.pool, room).await
    }

    async fn rooms_visible_to(&self, user_id: &str) -> StoreResult<Vec<Room>> {
        shared::rooms_visible_to(&self.pool, user_id).await
    }

    async fn append_message(&self, message: &NewMessage) -> StoreResult<Appended> {
        messages::append(&self.pool, message).await
    }

    async fn message(&self, room: &RoomId, event_id: EventId) -> StoreResult<Option<Message>> {
        shared::message(&self.pool, room, event_id).await
    }

    async fn history(&self, room: &RoomId, query: &HistoryQuery) -> StoreResult<Vec<Message>> {
        shared::history(&self.pool, room, query).await
    }

    async fn propose_action(&self, action: &NewAction) -> StoreResult<Action> {
        actions::propose(&self.pool, action, &self.options.short_codes).await
    }

    async fn action(&self, id: Uuid) -> StoreResult<Option<Action>> {
        let mut conn = self.pool.acquire().await?;
        actions::load(&mut conn, id).await
    }

    async fn open_action_by_code(&self, code: &ShortCode, scope: &ActionScope) -> StoreResult<Option<Action>> {
        Ok(actions::open(&self.pool, Some(code), scope).await?.into_iter().next())
    }

    async fn open_actions(&self, scope: &ActionScope) -> StoreResult<Vec<Action>> {
        actions::open(&self.pool, None, scope).await
    }

    async fn decide(&self, request: &DecisionRequest) -> StoreResult<Action> {
        actions::decide(&self.pool, request).await
    }

    async fn record_run(&self, id: Uuid, run: &RunRef, at: DateTime<Utc>, meta: &RequestMeta) -> StoreResult<Action> {
        actions::record_run(&self.pool, id, run, at, meta).await
    }

    async fn finish_action(
        &self,
        id: Uuid,
        outcome: &Outcome,
        at: DateTime<Utc>,
        meta: &RequestMeta,
    ) -> StoreResult<Action> {
        actions::finish(&self.pool, id, outcome, at, meta).await
    }

    async fn expire_overdue(&self, now: DateTime<Utc>) -> StoreResult<Vec<Action>> {
        actions::expire_overdue(&self.pool, now).await
    }

    async fn recover_stuck(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<Vec<Action>> {
        actions::recover_stuck(&self.pool, before, now).await
    }

    async fn append_audit(&self, record: &NewAuditRecord) -> StoreResult<AuditRecord> {
        let mut tx = self.pool.begin().await?;
        let row = audit::append(&mut tx, record.clone()).await?;
        tx.commit().await?;
        row.into_record()
    }

    async fn append_audit_batch(&self, records: &[NewAuditRecord]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for record in records {
            audit::append(&mut tx, record.clone()).await?;
        }
        Ok(tx.commit().await?)
    }

    async fn audit_page(&self, query: &AuditQuery) -> StoreResult<AuditPage> {
        shared::audit_page(&self.pool, query, &self.page_key).await
    }

    async fn verify_audit_chain(&self) -> StoreResult<ChainReport> {
        shared::verify_audit(&self.pool).await
    }

    async fn feed_cursor(&self, name: &str) -> StoreResult<Option<String>> {
        shared::feed_cursor(&self.pool, name).await
    }

    async fn save_feed_cursor(&self, name: &str, position: &str, at: DateTime<Utc>) -> StoreResult<()> {
        shared::save_feed_cursor(&self.pool, name, position, at).await
    }

    async fn take_slot(
        &self,
        request: &crate::chat::store::SlotRequest<'_>,
    ) -> StoreResult<crate::chat::store::Admission> {
        limits::take_slot(self, request).await
    }

    fn subscribe(&self) -> BoxStream<'static, ChangeNotice> {
        self.hub.subscribe()
    }
}
