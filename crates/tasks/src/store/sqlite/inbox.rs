//! The webhook inbox on SQLite (schema: `migrations/sqlite/0004_webhook_inbox.sql`). Every write is one `BEGIN
//! IMMEDIATE` transaction on the writer connection: the id and the delivery go in together, and a completed delivery
//! is deleted in the transaction that puts its effects in the outboxes.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use devopstrack_platform::sqlite::{micros, time_col};

use super::rows::Statements;
use super::{SqliteStore, corrupt, outbox, u32_col, with_limit};
use crate::store::StoreResult;
use crate::store::inbox::{DEDUP_WINDOW, InboxDelivery, InboxEffects, InboxState, InboxStore, NewDelivery, Received};

/// The columns [`delivery_from_row`] reads (a macro: sqlx takes only `'static` SQL).
macro_rules! columns {
    () => {
        "id, project_id, project_slug, delivery_id, event, body, state, attempts, last_error, received_at, due_at"
    };
}

#[async_trait]
impl InboxStore for SqliteStore {
    async fn receive(&self, delivery: &NewDelivery, now: DateTime<Utc>) -> StoreResult<Received> {
        let mut tx = self.begin_write().await?;
        // An id older than the window is forgotten here, whether or not the pruning got to it.
        sqlx::query("DELETE FROM webhook_delivery_ids WHERE project_id = ?1 AND delivery_id = ?2 AND received_at < ?3")
            .bind(&delivery.project_id)
            .bind(&delivery.delivery_id)
            .bind(micros(now - DEDUP_WINDOW))
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO webhook_delivery_ids (project_id, delivery_id, received_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&delivery.project_id)
        .bind(&delivery.delivery_id)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(Received::Duplicate);
        }
        if let Some(body) = &delivery.body {
            sqlx::query(
                "INSERT INTO webhook_inbox (id, project_id, project_slug, delivery_id, event, body, state, attempts, \
                 received_at, due_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7)",
            )
            .bind(delivery.id.to_string())
            .bind(&delivery.project_id)
            .bind(&delivery.project_slug)
            .bind(&delivery.delivery_id)
            .bind(&delivery.event)
            .bind(body)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Received::Recorded)
    }

    async fn take_due(&self, now: DateTime<Utc>, lease: TimeDelta, limit: u32) -> StoreResult<Vec<InboxDelivery>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM webhook_inbox WHERE state = 'pending' AND due_at <= ?1 ORDER BY due_at, id LIMIT"
        );
        let rows = sqlx::query(with_limit(sql, u64::from(limit), ""))
            .bind(micros(now))
            .fetch_all(&mut *tx)
            .await?;
        let taken: Vec<InboxDelivery> = rows.iter().map(delivery_from_row).collect::<StoreResult<_>>()?;
        let until = micros(now + lease);
        for delivery in &taken {
            sqlx::query("UPDATE webhook_inbox SET due_at = ?1 WHERE id = ?2")
                .bind(until)
                .bind(delivery.id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(taken)
    }

    async fn complete(&self, id: Uuid, effects: &InboxEffects) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM webhook_inbox WHERE id = ?1 AND state = 'pending'")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let mut statements = Statements::new();
        for entry in &effects.outbox {
            outbox::put(&mut statements, &mut tx, entry).await?;
        }
        outbox::put_metrics(&mut statements, &mut tx, &effects.metrics).await?;
        statements.send(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn retry(&self, id: Uuid, error: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE webhook_inbox SET attempts = attempts + 1, last_error = ?1, due_at = ?2 \
             WHERE id = ?3 AND state = 'pending'",
        )
        .bind(error)
        .bind(micros(at))
        .bind(id.to_string())
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    async fn park(&self, id: Uuid, error: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE webhook_inbox SET attempts = attempts + 1, last_error = ?1, due_at = ?2, state = 'parked' \
             WHERE id = ?3 AND state = 'pending'",
        )
        .bind(error)
        .bind(micros(now))
        .bind(id.to_string())
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    async fn replay(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<InboxDelivery>> {
        let row = sqlx::query(concat!(
            "UPDATE webhook_inbox SET state = 'pending', attempts = 0, due_at = ?1 WHERE id = ?2 AND state = 'parked' \
             RETURNING ",
            columns!()
        ))
        .bind(micros(now))
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    async fn list(&self, state: InboxState, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<InboxDelivery>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM webhook_inbox WHERE state = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
        ))
        .bind(state.as_str())
        .bind(after.map(|id| id.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    async fn count(&self, state: InboxState) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_inbox WHERE state = ?1")
            .bind(state.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn prune_ids(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM webhook_delivery_ids WHERE received_at < ?1")
            .bind(micros(before))
            .execute(&self.writer)
            .await?
            .rows_affected())
    }
}

fn delivery_from_row(row: &SqliteRow) -> StoreResult<InboxDelivery> {
    let id: String = row.try_get("id")?;
    let state: String = row.try_get("state")?;
    Ok(InboxDelivery {
        id: Uuid::parse_str(&id).map_err(|_| corrupt(format!("webhook_inbox id {id:?}")))?,
        project_id: row.try_get("project_id")?,
        project_slug: row.try_get("project_slug")?,
        delivery_id: row.try_get("delivery_id")?,
        event: row.try_get("event")?,
        body: row.try_get("body")?,
        state: InboxState::parse(&state).ok_or_else(|| corrupt(format!("webhook_inbox {id}: state {state:?}")))?,
        attempts: u32_col(row, "attempts")?,
        last_error: row.try_get("last_error")?,
        received_at: time_col(row, "received_at")?,
        due_at: time_col(row, "due_at")?,
    })
}
