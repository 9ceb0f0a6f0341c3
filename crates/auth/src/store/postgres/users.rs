//! Users on PostgreSQL: the `users` table and the `login_failures` that throttle password guessing. The trait methods
//! in `postgres.rs` delegate here.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};
use uuid::Uuid;

use super::role_col;
use crate::domain::{Cursor, Email, Role, UserName, UserPatch, UserRecord};
use crate::store::conflict_on_unique;
use crate::store::{StoreError, StoreResult};

macro_rules! user_columns {
    () => {
        "id, email, name, role, password_hash, disabled, created_at, updated_at, last_login_at"
    };
}

pub(super) async fn insert(pool: &PgPool, user: &UserRecord) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO users (",
        user_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(user.id)
    .bind(user.email.as_str())
    .bind(&user.name)
    .bind(user.role.as_str())
    .bind(&user.password_hash)
    .bind(user.disabled)
    .bind(user.created_at)
    .bind(user.updated_at)
    .bind(user.last_login_at)
    .execute(pool)
    .await
    .map_err(conflict_on_unique("email"))?;
    Ok(())
}

pub(super) async fn by_id(pool: &PgPool, id: Uuid) -> StoreResult<Option<UserRecord>> {
    let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub(super) async fn by_email(pool: &PgPool, email: &Email) -> StoreResult<Option<UserRecord>> {
    let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1"))
        .bind(email.as_str())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub(super) async fn list(pool: &PgPool, after: Option<Cursor>, limit: u32) -> StoreResult<Vec<UserRecord>> {
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
    let rows = query.fetch_all(pool).await?;
    rows.iter().map(user_from_row).collect()
}

pub(super) async fn count(pool: &PgPool) -> StoreResult<u64> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

pub(super) async fn names(pool: &PgPool, ids: &[Uuid]) -> StoreResult<Vec<UserName>> {
    let rows = sqlx::query("SELECT id, name FROM users WHERE id = ANY($1) ORDER BY id")
        .bind(ids)
        .fetch_all(pool)
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

pub(super) async fn update(
    pool: &PgPool,
    id: Uuid,
    patch: &UserPatch,
    now: DateTime<Utc>,
) -> StoreResult<Option<UserRecord>> {
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
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub(super) async fn set_password_hash(pool: &PgPool, id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn record_login_success(pool: &PgPool, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE users SET last_login_at = $2 WHERE id = $1")
        .bind(user_id)
        .bind(at)
        .execute(pool)
        .await?;
    Ok(())
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
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_login_at: row.try_get("last_login_at")?,
    })
}
