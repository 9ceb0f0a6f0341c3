//! The GitHub integration on SQLite: `github_integrations` (sealed secrets) and `webhook_deliveries` (recent delivery
//! claims, each unfinished one with the event and payload it keeps); see `migrations/sqlite/`
//! `0002_github_integration.sql`, `0003_webhook_delivery_claims.sql` and `0004_webhook_delivery_payloads.sql`. The
//! trait methods in `sqlite.rs` delegate here.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use devopstrack_platform::sqlite::{micros, time_col, uuid_col};

use super::{BEGIN_WRITE, SqliteStore};
use crate::domain::{DeliveryOutcome, GithubEvent, GithubIntegrationRecord, KeptDelivery, StaleDelivery};
use crate::store::{StoreError, StoreResult};

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
    /// `stale_before` (the `DO UPDATE … WHERE` changes no row for a finished or a fresh claim). A takeover keeps the
    /// new event and payload (or none), never the old ones.
    pub(super) async fn claim_webhook_delivery(
        &self,
        project_id: Uuid,
        delivery_id: &str,
        received_at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        kept: Option<KeptDelivery<'_>>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (project_id, delivery_id, received_at, event, payload) \
             VALUES (?1, ?2, ?3, ?5, ?6) \
             ON CONFLICT (project_id, delivery_id) DO UPDATE SET received_at = excluded.received_at, \
             event = excluded.event, payload = excluded.payload, takeovers = 0 \
             WHERE webhook_deliveries.completed_at IS NULL AND webhook_deliveries.received_at < ?4",
        )
        .bind(project_id.to_string())
        .bind(delivery_id)
        .bind(micros(received_at))
        .bind(micros(stale_before))
        .bind(kept.map(|k| k.event.as_str()))
        .bind(kept.map(|k| k.payload))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// One write transaction (`BEGIN IMMEDIATE`: the single writer), so no other caller sees a claim between our
    /// read and our takeover. The candidates are read without their payloads (only their sizes), so the byte cap
    /// is applied before any payload is loaded.
    pub(super) async fn take_over_stale_webhook_deliveries(
        &self,
        stale_before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
        max_bytes: usize,
        max_takeovers: u32,
    ) -> StoreResult<Vec<StaleDelivery>> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let candidates = sqlx::query(
            "SELECT project_id, delivery_id, length(payload) AS size FROM webhook_deliveries \
             WHERE completed_at IS NULL AND payload IS NOT NULL AND received_at < ?1 AND takeovers < ?3 \
             ORDER BY received_at, project_id, delivery_id LIMIT ?2",
        )
        .bind(micros(stale_before))
        .bind(i64::from(limit))
        .bind(i64::from(max_takeovers))
        .fetch_all(&mut *tx)
        .await?;
        let mut taken = Vec::with_capacity(candidates.len());
        let mut total = 0usize;
        for candidate in &candidates {
            let size = usize::try_from(candidate.try_get::<i64, _>("size")?).unwrap_or(usize::MAX);
            if !taken.is_empty() && total.saturating_add(size) > max_bytes {
                break;
            }
            let project_id: String = candidate.try_get("project_id")?;
            let delivery_id: String = candidate.try_get("delivery_id")?;
            let row = sqlx::query(
                "UPDATE webhook_deliveries SET received_at = ?3, takeovers = takeovers + 1 \
                 WHERE project_id = ?1 AND delivery_id = ?2 \
                 RETURNING project_id, delivery_id, event, payload",
            )
            .bind(&project_id)
            .bind(&delivery_id)
            .bind(micros(now))
            .fetch_one(&mut *tx)
            .await?;
            taken.push(stale_delivery_from_row(&row)?);
            total = total.saturating_add(size);
        }
        tx.commit().await?;
        Ok(taken)
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
                "UPDATE webhook_deliveries SET completed_at = ?3, event = NULL, payload = NULL \
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

fn stale_delivery_from_row(row: &SqliteRow) -> StoreResult<StaleDelivery> {
    let event: Option<String> = row.try_get("event")?;
    let event = event.ok_or_else(|| StoreError::Corrupt("event: missing next to a kept payload".into()))?;
    Ok(StaleDelivery {
        project_id: uuid_col(row, "project_id")?,
        delivery_id: row.try_get("delivery_id")?,
        event: GithubEvent::parse(&event).map_err(|e| StoreError::Corrupt(format!("event: {event:?} {e}")))?,
        payload: row.try_get("payload")?,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::store::ProjectStore;

    /// A new database at `url` with only the migrations before `first_not_applied`, where delivery `d` of `project`
    /// was recorded at `received_at` as that schema recorded ids (nothing but the id and the time).
    async fn database_before(
        dir: &std::path::Path,
        url: &str,
        first_not_applied: &str,
        project: Uuid,
        received_at: DateTime<Utc>,
    ) {
        let old = dir.join(format!("migrations-before-{first_not_applied}"));
        std::fs::create_dir(&old).unwrap();
        let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for entry in std::fs::read_dir(&all).unwrap() {
            let name = entry.unwrap().file_name();
            if name.to_string_lossy().as_ref() < first_not_applied {
                std::fs::copy(all.join(&name), old.join(&name)).unwrap();
            }
        }
        let pool = devopstrack_platform::sqlite::open_pool(url).await.unwrap();
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO webhook_deliveries (project_id, delivery_id, received_at) VALUES (?1, 'd', ?2)")
            .bind(project.to_string())
            .bind(micros(received_at))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }

    /// A claim left unfinished before `0004` kept no payload: it is never handed out for recovery, and a redelivery
    /// still takes it over once stale, as before.
    #[tokio::test]
    async fn claims_made_before_payloads_were_kept_are_left_to_redeliveries() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/projects.db", dir.path().display());
        let project = Uuid::new_v4();
        let claimed_at = Utc::now() - TimeDelta::hours(1);
        database_before(dir.path(), &url, "0004", project, claimed_at).await;

        let store = SqliteStore::connect(&url).await.unwrap();
        let now = Utc::now();
        let handed_out = store
            .claim_stale_webhook_deliveries(now, now, 10, usize::MAX, 5)
            .await
            .unwrap();
        let redelivered = store
            .record_webhook_delivery(project, "d", now, now - TimeDelta::minutes(15), None)
            .await
            .unwrap();

        assert!(handed_out.is_empty(), "{handed_out:?}");
        assert!(redelivered, "the stale claim is taken over by a redelivery");
    }

    /// Ids recorded under the old rule (recorded = processed) stay duplicates after `0003` adds claims: they come out
    /// completed, not as unfinished claims a redelivery could take over.
    #[tokio::test]
    async fn ids_recorded_before_claims_had_an_end_stay_duplicates_after_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/projects.db", dir.path().display());
        let project = Uuid::new_v4();
        let recorded_at = Utc::now() - TimeDelta::hours(1);
        database_before(dir.path(), &url, "0003", project, recorded_at).await;

        let store = SqliteStore::connect(&url).await.unwrap();
        let now = Utc::now();
        let claimed = store
            .record_webhook_delivery(project, "d", now, now, None)
            .await
            .unwrap();
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
