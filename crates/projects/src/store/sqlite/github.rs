//! The GitHub integration on SQLite: `github_integrations` (sealed secrets, `migrations/sqlite/
//! 0002_github_integration.sql`). The delivery claims of earlier releases are dropped by
//! `0005_drop_webhook_deliveries.sql` (tasks' webhook inbox keeps deliveries now). It implements [`GithubRecords`].

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use devopstrack_platform::sqlite::{micros, time_col};

use super::SqliteStore;
use crate::domain::GithubIntegrationRecord;
use crate::store::{GithubRecords, StoreResult};

#[async_trait]
impl GithubRecords for SqliteStore {
    async fn put_github_integration(&self, integration: &GithubIntegrationRecord) -> StoreResult<()> {
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

    async fn github_integration(&self, project_id: Uuid) -> StoreResult<Option<GithubIntegrationRecord>> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database of the previous release holding an unfinished claim (with its payload) migrates: the claims table
    /// goes, with what it kept; GitHub's redelivery or tasks' inbox is the recovery (see docs-notes/github-intake.md).
    #[tokio::test]
    async fn the_claims_of_an_old_store_are_dropped_by_the_migration() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/projects.db", dir.path().display());
        let old = dir.path().join("migrations-before-0005");
        std::fs::create_dir(&old).unwrap();
        let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for entry in std::fs::read_dir(&all).unwrap() {
            let name = entry.unwrap().file_name();
            if name.to_string_lossy().as_ref() < "0005" {
                std::fs::copy(all.join(&name), old.join(&name)).unwrap();
            }
        }
        let pool = devopstrack_platform::sqlite::open_pool(&url).await.unwrap();
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO webhook_deliveries (project_id, delivery_id, received_at, event, payload) \
             VALUES ('p', 'unfinished', 1, 'push', x'7b7d')",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = SqliteStore::connect(&url)
            .await
            .expect("the migration runs on a store with claims");

        let left: Option<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'webhook_deliveries'")
                .fetch_optional(&store.pool)
                .await
                .unwrap();
        assert_eq!(left, None);
    }
}
