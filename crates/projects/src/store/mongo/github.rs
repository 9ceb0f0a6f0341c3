//! The GitHub integration on MongoDB: collection `github_integrations` (`_id` = project id; the sealed secret as BSON
//! binary, never the plaintext). The `webhook_deliveries` collection of earlier releases (delivery claims and the
//! payloads unfinished ones kept) is dropped at start-up: tasks' webhook inbox keeps deliveries now. It implements
//! [`GithubRecords`].

use async_trait::async_trait;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, doc};
use uuid::Uuid;

use super::{MongoStore, corrupt, date, time};
use crate::domain::GithubIntegrationRecord;
use crate::store::{GithubRecords, StoreResult};

impl MongoStore {
    /// Drops `webhook_deliveries`, the delivery claims of earlier releases (with the payloads unfinished ones kept):
    /// tasks' webhook inbox keeps deliveries now. Idempotent: dropping a collection that is gone changes nothing.
    /// Unfinished claims are lost with it; GitHub's redelivery (or, for deliveries tasks received, its inbox's replay)
    /// is the recovery (docs-notes/github-intake.md).
    pub(super) async fn drop_webhook_deliveries(&self) -> StoreResult<()> {
        match self.webhook_deliveries.drop().await {
            Ok(()) => Ok(()),
            // NamespaceNotFound (26): already gone, from servers that report it.
            Err(e) if matches!(*e.kind, mongodb::error::ErrorKind::Command(ref c) if c.code == 26) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Part of `delete_project`: the integration goes before the project itself.
    pub(super) async fn delete_github_data(&self, project_id: &str) -> StoreResult<()> {
        self.github_integrations.delete_one(doc! { "_id": project_id }).await?;
        Ok(())
    }
}

#[async_trait]
impl GithubRecords for MongoStore {
    async fn put_github_integration(&self, integration: &GithubIntegrationRecord) -> StoreResult<()> {
        let id = integration.project_id.to_string();
        let document = doc! {
            "_id": &id,
            "sealed_secret": binary(&integration.sealed_secret),
            "updated_at": date(integration.updated_at),
            "updated_at_us": integration.updated_at.timestamp_micros(),
        };
        self.github_integrations
            .replace_one(doc! { "_id": &id }, document)
            .upsert(true)
            .await?;
        Ok(())
    }

    async fn github_integration(&self, project_id: Uuid) -> StoreResult<Option<GithubIntegrationRecord>> {
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
}

fn binary(bytes: &[u8]) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.to_vec(),
    }
}
