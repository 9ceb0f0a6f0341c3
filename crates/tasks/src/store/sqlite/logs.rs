//! Job logs: one row per line keyed by `(job, attempt, offset)`, plus the attempt's total in `log_totals`. An append
//! is one transaction: insert what is new, raise the total, delete what fell out of the last [`MAX_LOG_LINES`].

use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use super::{SqliteStore, corrupt, u64_col};
use crate::domain::JobId;
use crate::store::{LogPage, MAX_LOG_LINES, StoreResult};

pub(super) async fn append(
    store: &SqliteStore,
    job: JobId,
    attempt: u32,
    offset: u64,
    lines: &[String],
) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let first = i64::try_from(offset).map_err(|_| corrupt(format!("log offset {offset} is out of range")))?;
    let end = i64::try_from(lines.len())
        .ok()
        .and_then(|n| first.checked_add(n))
        .ok_or_else(|| corrupt(format!("log offset {offset} + {} lines is out of range", lines.len())))?;
    // One statement for the whole batch: the lines travel as one JSON array, numbered by json_each's index.
    let batch = serde_json::to_string(lines).map_err(|e| corrupt(format!("log lines: cannot encode: {e}")))?;
    let job = job.to_string();
    let attempt = i64::from(attempt);
    let keep = i64::try_from(MAX_LOG_LINES).unwrap_or(i64::MAX);

    let mut tx = store.begin_write().await?;
    let total: i64 = sqlx::query_scalar(
        "INSERT INTO log_totals (job, attempt, total) VALUES (?1, ?2, ?3) \
         ON CONFLICT (job, attempt) DO UPDATE SET total = max(total, excluded.total) RETURNING total",
    )
    .bind(&job)
    .bind(attempt)
    .bind(end)
    .fetch_one(&mut *tx)
    .await?;
    let kept_from = total.saturating_sub(keep);
    // OR IGNORE: offsets already stored keep their line (a retried append changes nothing).
    sqlx::query(
        "INSERT OR IGNORE INTO log_lines (job, attempt, line_offset, line) \
         SELECT ?1, ?2, ?3 + key, value FROM json_each(?4) WHERE ?3 + key >= ?5",
    )
    .bind(&job)
    .bind(attempt)
    .bind(first)
    .bind(&batch)
    .bind(kept_from)
    .execute(&mut *tx)
    .await?;
    if kept_from > 0 {
        sqlx::query("DELETE FROM log_lines WHERE job = ?1 AND attempt = ?2 AND line_offset < ?3")
            .bind(&job)
            .bind(attempt)
            .bind(kept_from)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Reads in one snapshot, so `total` and the lines agree. The page stops at a gap in the offsets (only a writer that
/// skipped offsets makes one), so `lines[i]` is always line `first_offset + i`.
pub(super) async fn read(pool: &SqlitePool, job: JobId, attempt: u32, offset: u64, limit: u32) -> StoreResult<LogPage> {
    let job = job.to_string();
    let attempt = i64::from(attempt);
    let mut tx = pool.begin().await?;
    let total = sqlx::query("SELECT total FROM log_totals WHERE job = ?1 AND attempt = ?2")
        .bind(&job)
        .bind(attempt)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| u64_col(&row, "total"))
        .transpose()?
        .unwrap_or(0);
    let mut page = LogPage {
        first_offset: offset,
        lines: Vec::new(),
        total,
    };
    // Past i64::MAX nothing is stored.
    let (Ok(from), true) = (i64::try_from(offset), limit > 0) else {
        tx.rollback().await?;
        return Ok(page);
    };
    let rows = sqlx::query(
        "SELECT line_offset, line FROM log_lines WHERE job = ?1 AND attempt = ?2 AND line_offset >= ?3 \
         ORDER BY line_offset LIMIT ?4",
    )
    .bind(&job)
    .bind(attempt)
    .bind(from)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    tx.rollback().await?;
    for row in &rows {
        let at = u64_col(row, "line_offset")?;
        if page.lines.is_empty() {
            page.first_offset = at;
        } else if at != page.first_offset + page.lines.len() as u64 {
            break;
        }
        page.lines.push(row.try_get("line")?);
    }
    Ok(page)
}
