//! The embedded store's connection pool and column conventions, the same for every service.
//!
//! Pool: the file is created when missing, WAL journal, `synchronous=NORMAL` unless the store asks for `FULL` (its
//! [`Tune`] may; see [`full_sync`]), foreign keys on, a 5 s busy timeout, 8 connections. The database file is readable
//! and writable by its owner only (mode 0600, also tightened on a file made before; SQLite gives its `-wal` and `-shm`
//! files the database's mode): it holds password hashes, session and token hashes, and encrypted keys.
//!
//! Durability in WAL mode: a commit is in the write-ahead log (handed to the OS) before it returns, so with either
//! level it survives a crash or `kill -9` of the process. `NORMAL` syncs the log to disk only at checkpoints, so a
//! power loss or OS crash may roll back the last transactions (the database stays consistent); `FULL` syncs the log
//! on every commit, so a commit also survives those. Each service runs its own migrations on the pool it gets (`sqlx::migrate!` paths are relative to
//! the calling crate). Columns: times are INTEGER unix microseconds (numeric comparisons, exact round trips at the
//! precision PostgreSQL keeps), UUIDs are lower-case hyphenated TEXT.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use uuid::Uuid;

const MAX_CONNECTIONS: u32 = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the database at `url` (`sqlite://path/service.db`).
///
/// `sqlite::memory:` works too: the pool then holds exactly one connection for its whole life, because an in-memory
/// database disappears with its last connection.
pub async fn open_pool(url: &str) -> Result<SqlitePool, sqlx::Error> {
    open(url, MAX_CONNECTIONS, |o| o).await
}

/// [`open_pool`] with `tune` applied to the connect options first (the conventions above still hold; a read-heavy store
/// may raise `row_buffer_size` or set PRAGMAs such as `mmap_size` / `cache_size`).
pub async fn open_pool_with(url: &str, tune: Tune) -> Result<SqlitePool, sqlx::Error> {
    open(url, MAX_CONNECTIONS, tune).await
}

/// Adjusts a pool's connect options (see [`open_pool_with`], [`open_writer_with`]), after the conventions above are
/// set: it may change `synchronous` ([`full_sync`]), and must leave the journal mode and foreign keys alone.
pub type Tune = fn(SqliteConnectOptions) -> SqliteConnectOptions;

/// `synchronous=FULL`: every commit is synced to disk before it returns, so it survives a power loss, not only a
/// crash of the process. For stores whose writes must never roll back (accounts, keys, catalogue data, events a
/// sender deletes once acknowledged).
pub fn full_sync(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options.synchronous(SqliteSynchronous::Full)
}

/// A one-connection pool on the same file as `readers` (from [`open_pool`]), for a store whose writes are frequent
/// and concurrent: writers then queue in the pool (fair, async) instead of in SQLite's busy handler, which sleeps in
/// steps of up to 100 ms and collapses throughput under contention. Reads keep using `readers` (WAL lets them run
/// beside the writer). An in-memory database lives in the one connection `readers` holds, so that is the writer.
pub async fn open_writer(url: &str, readers: &SqlitePool) -> Result<SqlitePool, sqlx::Error> {
    open_writer_with(url, readers, |o| o).await
}

/// [`open_writer`] with `tune` applied to the writer's connect options (ignored for an in-memory database, whose
/// writer is the readers' one connection).
pub async fn open_writer_with(url: &str, readers: &SqlitePool, tune: Tune) -> Result<SqlitePool, sqlx::Error> {
    if is_memory(url) {
        return Ok(readers.clone());
    }
    open(url, 1, tune).await
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

async fn open(url: &str, max_connections: u32, tune: Tune) -> Result<SqlitePool, sqlx::Error> {
    if !is_memory(url) {
        owner_only(SqliteConnectOptions::from_str(url)?.get_filename()).map_err(sqlx::Error::Io)?;
    }
    let options = tune(
        SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT),
    );
    let pool_options = if is_memory(url) {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(max_connections)
    };
    pool_options
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
}

/// Creates the database file with mode 0600 when missing (SQLite accepts an empty file as a new database) and
/// tightens an existing one, with its `-wal`, `-shm` and `-journal` files, to 0600.
fn owner_only(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        let mut files = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            files.push(name.into());
        }
        for file in files.iter().filter(|f| f.exists()) {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Why a column could not be read: the driver failed, or the stored value breaks the conventions above. Each store
/// turns it into its own error (`Corrupt` for the latter).
#[derive(Debug, thiserror::Error)]
pub enum ColumnError {
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("{0}")]
    Corrupt(String),
}

/// A time as stored: unix microseconds.
pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub fn time_col(row: &SqliteRow, column: &str) -> Result<DateTime<Utc>, ColumnError> {
    let value: i64 = row.try_get(column)?;
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| ColumnError::Corrupt(format!("{column}: {value} is not a timestamp in microseconds")))
}

pub fn opt_time_col(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>, ColumnError> {
    match row.try_get::<Option<i64>, _>(column)? {
        Some(_) => time_col(row, column).map(Some),
        None => Ok(None),
    }
}

pub fn uuid_col(row: &SqliteRow, column: &str) -> Result<Uuid, ColumnError> {
    let value: String = row.try_get(column)?;
    Uuid::parse_str(&value).map_err(|e| ColumnError::Corrupt(format!("{column}: {value:?} is not a uuid: {e}")))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_file_database_is_created_in_wal_mode_with_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/x.db", dir.path().display());
        let pool = super::open_pool(&url).await.unwrap();
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&pool).await.unwrap();
        let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys").fetch_one(&pool).await.unwrap();
        assert_eq!((mode.as_str(), fk), ("wal", 1));
        assert!(dir.path().join("x.db").exists());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn database_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        // Arrange: one file made before, world-readable
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.db");
        std::fs::write(&old, b"").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mode = |name: &str| {
            let meta = std::fs::metadata(dir.path().join(name)).unwrap();
            meta.permissions().mode() & 0o777
        };

        // Act: a new database written to (so its WAL exists), and the old one opened
        let new = super::open_pool(&format!("sqlite://{}/new.db", dir.path().display()))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(&new).await.unwrap();
        let _old = super::open_pool(&format!("sqlite://{}", old.display())).await.unwrap();

        // Assert
        assert_eq!(mode("new.db"), 0o600);
        assert_eq!(mode("new.db-wal"), 0o600);
        assert_eq!(mode("new.db-shm"), 0o600);
        assert_eq!(mode("old.db"), 0o600, "an existing file is tightened");
    }

    #[tokio::test]
    async fn the_sync_level_is_normal_unless_the_store_asks_for_full() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/x.db", dir.path().display());
        let synchronous = |pool: sqlx::SqlitePool| async move {
            let (level,): (i64,) = sqlx::query_as("PRAGMA synchronous").fetch_one(&pool).await.unwrap();
            level
        };
        let normal = super::open_pool(&url).await.unwrap();
        let full = super::open_pool_with(&url, super::full_sync).await.unwrap();
        let writer = super::open_writer_with(&url, &full, super::full_sync).await.unwrap();
        // PRAGMA synchronous: 1 = NORMAL, 2 = FULL.
        assert_eq!(synchronous(normal).await, 1);
        assert_eq!(synchronous(full).await, 2);
        assert_eq!(synchronous(writer).await, 2);
    }

    #[tokio::test]
    async fn columns_round_trip_and_corrupt_values_are_named() {
        let pool = super::open_pool("sqlite::memory:").await.unwrap();
        let at = chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let id = uuid::Uuid::new_v4();
        let row = sqlx::query("SELECT ?1 AS at, NULL AS never, ?2 AS id, 'x' AS bad_id, ?3 AS huge")
            .bind(super::micros(at))
            .bind(id.to_string())
            .bind(i64::MAX)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(super::time_col(&row, "at").unwrap(), at);
        assert_eq!(super::opt_time_col(&row, "never").unwrap(), None);
        assert_eq!(super::uuid_col(&row, "id").unwrap(), id);
        let bad = super::uuid_col(&row, "bad_id").unwrap_err().to_string();
        assert!(bad.starts_with("bad_id: \"x\" is not a uuid"), "{bad}");
        assert!(matches!(
            super::time_col(&row, "huge"),
            Err(super::ColumnError::Corrupt(_))
        ));
    }

    #[tokio::test]
    async fn an_in_memory_database_keeps_its_data_across_queries() {
        let pool = super::open_pool("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)").execute(&pool).await.unwrap();
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM t").fetch_one(&pool).await.unwrap();
        assert_eq!(count, 1);
    }
}
