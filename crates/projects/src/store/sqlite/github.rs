//! The GitHub integration on SQLite: `github_integrations` (sealed secrets) and `webhook_deliveries` (recent delivery
//! claims); see `migrations/sqlite/0002_github_integration.sql` and `0003_webhook_delivery_claims.sql`. The trait methods in `sqlite.rs` delegate here.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use devopstrack_platform::sqlite::{micros, time_col};

use super::SqliteStore;
use crate::domain::{DeliveryOutcome, GithubIntegrationRecord};
use crate::store::StoreResult;

impl SqliteStore {
    pub(super) async fn upsert_github_integration(&self, integration: &GithubIntegrationRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO github_integrations (project_id, sealed_secret, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (project_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, \
             updated_at = excluded.updated_at",
        )
        .bind(integration.project_id.to_string())
        .bind(integration.sealed_secret.as_slice())
        .bind(micros(integration.updated_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn find_github_integration(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Option<GithubIntegrationRecord>> {
        let row = sqlx::query("SELECT sealed_secret, updated_at FROM github_integrations WHERE project_id = ?1")
            .bind(project_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| -> StoreResult<_> {
            Ok(GithubIntegrationRecord {
                project_id,
                sealed_secret: row.try_get("sealed_secret")?,
                updated_at: time_col(&row, "updated_at")?,
            })
        })
        .transpose()
    }

    /// One statement, so it is atomic on the single writer: insert, or take over an unfinished claim older than
    /// `stale_before` (the `DO UPDATE … WHERE` changes no row for a finished or a fresh claim).
    pub(super) async fn claim_webhook_delivery(
        &self,
        project_id: Uuid,
        delivery_id: &str,
        received_at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (project_id, delivery_id, received_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (project_id, delivery_id) DO UPDATE SET received_at = excluded.received_at \
             WHERE webhook_deliveries.completed_at IS NULL AND webhook_deliveries.received_at < ?4",
        )
        .bind(project_id.to_string())
        .bind(delivery_id)
        .bind(micros(received_at))
        .bind(micros(stale_before))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn end_webhook_delivery_claim(
        &self,
        project_id: Uuid,
        delivery_id: &str,
        outcome: DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let query = match outcome {
            DeliveryOutcome::Processed => sqlx::query(
                "UPDATE webhook_deliveries SET completed_at = ?3 \
                 WHERE project_id = ?1 AND delivery_id = ?2 AND completed_at IS NULL",
            )
            .bind(project_id.to_string())
            .bind(delivery_id)
            .bind(micros(at)),
            DeliveryOutcome::Failed => sqlx::query(
                "DELETE FROM webhook_deliveries WHERE project_id = ?1 AND delivery_id = ?2 AND completed_at IS NULL",
            )
            .bind(project_id.to_string())
            .bind(delivery_id),
        };
        Ok(query.execute(&self.pool).await?.rows_affected() > 0)
    }

    pub(super) async fn delete_webhook_deliveries_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM webhook_deliveries WHERE received_at < ?1")
            .bind(micros(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
