//! The event stream: an AUTOINCREMENT table whose row id, as a decimal string, is the event id. AUTOINCREMENT never
//! hands out an id twice, even once every event was trimmed, so ids only grow and "after id" is exact.

use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

use super::rows::Statements;
use super::{SqliteStore, Tx, deadline_after, pause, pipeline_id_col, with_limit};
use crate::store::{MAX_EVENTS, NewEvent, StoreError, StoreResult, StoredEvent};

/// Appends `events` in order inside `tx`.
pub(super) async fn insert(statements: &mut Statements, tx: &mut Tx, events: &[NewEvent]) -> StoreResult<()> {
    statements
        .insert(
            tx,
            "INSERT INTO events (project, pipeline, payload)",
            3,
            events,
            |mut row, event| {
                row.push_bind(event.project.clone())
                    .push_bind(event.pipeline.to_string())
                    .push_bind(event.payload.clone());
            },
        )
        .await
}

pub(super) async fn append(store: &SqliteStore, events: &[NewEvent]) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin_write().await?;
    let mut statements = Statements::new();
    insert(&mut statements, &mut tx, events).await?;
    statements.send(&mut tx).await?;
    tx.commit().await?;
    store.committed(false, events.len()).await;
    Ok(())
}

pub(super) async fn read(
    store: &SqliteStore,
    after: Option<&str>,
    limit: usize,
    wait: Duration,
) -> StoreResult<Vec<StoredEvent>> {
    let after = match after {
        Some(id) => parse_id(&store.pool, id).await?,
        None => 0,
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    let deadline = deadline_after(wait);
    loop {
        // Registered before looking, so an append between the look and the sleep still wakes this call.
        let signal = store.events_appended.notified();
        tokio::pin!(signal);
        signal.as_mut().enable();
        let sql = "SELECT id, project, pipeline, payload FROM events WHERE id > ?1 ORDER BY id LIMIT";
        let rows = sqlx::query(with_limit(sql, limit, ""))
            .bind(after)
            .fetch_all(&store.pool)
            .await?;
        if !rows.is_empty() {
            return rows.iter().map(event_from_row).collect();
        }
        if !pause(signal, deadline, None).await {
            return Ok(Vec::new());
        }
    }
}

/// An id this store issued: a decimal row id no greater than the last one handed out (trimmed ones included).
async fn parse_id(pool: &SqlitePool, id: &str) -> StoreResult<i64> {
    let bad = || StoreError::BadEventId(id.to_owned());
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let parsed: i64 = id.parse().map_err(|_| bad())?;
    let issued: Option<i64> = sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        .fetch_optional(pool)
        .await?;
    if parsed > issued.unwrap_or(0) {
        return Err(bad());
    }
    Ok(parsed)
}

fn event_from_row(row: &SqliteRow) -> StoreResult<StoredEvent> {
    let id: i64 = row.try_get("id")?;
    Ok(StoredEvent {
        id: id.to_string(),
        project: row.try_get("project")?,
        pipeline: pipeline_id_col(row, "pipeline")?,
        payload: row.try_get("payload")?,
    })
}

pub(super) async fn last_id(pool: &SqlitePool) -> StoreResult<Option<String>> {
    let last: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM events").fetch_one(pool).await?;
    Ok(last.map(|id| id.to_string()))
}

/// Keeps the newest [`MAX_EVENTS`] ids' worth of events.
pub(super) async fn trim(pool: &SqlitePool) -> StoreResult<()> {
    sqlx::query("DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?1")
        .bind(i64::try_from(MAX_EVENTS).unwrap_or(i64::MAX))
        .execute(pool)
        .await?;
    Ok(())
}
