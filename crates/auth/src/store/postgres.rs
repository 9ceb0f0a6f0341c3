//! The production auth store on PostgreSQL: TIMESTAMPTZ, UUID and TEXT roles (see
//! `migrations/postgres/0001_init.sql`). Transactions run at READ COMMITTED: the refresh-token compare-and-set is a
//! single conditional UPDATE, which PostgreSQL re-checks after waiting on a concurrent writer's row lock.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use uuid::Uuid;

use super::{AuthStore, StoreError, StoreResult};
use crate::domain::{
    ApiTokenRecord, Cursor, Email, RefreshTokenRecord, Role, Rotation, SessionRecord, SigningKeyRecord, UserName,
    UserPatch, UserRecord,
};

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

macro_rules! user_columns {
    () => {
        "id, email, name, role, password_hash, disabled, locked_until, created_at, updated_at, last_login_at"
    };
}

macro_rules! api_token_columns {
    () => {
        "id, user_id, name, prefix, token_hash, role, created_at, expires_at, last_used_at, revoked_at"
    };
}

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
        sqlx::query(concat!(
            "INSERT INTO users (",
            user_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(user.id)
        .bind(user.email.as_str())
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(user.disabled)
        .bind(user.locked_until)
        .bind(user.created_at)
        .bind(user.updated_at)
        .bind(user.last_login_at)
        .execute(&self.pool)
        .await
        .map_err(conflict_on_unique("email"))?;
        Ok(())
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1"))
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn list_users(&self, after: Option<Cursor>, limit: u32) -> StoreResult<Vec<UserRecord>> {
        let query = match after {
            None => sqlx::query(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users ORDER BY created_at, id LIMIT $1"
            ))
            .bind(i64::from(limit)),
            Some(cursor) => sqlx::query(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3"
            ))
            .bind(cursor.created_at)
            .bind(cursor.id)
            .bind(i64::from(limit)),
        };
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn user_names(&self, ids: &[Uuid]) -> StoreResult<Vec<UserName>> {
        let rows = sqlx::query("SELECT id, name FROM users WHERE id = ANY($1) ORDER BY id")
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(UserName {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                })
            })
            .collect()
    }

    async fn update_user(&self, id: Uuid, patch: &UserPatch, now: DateTime<Utc>) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(concat!(
            "UPDATE users SET name = COALESCE($2, name), role = COALESCE($3, role), ",
            "disabled = COALESCE($4, disabled), updated_at = $5 WHERE id = $1 RETURNING ",
            user_columns!()
        ))
        .bind(id)
        .bind(patch.name.as_deref())
        .bind(patch.role.map(Role::as_str))
        .bind(patch.disabled)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn set_password_hash(&self, id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(hash)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn add_login_failure(&self, user_id: Uuid, at: DateTime<Utc>, since: DateTime<Utc>) -> StoreResult<u32> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO login_failures (user_id, at) VALUES ($1, $2)")
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE user_id = $1 AND at >= $2")
            .bind(user_id)
            .bind(since)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn set_locked_until(&self, user_id: Uuid, until: Option<DateTime<Utc>>) -> StoreResult<()> {
        sqlx::query("UPDATE users SET locked_until = $2 WHERE id = $1")
            .bind(user_id)
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_login_success(&self, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET last_login_at = $2, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM login_failures WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(&self, session: &SessionRecord, token: &RefreshTokenRecord) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO sessions (id, user_id, created_at, revoked_at) VALUES ($1, $2, $3, $4)")
            .bind(session.id)
            .bind(session.user_id)
            .bind(session.created_at)
            .bind(session.revoked_at)
            .execute(&mut *tx)
            .await
            .map_err(conflict_on_unique("session"))?;
        // The first token belongs to this session whatever `token.session_id` says.
        insert_refresh_token(&mut tx, token, session.id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, id: Uuid) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query("SELECT id, user_id, created_at, revoked_at FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new: &RefreshTokenRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        let mut tx = self.pool.begin().await?;
        // The compare-and-set: only a current token of a live session is claimed, and only once.
        let claimed = sqlx::query(
            "UPDATE refresh_tokens SET rotated_at = $1 \
             WHERE token_hash = $2 AND rotated_at IS NULL AND expires_at > $1 \
               AND session_id IN (SELECT id FROM sessions WHERE revoked_at IS NULL)",
        )
        .bind(now)
        .bind(old_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let found = sqlx::query(
            "SELECT r.session_id, r.rotated_at, s.user_id FROM refresh_tokens r \
             JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1",
        )
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(found) = found else {
            return Ok(Rotation::Invalid);
        };
        let session_id = found.try_get("session_id")?;
        let user_id = found.try_get("user_id")?;
        if claimed {
            insert_refresh_token(&mut tx, new, session_id).await?;
            tx.commit().await?;
            Ok(Rotation::Rotated { session_id, user_id })
        } else if found.try_get::<Option<DateTime<Utc>>, _>("rotated_at")?.is_some() {
            Ok(Rotation::Reused { session_id, user_id })
        } else {
            Ok(Rotation::Invalid)
        }
    }

    async fn session_by_refresh_hash(&self, hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT s.id, s.user_id, s.created_at, s.revoked_at FROM sessions s \
             JOIN refresh_tokens r ON r.session_id = s.id WHERE r.token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn revoke_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn revoke_user_sessions(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        sqlx::query("INSERT INTO signing_keys (kid, private_key_pem, created_at) VALUES ($1, $2, $3)")
            .bind(&key.kid)
            .bind(&key.private_key_pem)
            .bind(key.created_at)
            .execute(&self.pool)
            .await
            .map_err(conflict_on_unique("kid"))?;
        Ok(())
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows =
            sqlx::query("SELECT kid, private_key_pem, created_at FROM signing_keys ORDER BY created_at DESC, kid DESC")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(SigningKeyRecord {
                    kid: row.try_get("kid")?,
                    private_key_pem: row.try_get("private_key_pem")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn insert_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO api_tokens (",
            api_token_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(token.id)
        .bind(token.user_id)
        .bind(&token.name)
        .bind(&token.prefix)
        .bind(&token.token_hash)
        .bind(token.role.as_str())
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(token.last_used_at)
        .bind(token.revoked_at)
        .execute(&self.pool)
        .await
        .map_err(conflict_on_unique("api token"))?;
        Ok(())
    }

    async fn api_token_by_hash(&self, hash: &str) -> StoreResult<Option<ApiTokenRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            api_token_columns!(),
            " FROM api_tokens WHERE token_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(api_token_from_row).transpose()
    }

    async fn api_token_by_id(&self, id: Uuid) -> StoreResult<Option<ApiTokenRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            api_token_columns!(),
            " FROM api_tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(api_token_from_row).transpose()
    }

    async fn list_api_tokens(
        &self,
        user_id: Option<Uuid>,
        after: Option<Cursor>,
        limit: u32,
    ) -> StoreResult<Vec<ApiTokenRecord>> {
        // One static statement per shape, so each uses its own index: (created_at, id) or (user_id, created_at, id).
        let query = match (user_id, after) {
            (None, None) => sqlx::query(concat!(
                "SELECT ",
                api_token_columns!(),
                " FROM api_tokens ORDER BY created_at, id LIMIT $1"
            ))
            .bind(i64::from(limit)),
            (None, Some(cursor)) => sqlx::query(concat!(
                "SELECT ",
                api_token_columns!(),
                " FROM api_tokens WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3"
            ))
            .bind(cursor.created_at)
            .bind(cursor.id)
            .bind(i64::from(limit)),
            (Some(user_id), None) => sqlx::query(concat!(
                "SELECT ",
                api_token_columns!(),
                " FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id LIMIT $2"
            ))
            .bind(user_id)
            .bind(i64::from(limit)),
            (Some(user_id), Some(cursor)) => sqlx::query(concat!(
                "SELECT ",
                api_token_columns!(),
                " FROM api_tokens WHERE user_id = $1 AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT $4"
            ))
            .bind(user_id)
            .bind(cursor.created_at)
            .bind(cursor.id)
            .bind(i64::from(limit)),
        };
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(api_token_from_row).collect()
    }

    async fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn touch_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

async fn insert_refresh_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    token: &RefreshTokenRecord,
    session_id: Uuid,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, rotated_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&token.token_hash)
    .bind(session_id)
    .bind(token.created_at)
    .bind(token.expires_at)
    .bind(token.rotated_at)
    .execute(&mut **tx)
    .await
    .map_err(conflict_on_unique("refresh token"))?;
    Ok(())
}

/// A unique violation becomes `Conflict(what)`; anything else stays a backend error.
fn conflict_on_unique(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Backend(err),
    }
}

fn role_col(row: &PgRow, column: &str) -> StoreResult<Role> {
    let value: String = row.try_get(column)?;
    value.parse().map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn user_from_row(row: &PgRow) -> StoreResult<UserRecord> {
    let email: String = row.try_get("email")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        email: Email::parse(&email).map_err(|e| StoreError::Corrupt(format!("email: {e}")))?,
        name: row.try_get("name")?,
        role: role_col(row, "role")?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get("disabled")?,
        locked_until: row.try_get("locked_until")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_login_at: row.try_get("last_login_at")?,
    })
}

fn session_from_row(row: &PgRow) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn api_token_from_row(row: &PgRow) -> StoreResult<ApiTokenRecord> {
    Ok(ApiTokenRecord {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        token_hash: row.try_get("token_hash")?,
        role: role_col(row, "role")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}
