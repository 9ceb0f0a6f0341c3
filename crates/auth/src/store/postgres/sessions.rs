//! Sessions on PostgreSQL: `sessions` and the `refresh_tokens` of each, whose rotation is the compare-and-set that
//! detects a replayed token. The trait methods in `postgres.rs` delegate here.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};
use uuid::Uuid;

use crate::domain::{RefreshTokenRecord, Rotation, SessionRecord};
use crate::store::StoreResult;
use crate::store::conflict_on_unique;

pub(super) async fn create(pool: &PgPool, session: &SessionRecord, token: &RefreshTokenRecord) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
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

pub(super) async fn get(pool: &PgPool, id: Uuid) -> StoreResult<Option<SessionRecord>> {
    let row = sqlx::query("SELECT id, user_id, created_at, revoked_at FROM sessions WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(session_from_row).transpose()
}

pub(super) async fn rotate_refresh_token(
    pool: &PgPool,
    old_hash: &str,
    new: &RefreshTokenRecord,
    now: DateTime<Utc>,
) -> StoreResult<Rotation> {
    let mut tx = pool.begin().await?;
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

pub(super) async fn by_refresh_hash(pool: &PgPool, hash: &str) -> StoreResult<Option<SessionRecord>> {
    let row = sqlx::query(
        "SELECT s.id, s.user_id, s.created_at, s.revoked_at FROM sessions s \
         JOIN refresh_tokens r ON r.session_id = s.id WHERE r.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(session_from_row).transpose()
}

pub(super) async fn revoke(pool: &PgPool, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn revoke_all_of_user(pool: &PgPool, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<u64> {
    let done = sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
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

fn session_from_row(row: &PgRow) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}
