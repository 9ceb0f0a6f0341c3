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

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::store::ProjectStore;

    /// Ids recorded under the old rule (recorded = processed) stay duplicates after `0003` adds claims: they come out
    /// completed, not as unfinished claims a redelivery could take over.
    #[tokio::test]
    async fn ids_recorded_before_claims_had_an_end_stay_duplicates_after_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/projects.db", dir.path().display());
        let old = dir.path().join("migrations-before-0003");
        std::fs::create_dir(&old).unwrap();
        for file in ["0001_init.sql", "0002_github_integration.sql"] {
            let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations/sqlite")
                .join(file);
            std::fs::copy(from, old.join(file)).unwrap();
        }
        let project = Uuid::new_v4();
        let recorded_at = Utc::now() - TimeDelta::hours(1);
        {
            let pool = devopstrack_platform::sqlite::open_pool(&url).await.unwrap();
            sqlx::migrate::Migrator::new(old.as_path())
                .await
                .unwrap()
                .run(&pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO webhook_deliveries (project_id, delivery_id, received_at) VALUES (?1, 'd', ?2)")
                .bind(project.to_string())
                .bind(micros(recorded_at))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }

        let store = SqliteStore::connect(&url).await.unwrap();
        let now = Utc::now();
        let claimed = store.record_webhook_delivery(project, "d", now, now).await.unwrap();
        let finished = store
            .finish_webhook_delivery(project, "d", DeliveryOutcome::Failed, now)
            .await
            .unwrap();

        assert!(
            !claimed,
            "an id processed before the upgrade is a duplicate, however old its claim"
        );
        assert!(!finished, "and it is not an unfinished claim");
    }
}
