//! The job queue and stop flags. A queue entry is one row; a lease is `leased_by` + `lease_until` on it, and
//! `deliveries` counts the leases handed out, so the holder of an older delivery can neither renew nor release a
//! newer one. An entry id that does not parse was never issued by this store and is treated as one that is gone.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

use devopstrack_platform::sqlite::{micros, time_col};

use super::rows::Statements;
use super::{
    SqliteStore, Tx, deadline_after, duration_micros, job_id_col, pause, pipeline_id_col, u32_col, with_limit,
};
use crate::domain::JobId;
use crate::domain::spec::MAX_TIMEOUT_S;
use crate::store::{Delivery, QueueDepth, QueuedJob, StoreResult};

/// A stop flag outlives any attempt it can concern: no attempt runs longer than the longest timeout.
pub(super) const STOP_FLAG_KEPT: Duration = Duration::from_secs(2 * MAX_TIMEOUT_S as u64);

pub(super) async fn enqueue(
    statements: &mut Statements,
    tx: &mut Tx,
    jobs: &[QueuedJob],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    statements
        .insert(
            tx,
            "INSERT INTO queue (pipeline, job, attempt, available_at)",
            4,
            jobs,
            |mut row, job| {
                row.push_bind(job.pipeline.to_string())
                    .push_bind(job.job.to_string())
                    .push_bind(i64::from(job.attempt))
                    .push_bind(micros(job.not_before.unwrap_or(now)));
            },
        )
        .await
}

pub(super) async fn lease(
    store: &SqliteStore,
    worker: &str,
    max: usize,
    lease: Duration,
    wait: Duration,
) -> StoreResult<Vec<Delivery>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let deadline = deadline_after(wait);
    loop {
        // Registered before looking, so an enqueue between the look and the sleep still wakes this call.
        let signal = store.queue_changed.notified();
        tokio::pin!(signal);
        signal.as_mut().enable();
        match lease_ready(store, worker, max, lease).await? {
            Leased::Some(deliveries) if deliveries.is_empty() => continue,
            Leased::Some(deliveries) => return Ok(deliveries),
            Leased::None { next } => {
                if !pause(signal, deadline, next).await {
                    return Ok(Vec::new());
                }
            }
        }
    }
}

enum Leased {
    /// Empty only when every picked entry was corrupt (and dropped): look again at once.
    Some(Vec<Delivery>),
    /// Nothing is leaseable now; `next` (unix µs) is when the earliest delayed entry or lease comes due.
    None { next: Option<i64> },
}

/// One look: leases up to `max` leaseable entries, lapsed leases first, each group in enqueue order, in one
/// statement (atomic on its own, and one round trip to the writer that every write of the process waits for).
async fn lease_ready(store: &SqliteStore, worker: &str, max: usize, lease: Duration) -> StoreResult<Leased> {
    let now = micros(Utc::now());
    let until = now.saturating_add(duration_micros(lease));
    let rows = sqlx::query(with_limit(
        "UPDATE queue SET leased_by = ?1, lease_until = ?2, deliveries = deliveries + 1 \
         WHERE id IN (SELECT id FROM queue WHERE available_at <= ?3 AND (leased_by IS NULL OR lease_until <= ?3) \
                      ORDER BY leased_by IS NULL, id LIMIT",
        u64::try_from(max).unwrap_or(u64::MAX),
        ") RETURNING id, pipeline, job, attempt, deliveries, available_at",
    ))
    .bind(worker)
    .bind(until)
    .bind(now)
    .fetch_all(&store.writer)
    .await?;
    if rows.is_empty() {
        let row = sqlx::query(
            "SELECT (SELECT min(available_at) FROM queue WHERE leased_by IS NULL) AS available, \
                    (SELECT min(lease_until) FROM queue WHERE leased_by IS NOT NULL) AS lapses",
        )
        .fetch_one(&store.pool)
        .await?;
        let available: Option<i64> = row.try_get("available")?;
        let lapses: Option<i64> = row.try_get("lapses")?;
        return Ok(Leased::None {
            next: available.into_iter().chain(lapses).min(),
        });
    }
    let mut deliveries = Vec::with_capacity(rows.len());
    let mut corrupt = Vec::new();
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        match delivery_from_row(id, row) {
            Ok(delivery) => deliveries.push((id, delivery)),
            Err(e) => {
                // Left in place it would come first on every lease and stall every worker. Only a hand edit makes
                // one: everything this store writes is typed.
                tracing::error!(entry = id, error = %e, "dropping a corrupt queue entry");
                corrupt.push(id);
            }
        }
    }
    if !corrupt.is_empty() {
        let mut tx = store.begin_write().await?;
        let mut statements = Statements::new();
        statements
            .delete_in(&mut tx, "DELETE FROM queue WHERE id", &corrupt)
            .await?;
        statements.send(&mut tx).await?;
        tx.commit().await?;
    }
    // RETURNING follows no particular order: enqueue order it is.
    deliveries.sort_unstable_by_key(|(id, _)| *id);
    Ok(Leased::Some(deliveries.into_iter().map(|(_, d)| d).collect()))
}

fn delivery_from_row(id: i64, row: &SqliteRow) -> StoreResult<Delivery> {
    Ok(Delivery {
        entry: id.to_string(),
        pipeline: pipeline_id_col(row, "pipeline")?,
        job: job_id_col(row, "job")?,
        attempt: u32_col(row, "attempt")?,
        deliveries: u32_col(row, "deliveries")?,
        queued_at: Some(time_col(row, "available_at")?),
    })
}

pub(super) async fn renew(pool: &SqlitePool, worker: &str, delivery: &Delivery, lease: Duration) -> StoreResult<bool> {
    let Ok(id) = delivery.entry.parse::<i64>() else {
        return Ok(false);
    };
    let until = micros(Utc::now()).saturating_add(duration_micros(lease));
    let renewed = sqlx::query("UPDATE queue SET lease_until = ?1 WHERE id = ?2 AND leased_by = ?3 AND deliveries = ?4")
        .bind(until)
        .bind(id)
        .bind(worker)
        .bind(i64::from(delivery.deliveries))
        .execute(pool)
        .await?;
    Ok(renewed.rows_affected() > 0)
}

pub(super) async fn ack(pool: &SqlitePool, delivery: &Delivery) -> StoreResult<()> {
    let Ok(id) = delivery.entry.parse::<i64>() else {
        return Ok(());
    };
    sqlx::query("DELETE FROM queue WHERE id = ?1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// [`ack`] of every delivery inside a pipeline write's transaction.
pub(super) async fn ack_in(statements: &mut Statements, tx: &mut Tx, deliveries: &[Delivery]) -> StoreResult<()> {
    let ids: Vec<i64> = deliveries.iter().filter_map(|d| d.entry.parse().ok()).collect();
    statements.delete_in(tx, "DELETE FROM queue WHERE id", &ids).await
}

/// Unleases the entry if `worker` still holds this delivery; its `available_at` is already past, so it is leaseable
/// at once. `true` when it was handed back (the caller wakes waiting leases).
pub(super) async fn release(pool: &SqlitePool, worker: &str, delivery: &Delivery) -> StoreResult<bool> {
    let Ok(id) = delivery.entry.parse::<i64>() else {
        return Ok(false);
    };
    let released = sqlx::query(
        "UPDATE queue SET leased_by = NULL, lease_until = NULL WHERE id = ?1 AND leased_by = ?2 AND deliveries = ?3",
    )
    .bind(id)
    .bind(worker)
    .bind(i64::from(delivery.deliveries))
    .execute(pool)
    .await?;
    Ok(released.rows_affected() > 0)
}

pub(super) async fn depth(pool: &SqlitePool) -> StoreResult<QueueDepth> {
    let row = sqlx::query(
        "SELECT coalesce(sum(leased_by IS NULL AND available_at <= ?1), 0) AS ready, \
                coalesce(sum(leased_by IS NULL AND available_at > ?1), 0) AS delayed, \
                coalesce(sum(leased_by IS NOT NULL), 0) AS leased \
         FROM queue",
    )
    .bind(micros(Utc::now()))
    .fetch_one(pool)
    .await?;
    let count = |column: &str| -> StoreResult<u64> {
        let n: i64 = row.try_get(column)?;
        Ok(u64::try_from(n).unwrap_or_default())
    };
    Ok(QueueDepth {
        ready: count("ready")?,
        delayed: count("delayed")?,
        leased: count("leased")?,
    })
}

pub(super) async fn request_stop(
    statements: &mut Statements,
    tx: &mut Tx,
    stop: &[(JobId, u32)],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    statements
        .insert(
            tx,
            "INSERT OR IGNORE INTO stop_flags (job, attempt, requested_at)",
            3,
            stop,
            |mut row, (job, attempt)| {
                row.push_bind(job.to_string())
                    .push_bind(i64::from(*attempt))
                    .push_bind(micros(now));
            },
        )
        .await
}

pub(super) async fn stop_requested(pool: &SqlitePool, job: JobId, attempt: u32) -> StoreResult<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM stop_flags WHERE job = ?1 AND attempt = ?2")
        .bind(job.to_string())
        .bind(i64::from(attempt))
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

/// Forgets stop flags no running attempt can still be asked about.
pub(super) async fn prune_stop_flags(pool: &SqlitePool) -> StoreResult<()> {
    let horizon = micros(Utc::now()).saturating_sub(duration_micros(STOP_FLAG_KEPT));
    sqlx::query("DELETE FROM stop_flags WHERE requested_at < ?1")
        .bind(horizon)
        .execute(pool)
        .await?;
    Ok(())
}
