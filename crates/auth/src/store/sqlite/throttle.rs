//! Password-guess throttling on SQLite: the `login_throttle` table, one row per hashed key. The trait methods in
//! `sqlite.rs` delegate here.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use devopstrack_platform::sqlite::{micros, time_col};

use super::BEGIN_WRITE;
use crate::domain::{Admission, AttemptRecord, ThrottlePolicy};
use crate::store::StoreResult;

pub(super) async fn admit(
    pool: &SqlitePool,
    key: &str,
    now: DateTime<Utc>,
    policy: &ThrottlePolicy,
) -> StoreResult<Admission> {
    // BEGIN IMMEDIATE: concurrent attempts on the database queue here, so each sees the count the one before left.
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let row = sqlx::query("SELECT failures, last_attempt_at FROM login_throttle WHERE key = ?1")
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
    let record = row.as_ref().map(record_from_row).transpose()?;
    let admission = policy.admit(record.as_ref(), now);
    if let Admission::Admitted { failures } = admission {
        sqlx::query(
            "INSERT INTO login_throttle (key, failures, last_attempt_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_attempt_at = excluded.last_attempt_at",
        )
        .bind(key)
        .bind(i64::from(failures))
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(admission)
}

pub(super) async fn clear(pool: &SqlitePool, key: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = ?1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn prune(pool: &SqlitePool, before: DateTime<Utc>) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM login_throttle WHERE last_attempt_at < ?1")
        .bind(micros(before))
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn get(pool: &SqlitePool, key: &str) -> StoreResult<Option<AttemptRecord>> {
    let row = sqlx::query("SELECT failures, last_attempt_at FROM login_throttle WHERE key = ?1")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(record_from_row).transpose()
}

fn record_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<AttemptRecord> {
    let failures: i64 = row.try_get("failures")?;
    Ok(AttemptRecord {
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        last_at: time_col(row, "last_attempt_at")?,
    })
}
