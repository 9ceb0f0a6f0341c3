//! The GitHub integration on MongoDB: collection `github_integrations` (`_id` = project id; the sealed secret as BSON
//! binary, never the plaintext) and `webhook_deliveries` (`_id` = `<project id>/<delivery id>`, so the unique `_id`
//! makes claiming atomic; `completed_at_us` null or missing while the claim is unfinished: ids recorded before claims
//! had an end count as unfinished, so a redelivery after the claim TTL is processed again — harmless, every effect is
//! idempotent). Pruning deletes by `received_at_us` (indexed); no TTL index, because the wire-compatible
//! servers used in tests were not checked for one. The trait methods in `mongo.rs` delegate here.

use chrono::{DateTime, Utc};
use mongodb::IndexModel;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, doc};
use uuid::Uuid;

use super::{MongoStore, corrupt, date, is_duplicate_key, time};
use crate::domain::{DeliveryOutcome, GithubIntegrationRecord};
use crate::store::StoreResult;

impl MongoStore {
    pub(super) async fn create_github_indexes(&self) -> StoreResult<()> {
        for key in ["received_at_us", "project_id"] {
            self.webhook_deliveries
                .create_index(IndexModel::builder().keys(doc! { key: 1 }).build())
                .await?;
        }
        Ok(())
    }

    pub(super) async fn upsert_github_integration(&self, integration: &GithubIntegrationRecord) -> StoreResult<()> {
        let id = integration.project_id.to_string();
        let document = doc! {
            "_id": &id,
            "sealed_secret": Binary { subtype: BinarySubtype::Generic, bytes: integration.sealed_secret.clone() },
            "updated_at": date(integration.updated_at),
            "updated_at_us": integration.updated_at.timestamp_micros(),
        };
        self.github_integrations
            .replace_one(doc! { "_id": &id }, document)
            .upsert(true)
            .await?;
        Ok(())
    }

    pub(super) async fn find_github_integration(
        &self,
        project_id: Uuid,
    ) -> StoreResult<Option<GithubIntegrationRecord>> {
        let Some(found) = self
            .github_integrations
            .find_one(doc! { "_id": project_id.to_string() })
            .await?
        else {
            return Ok(None);
        };
        let sealed_secret = match found.get("sealed_secret") {
            Some(Bson::Binary(binary)) => binary.bytes.clone(),
            _ => return Err(corrupt("sealed_secret", "not binary")),
        };
        Ok(Some(GithubIntegrationRecord {
            project_id,
            sealed_secret,
            updated_at: time(&found, "updated_at_us")?,
        }))
    }

    /// An upsert whose filter matches only an unfinished claim older than `stale_before`: a new id is inserted, a
    /// stale claim is taken over, and any other existing document makes the upsert's insert collide on `_id`
    /// (duplicate key: not claimed). Atomic on the unique `_id`.
    pub(super) async fn claim_webhook_delivery(
        &self,
        project_id: Uuid,
        delivery_id: &str,
        received_at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let project_id = project_id.to_string();
        let filter = doc! {
            "_id": format!("{project_id}/{delivery_id}"),
            "completed_at_us": Bson::Null,
            "received_at_us": { "$lt": stale_before.timestamp_micros() },
        };
        let update = doc! {
            "$set": { "received_at": date(received_at), "received_at_us": received_at.timestamp_micros() },
            "$setOnInsert": { "project_id": &project_id, "delivery_id": delivery_id },
        };
        match self.webhook_deliveries.update_one(filter, update).upsert(true).await {
            Ok(done) => Ok(done.modified_count > 0 || done.upserted_id.is_some()),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn end_webhook_delivery_claim(
        &self,
        project_id: Uuid,
        delivery_id: &str,
        outcome: DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let filter = doc! { "_id": format!("{project_id}/{delivery_id}"), "completed_at_us": Bson::Null };
        let changed = match outcome {
            DeliveryOutcome::Processed => {
                self.webhook_deliveries
                    .update_one(filter, doc! { "$set": { "completed_at_us": at.timestamp_micros() } })
                    .await?
                    .modified_count
            }
            DeliveryOutcome::Failed => self.webhook_deliveries.delete_one(filter).await?.deleted_count,
        };
        Ok(changed > 0)
    }

    pub(super) async fn delete_webhook_deliveries_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let deleted = self
            .webhook_deliveries
            .delete_many(doc! { "received_at_us": { "$lt": before.timestamp_micros() } })
            .await?;
        Ok(deleted.deleted_count)
    }

    /// Part of `delete_project`: the integration and the delivery ids go before the project itself.
    pub(super) async fn delete_github_data(&self, project_id: &str) -> StoreResult<()> {
        self.webhook_deliveries
            .delete_many(doc! { "project_id": project_id })
            .await?;
        self.github_integrations.delete_one(doc! { "_id": project_id }).await?;
        Ok(())
    }
}
