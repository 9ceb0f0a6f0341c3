//! The embedded chat store on SQLite (`migrations/sqlite/`): what `devopstrack up` runs for real.
//!
//! The platform's conventions ([`devopstrack_platform::sqlite`]): WAL, times as INTEGER unix microseconds, UUIDs as
//! TEXT; reads on a pool, every write on a single writer connection in `BEGIN IMMEDIATE` transactions, so writes are
//! serialised whole (event ids, compare-and-sets and the audit chain need nothing more). The database file is
//! created private to its owner (0600, its directory 0700 when this creates it): it holds the audit trail. The
//! change feed is in-process: a notice is published after its transaction commits, to the subscribers of every
//! store this process opened on the same file. (Two processes on one SQLite file would not hear each other;
//! replicas run on PostgreSQL.)

mod actions;
mod audit;
mod limits;
mod messages;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use devopstrack_platform::sqlite::{opt_time_col, time_col, uuid_col};
use futures::stream::BoxStream;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Row, Sqlite};
use uuid::Uuid;

use super::audit::PageKey;
use super::dialect::{Dialect, Statement};
use super::feed::Hub;
use super::rows::{Columns, Plain};
use super::shared;
use super::{
    Action, ActionScope, Appended, AuditPage, AuditQuery, AuditRecord, ChainReport, ChangeNotice, ChatStore,
    DecisionRequest, EventId, HistoryQuery, Message, NewAction, NewAuditRecord, NewMessage, Outcome, RequestMeta, Room,
    RunRef, ShortCode, StoreError, StoreOptions, StoreResult,
};
use crate::chat::domain::RoomId;

const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

pub struct SqliteStore {
    readers: SqlitePool,
    /// Every write goes through this one connection.
    writer: SqlitePool,
    hub: Hub,
    page_key: PageKey,
    options: StoreOptions,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/chat.db`, or `sqlite::memory:`) and
    /// migrates it.
    pub async fn connect(url: &str, options: StoreOptions) -> StoreResult<Self> {
        if let Some(path) = file_path(url) {
            create_private(path)
                .map_err(|e| StoreError::InvalidInput(format!("database URL: {}: {e}", path.display())))?;
        }
        let readers = devopstrack_platform::sqlite::open_pool(url).await?;
        sqlx::migrate!("./migrations/sqlite").run(&readers).await?;
        let writer = devopstrack_platform::sqlite::open_writer(url, &readers).await?;
        let page_key = shared::page_key(&writer).await?;
        Ok(Self {
            readers,
            writer,
            hub: hub_of(file_path(url)),
            page_key,
            options,
        })
    }

    /// The writer, for tests that reach under the store (tampering with the audit trail).
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    async fn begin_write(&self) -> StoreResult<Tx> {
        Ok(self.writer.begin_with(BEGIN_WRITE).await?)
    }

    /// Commits and then tells subscribers.
    async fn commit(&self, tx: Tx, notices: Vec<ChangeNotice>) -> StoreResult<()> {
        tx.commit().await?;
        for notice in notices {
            self.hub.publish(notice);
        }
        Ok(())
    }
}

/// The feeds of the database files this process opened, so two stores on one file hear each other's commits as
/// two PostgreSQL replicas do. An in-memory database gets a feed of its own.
fn hub_of(path: Option<&Path>) -> Hub {
    static HUBS: LazyLock<Mutex<HashMap<PathBuf, Hub>>> = LazyLock::new(Default::default);
    let Some(path) = path else { return Hub::new() };
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut hubs = HUBS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    hubs.entry(key).or_insert_with(Hub::new).clone()
}

/// The file a `sqlite:` URL names, if it names one.
fn file_path(url: &str) -> Option<&Path> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then(|| Path::new(path))
}

/// Creates the database file (0600) and its directory (0700) when missing; leaves existing ones as they are.
fn create_private(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Times bind as INTEGER unix microseconds; a prefix is the first `length($n)` characters.
impl Dialect for Sqlite {
    /// Nothing: appends run on the single writer, one at a time.
    const LOCK_ROW: &'static str = "";

    fn bind_time(statement: Statement<'_, Self>, at: DateTime<Utc>) -> Statement<'_, Self> {
        statement.bind(devopstrack_platform::sqlite::micros(at))
    }

    fn starts_with(column: &str, n: usize) -> String {
        format!("substr({column}, 1, length(${n})) = ${n}")
    }
}

/// Times are INTEGER unix microseconds, ids TEXT ([`devopstrack_platform::sqlite`]'s conventions).
impl Columns for SqliteRow {
    fn value<T: Plain>(&self, column: &str) -> StoreResult<T> {
        Ok(self.try_get(column)?)
    }

    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        Ok(time_col(self, column)?)
    }

    fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(opt_time_col(self, column)?)
    }

    fn micros(&self, column: &str) -> StoreResult<i64> {
        self.value(column)
    }

    fn uuid(&self, column: &str) -> StoreResult<Uuid> {
        Ok(uuid_col(self, column)?)
    }
}

#[async_trait]
impl ChatStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }

    async fn ensure_room(&self, room: &RoomId, now: DateTime<Utc>) -> StoreResult<Room> {
        shared::ensure_room(&self.writer, room, now).await
    }

    async fn room(&self, room: &RoomId) -> StoreResult<Option<Room>> {
        shared::room(&self.readers, room).await
    }

    async fn rooms_visible_to(&self, user_id: &str) -> StoreResult<Vec<Room>> {
        shared::rooms_visible_to(&self.readers, user_id).await
    }

    async fn append_message(&self, message: &NewMessage) -> StoreResult<Appended> {
        messages::append(self, message).await
    }

    async fn message(&self, room: &RoomId, event_id: EventId) -> StoreResult<Option<Message>> {
        shared::message(&self.readers, room, event_id).await
    }

    async fn history(&self, room: &RoomId, query: &HistoryQuery) -> StoreResult<Vec<Message>> {
        shared::history(&self.readers, room, query).await
    }

    async fn propose_action(&self, action: &NewAction) -> StoreResult<Action> {
        actions::propose(self, action, &self.options.short_codes).await
    }

    async fn action(&self, id: Uuid) -> StoreResult<Option<Action>> {
        let mut conn = self.readers.acquire().await?;
        actions::load(&mut conn, id).await
    }

    async fn open_action_by_code(&self, code: &ShortCode, scope: &ActionScope) -> StoreResult<Option<Action>> {
        Ok(actions::open(&self.readers, Some(code), scope)
            .await?
            .into_iter()
            .next())
    }

    async fn open_actions(&self, scope: &ActionScope) -> StoreResult<Vec<Action>> {
        actions::open(&self.readers, None, scope).await
    }

    async fn decide(&self, request: &DecisionRequest) -> StoreResult<Action> {
        actions::decide(self, request).await
    }

    async fn record_run(&self, id: Uuid, run: &RunRef, at: DateTime<Utc>, meta: &RequestMeta) -> StoreResult<Action> {
        actions::record_run(self, id, run, at, meta).await
    }

    async fn finish_action(
        &self,
        id: Uuid,
        outcome: &Outcome,
        at: DateTime<Utc>,
        meta: &RequestMeta,
    ) -> StoreResult<Action> {
        actions::finish(self, id, outcome, at, meta).await
    }

    async fn expire_overdue(&self, now: DateTime<Utc>) -> StoreResult<Vec<Action>> {
        actions::expire_overdue(self, now).await
    }

    async fn recover_stuck(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<Vec<Action>> {
        actions::recover_stuck(self, before, now).await
    }

    async fn append_audit(&self, record: &NewAuditRecord) -> StoreResult<AuditRecord> {
        let mut tx = self.begin_write().await?;
        let row = audit::append(&mut tx, record.clone()).await?;
        self.commit(tx, Vec::new()).await?;
        row.into_record()
    }

    async fn append_audit_batch(&self, records: &[NewAuditRecord]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for record in records {
            audit::append(&mut tx, record.clone()).await?;
        }
        self.commit(tx, Vec::new()).await
    }

    async fn audit_page(&self, query: &AuditQuery) -> StoreResult<AuditPage> {
        shared::audit_page(&self.readers, query, &self.page_key).await
    }

    async fn verify_audit_chain(&self) -> StoreResult<ChainReport> {
        shared::verify_audit(&self.readers).await
    }

    async fn feed_cursor(&self, name: &str) -> StoreResult<Option<String>> {
        shared::feed_cursor(&self.readers, name).await
    }

    async fn save_feed_cursor(&self, name: &str, position: &str, at: DateTime<Utc>) -> StoreResult<()> {
        shared::save_feed_cursor(&self.writer, name, position, at).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_come_from_file_urls_only() {
        assert_eq!(
            file_path("sqlite://.devopstrack/chat.db"),
            Some(Path::new(".devopstrack/chat.db"))
        );
        assert_eq!(
            file_path("sqlite:///tmp/x/chat.db?mode=rwc"),
            Some(Path::new("/tmp/x/chat.db"))
        );
        assert_eq!(file_path("sqlite::memory:"), None);
        assert_eq!(file_path("sqlite://"), None);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/chat.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()), StoreOptions::default())
            .await
            .unwrap();
        store.ping().await.unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&path), mode(path.parent().unwrap())), (0o600, 0o700));
    }
}
