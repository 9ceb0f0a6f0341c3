//! The GitHub integration on SQLite: `github_integrations` (sealed secrets) and `webhook_deliveries` (recent delivery
//! ids); see `migrations/sqlite/0002_github_integration.sql`. The trait methods in `sqlite.rs` delegate here.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use devopstrack_platform::sqlite::{micros, time_col};

use super::SqliteStore;
use crate::domain::GithubIntegrationRecord;
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

    pub(super) async fn insert_webhook_delivery(
        &self,
        project_id: Uuid,
        delivery_id: &str,
        received_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (project_id, delivery_id, received_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (project_id, delivery_id) DO NOTHING",
        )
        .bind(project_id.to_string())
        .bind(delivery_id)
        .bind(micros(received_at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn delete_webhook_deliveries_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM webhook_deliveries WHERE received_at < ?1")
            .bind(micros(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
