//! Password-guess throttling on PostgreSQL: the `login_throttle` table, one row per hashed key. The trait methods
//! in `postgres.rs` delegate here.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use crate::domain::{Admission, AttemptRecord, ThrottlePolicy};
use crate::store::StoreResult;

pub(super) async fn admit(
    pool: &PgPool,
    key: &str,
    now: DateTime<Utc>,
    policy: &ThrottlePolicy,
) -> StoreResult<Admission> {
    let mut tx = pool.begin().await?;
    // The row exists before it is locked (a count of 0 reads as "no record"), so two first attempts on one key
    // serialise on the row lock like any later ones.
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, last_attempt_at) VALUES ($1, 0, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query("SELECT failures, last_attempt_at FROM login_throttle WHERE key = $1 FOR UPDATE")
        .bind(key)
        .fetch_one(&mut *tx)
        .await?;
    let record = record_from_row(&row)?;
    let admission = policy.admit(Some(&record), now);
    if let Admission::Admitted { failures } = admission {
        sqlx::query("UPDATE login_throttle SET failures = $2, last_attempt_at = $3 WHERE key = $1")
            .bind(key)
            .bind(i32::try_from(failures).unwrap_or(i32::MAX))
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(admission)
}

pub(super) async fn clear(pool: &PgPool, key: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn prune(pool: &PgPool, before: DateTime<Utc>) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM login_throttle WHERE last_attempt_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn get(pool: &PgPool, key: &str) -> StoreResult<Option<AttemptRecord>> {
    let row = sqlx::query("SELECT failures, last_attempt_at FROM login_throttle WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    Ok(row
        .as_ref()
        .map(record_from_row)
        .transpose()?
        .filter(|r| r.failures > 0))
}

fn record_from_row(row: &PgRow) -> StoreResult<AttemptRecord> {
    let failures: i32 = row.try_get("failures")?;
    Ok(AttemptRecord {
        failures: u32::try_from(failures).unwrap_or(0),
        last_at: row.try_get("last_attempt_at")?,
    })
}
