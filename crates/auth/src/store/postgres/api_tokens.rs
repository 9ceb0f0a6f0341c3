//! API tokens on PostgreSQL: the `api_tokens` table, listed by `(created_at, id)` for everyone or one user. The trait
//! methods in `postgres.rs` delegate here.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};
use uuid::Uuid;

use super::role_col;
use crate::domain::{ApiTokenRecord, Cursor};
use crate::store::StoreResult;
use crate::store::conflict_on_unique;

macro_rules! api_token_columns {
    () => {
        "id, user_id, name, prefix, token_hash, role, created_at, expires_at, last_used_at, revoked_at, parent_id"
    };
}

pub(super) async fn insert(pool: &PgPool, token: &ApiTokenRecord) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO api_tokens (",
        api_token_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
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
    .bind(token.parent_id)
    .execute(pool)
    .await
    .map_err(conflict_on_unique("api token"))?;
    Ok(())
}

pub(super) async fn by_hash(pool: &PgPool, hash: &str) -> StoreResult<Option<ApiTokenRecord>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        api_token_columns!(),
        " FROM api_tokens WHERE token_hash = $1"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(api_token_from_row).transpose()
}

pub(super) async fn by_id(pool: &PgPool, id: Uuid) -> StoreResult<Option<ApiTokenRecord>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        api_token_columns!(),
        " FROM api_tokens WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(api_token_from_row).transpose()
}

pub(super) async fn list(
    pool: &PgPool,
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
    let rows = query.fetch_all(pool).await?;
    rows.iter().map(api_token_from_row).collect()
}

pub(super) async fn revoke(pool: &PgPool, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
    let done = sqlx::query(
        "WITH RECURSIVE family (id) AS (SELECT id FROM api_tokens WHERE id = $1 \
         UNION SELECT t.id FROM api_tokens t JOIN family f ON t.parent_id = f.id) \
         UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id IN (SELECT id FROM family)",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() >= 1)
}

pub(super) async fn touch(pool: &PgPool, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
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
        parent_id: row.try_get("parent_id")?,
    })
}
