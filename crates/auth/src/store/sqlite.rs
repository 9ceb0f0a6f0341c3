//! The embedded auth store on SQLite: what `devopstrack up` and small teams run for real.
//!
//! Timestamps are INTEGER unix microseconds (numeric, exact comparisons) and UUIDs lower-case hyphenated TEXT, whose
//! text order equals PostgreSQL's uuid order; see `migrations/sqlite/0001_init.sql`. Write transactions start with
//! `BEGIN IMMEDIATE` so two writers queue on the busy timeout instead of deadlocking on a read-to-write upgrade.

mod api_tokens;
mod sessions;
mod signing_keys;
mod throttle;
mod users;

use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

use devopstrack_platform::sqlite::ColumnError;

use super::{StoreError, StoreResult};
use crate::domain::Role;

const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/auth.db`) and migrates it.
    ///
    /// The pool settings (and `sqlite::memory:` support) are the platform's: [`devopstrack_platform::sqlite`], with
    /// `synchronous=FULL`: an acknowledged write of accounts, sessions and keys survives a power loss too, not only a crash of the process.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = devopstrack_platform::sqlite::open_pool_with(url, devopstrack_platform::sqlite::full_sync).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }
}

sql_auth_store!(SqliteStore);

impl From<ColumnError> for StoreError {
    fn from(e: ColumnError) -> Self {
        match e {
            ColumnError::Sqlx(e) => StoreError::from(e),
            ColumnError::Corrupt(message) => StoreError::Corrupt(message),
        }
    }
}

fn role_col(row: &SqliteRow, column: &str) -> StoreResult<Role> {
    let value: String = row.try_get(column)?;
    value.parse().map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

#[cfg(test)]
mod durability_tests {
    #[tokio::test]
    async fn every_commit_is_synced_to_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::SqliteStore::connect(&format!("sqlite://{}/auth.db", dir.path().display()))
            .await
            .unwrap();
        let (level,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(level, 2, "PRAGMA synchronous: 2 = FULL");
    }
}
