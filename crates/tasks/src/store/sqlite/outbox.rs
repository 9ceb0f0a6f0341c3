//! The outboxes: deployments (one row per pipeline id, due at `due_at`) and metrics events (a log in insertion
//! order, rows deleted once delivered).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

use devopstrack_platform::sqlite::{micros, time_col};

use super::rows::Statements;
use super::{Tx, pipeline_id_col, u32_col, with_limit};
use crate::domain::PipelineId;
use crate::store::{MetricEvent, MetricEventKind, OutboxEntry, PendingMetricEvent, StoreError, StoreResult};

/// Stores `entry`, replacing a pending one with the same id (its attempts and due time included).
pub(super) async fn put(statements: &mut Statements, tx: &mut Tx, entry: &OutboxEntry) -> StoreResult<()> {
    statements
        .one(tx, 4, |query| {
            query
                .push("INSERT INTO outbox (id, payload, attempts, due_at) VALUES (")
                .push_bind(entry.id.to_string())
                .push(", ")
                .push_bind(entry.payload.clone())
                .push(", ")
                .push_bind(i64::from(entry.attempts))
                .push(", ")
                .push_bind(micros(entry.due_at))
                .push(
                    ") ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, attempts = excluded.attempts, \
                     due_at = excluded.due_at",
                );
        })
        .await
}

pub(super) async fn due(pool: &SqlitePool, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
    let sql = "SELECT id, payload, attempts, due_at FROM outbox WHERE due_at <= ?1 ORDER BY due_at, id LIMIT";
    let rows = sqlx::query(with_limit(sql, u64::from(limit), ""))
        .bind(micros(now))
        .fetch_all(pool)
        .await?;
    rows.iter().map(entry_from_row).collect()
}

pub(super) async fn delivered(pool: &SqlitePool, id: PipelineId) -> StoreResult<()> {
    sqlx::query("DELETE FROM outbox WHERE id = ?1")
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

/// Counts a failed delivery; an entry that is gone (delivered meanwhile) stays gone.
pub(super) async fn retry(pool: &SqlitePool, id: PipelineId, at: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE outbox SET attempts = attempts + 1, due_at = ?1 WHERE id = ?2")
        .bind(micros(at))
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

fn entry_from_row(row: &SqliteRow) -> StoreResult<OutboxEntry> {
    Ok(OutboxEntry {
        id: pipeline_id_col(row, "id")?,
        payload: row.try_get("payload")?,
        attempts: u32_col(row, "attempts")?,
        due_at: time_col(row, "due_at")?,
    })
}

/// Appends `events` to the metrics outbox in order inside `tx`.
pub(super) async fn put_metrics(statements: &mut Statements, tx: &mut Tx, events: &[MetricEvent]) -> StoreResult<()> {
    statements
        .insert(
            tx,
            "INSERT INTO metrics_outbox (kind, payload)",
            2,
            events,
            |mut row, event| {
                row.push_bind(event.kind.as_str()).push_bind(event.payload.clone());
            },
        )
        .await
}

pub(super) async fn pending_metric_events(pool: &SqlitePool, limit: usize) -> StoreResult<Vec<PendingMetricEvent>> {
    let sql = "SELECT id, kind, payload FROM metrics_outbox ORDER BY id LIMIT";
    let rows = sqlx::query(with_limit(sql, u64::try_from(limit).unwrap_or(u64::MAX), ""))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            let kind: String = row.try_get("kind")?;
            let kind = MetricEventKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("metrics outbox {id}: kind {kind:?}")))?;
            Ok(PendingMetricEvent {
                id: id.to_string(),
                event: MetricEvent {
                    kind,
                    payload: row.try_get("payload")?,
                },
            })
        })
        .collect()
}

/// Ids that do not parse were never issued here: there is nothing to delete for them.
pub(super) async fn metric_events_delivered(pool: &SqlitePool, ids: &[String]) -> StoreResult<()> {
    let ids: Vec<i64> = ids.iter().filter_map(|id| id.parse().ok()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new("DELETE FROM metrics_outbox WHERE id IN (");
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    query.push(")").build().execute(pool).await?;
    Ok(())
}

pub(super) async fn metric_events_backlog(pool: &SqlitePool) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM metrics_outbox")
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or_default())
}
