//! The embedded projects store on SQLite: what `devopstrack up` and small teams run for real.
//!
//! Timestamps are INTEGER unix microseconds, ids TEXT (UUIDs lower-case hyphenated, so their text order is the
//! keyset tie-breaker the MongoDB store uses too), and a project's tags, repositories and environments are JSON text;
//! see `migrations/sqlite/0001_init.sql`. Write transactions start with `BEGIN IMMEDIATE` so two writers queue on the
//! busy timeout instead of deadlocking on a read-to-write upgrade.
//!
//! One submodule per aggregate (`projects`, `definitions`, `releases`, `deployments`, `github`) implements that
//! aggregate's trait with its queries and row mapping.

mod definitions;
mod deployments;
mod github;
mod projects;
mod releases;

use async_trait::async_trait;

use sqlx::sqlite::SqlitePool;

use devopstrack_platform::sqlite::ColumnError;

use super::{ProjectStore, StoreError, StoreResult};

const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/projects.db`) and migrates it.
    ///
    /// The pool settings (and `sqlite::memory:` support) are the platform's: [`devopstrack_platform::sqlite`], with
    /// `synchronous=FULL`: an acknowledged write of the catalogue (projects, releases, deployments, webhook secrets) survives a power loss too, not only a crash of the process.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = devopstrack_platform::sqlite::open_pool_with(url, devopstrack_platform::sqlite::full_sync).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

fn conflict_on_unique(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::from(err),
    }
}

impl From<ColumnError> for StoreError {
    fn from(e: ColumnError) -> Self {
        match e {
            ColumnError::Sqlx(e) => StoreError::from(e),
            ColumnError::Corrupt(message) => StoreError::Corrupt(message),
        }
    }
}

#[cfg(test)]
mod durability_tests {
    #[tokio::test]
    async fn every_commit_is_synced_to_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::SqliteStore::connect(&format!("sqlite://{}/projects.db", dir.path().display()))
            .await
            .unwrap();
        let (level,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(level, 2, "PRAGMA synchronous: 2 = FULL");
    }
}
