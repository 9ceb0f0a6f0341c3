//! The production auth store on PostgreSQL: TIMESTAMPTZ, UUID and TEXT roles (see
//! `migrations/postgres/0001_init.sql`). Transactions run at READ COMMITTED: the refresh-token compare-and-set is a
//! single conditional UPDATE, which PostgreSQL re-checks after waiting on a concurrent writer's row lock.

mod api_tokens;
mod sessions;
mod signing_keys;
mod throttle;
mod users;

use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

use super::{StoreError, StoreResult};
use crate::domain::Role;

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host/db`) and migrates the database.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }
}

sql_auth_store!(PostgresStore);

fn role_col(row: &PgRow, column: &str) -> StoreResult<Role> {
    let value: String = row.try_get(column)?;
    value.parse().map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
