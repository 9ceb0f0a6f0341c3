//! The embedded store's connection pool, the same for every service: the file is created when missing, WAL journal,
//! `synchronous=NORMAL`, foreign keys on, a 5 s busy timeout, 8 connections. Each service runs its own migrations on
//! the pool it gets (`sqlx::migrate!` paths are relative to the calling crate).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

const MAX_CONNECTIONS: u32 = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the database at `url` (`sqlite://path/service.db`).
///
/// `sqlite::memory:` works too: the pool then holds exactly one connection for its whole life, because an in-memory
/// database disappears with its last connection.
pub async fn open_pool(url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let pool_options = if url.contains(":memory:") || url.contains("mode=memory") {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS)
    };
    pool_options
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
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

    #[tokio::test]
    async fn an_in_memory_database_keeps_its_data_across_queries() {
        let pool = super::open_pool("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)").execute(&pool).await.unwrap();
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM t").fetch_one(&pool).await.unwrap();
        assert_eq!(count, 1);
    }
}
