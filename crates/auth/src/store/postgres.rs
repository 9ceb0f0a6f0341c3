//! The production auth store on PostgreSQL: TIMESTAMPTZ, UUID and TEXT roles (see
//! `migrations/postgres/0001_init.sql`). Transactions run at READ COMMITTED: the refresh-token compare-and-set is a
//! single conditional UPDATE, which PostgreSQL re-checks after waiting on a concurrent writer's row lock.

mod api_tokens;
mod sessions;
mod signing_keys;
mod throttle;
mod users;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use uuid::Uuid;

use super::{AuthStore, StoreError, StoreResult};
use crate::domain::{
    Admission, ApiTokenRecord, AttemptRecord, Cursor, Email, RefreshTokenRecord, Role, Rotation, SessionRecord,
    SigningKeyRecord, ThrottlePolicy, UserName, UserPatch, UserRecord,
};

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

#[async_trait]
impl AuthStore for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()> {
        users::insert(&self.pool, user).await
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<UserRecord>> {
        users::by_id(&self.pool, id).await
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<UserRecord>> {
        users::by_email(&self.pool, email).await
    }

    async fn list_users(&self, after: Option<Cursor>, limit: u32) -> StoreResult<Vec<UserRecord>> {
        users::list(&self.pool, after, limit).await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        users::count(&self.pool).await
    }

    async fn user_names(&self, ids: &[Uuid]) -> StoreResult<Vec<UserName>> {
        users::names(&self.pool, ids).await
    }

    async fn update_user(&self, id: Uuid, patch: &UserPatch, now: DateTime<Utc>) -> StoreResult<Option<UserRecord>> {
        users::update(&self.pool, id, patch, now).await
    }

    async fn set_password_hash(&self, id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        users::set_password_hash(&self.pool, id, hash, now).await
    }

    async fn record_login_success(&self, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        users::record_login_success(&self.pool, user_id, at).await
    }

    async fn admit_attempt(&self, key: &str, now: DateTime<Utc>, policy: &ThrottlePolicy) -> StoreResult<Admission> {
        throttle::admit(&self.pool, key, now, policy).await
    }

    async fn clear_attempts(&self, key: &str) -> StoreResult<()> {
        throttle::clear(&self.pool, key).await
    }

    async fn prune_attempts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        throttle::prune(&self.pool, before).await
    }

    async fn attempts(&self, key: &str) -> StoreResult<Option<AttemptRecord>> {
        throttle::get(&self.pool, key).await
    }

    async fn create_session(&self, session: &SessionRecord, token: &RefreshTokenRecord) -> StoreResult<()> {
        sessions::create(&self.pool, session, token).await
    }

    async fn session(&self, id: Uuid) -> StoreResult<Option<SessionRecord>> {
        sessions::get(&self.pool, id).await
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new: &RefreshTokenRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        sessions::rotate_refresh_token(&self.pool, old_hash, new, now).await
    }

    async fn session_by_refresh_hash(&self, hash: &str) -> StoreResult<Option<SessionRecord>> {
        sessions::by_refresh_hash(&self.pool, hash).await
    }

    async fn revoke_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sessions::revoke(&self.pool, id, now).await
    }

    async fn revoke_user_sessions(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<u64> {
        sessions::revoke_all_of_user(&self.pool, user_id, now).await
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        signing_keys::insert(&self.pool, key).await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        signing_keys::all(&self.pool).await
    }

    async fn update_signing_key(&self, kid: &str, private_key: &str) -> StoreResult<bool> {
        signing_keys::update(&self.pool, kid, private_key).await
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
        signing_keys::delete(&self.pool, kid).await
    }

    async fn insert_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()> {
        api_tokens::insert(&self.pool, token).await
    }

    async fn api_token_by_hash(&self, hash: &str) -> StoreResult<Option<ApiTokenRecord>> {
        api_tokens::by_hash(&self.pool, hash).await
    }

    async fn api_token_by_id(&self, id: Uuid) -> StoreResult<Option<ApiTokenRecord>> {
        api_tokens::by_id(&self.pool, id).await
    }

    async fn list_api_tokens(
        &self,
        user_id: Option<Uuid>,
        after: Option<Cursor>,
        limit: u32,
    ) -> StoreResult<Vec<ApiTokenRecord>> {
        api_tokens::list(&self.pool, user_id, after, limit).await
    }

    async fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        api_tokens::revoke(&self.pool, id, now).await
    }

    async fn touch_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        api_tokens::touch(&self.pool, id, now).await
    }
}

/// A unique violation becomes `Conflict(what)`; anything else stays a backend error.
fn conflict_on_unique(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::from(err),
    }
}

fn role_col(row: &PgRow, column: &str) -> StoreResult<Role> {
    let value: String = row.try_get(column)?;
    value.parse().map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
