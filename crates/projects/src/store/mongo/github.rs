//! The GitHub integration on MongoDB: collection `github_integrations` (`_id` = project id; the sealed secret as BSON
//! binary, never the plaintext) and `webhook_deliveries` (`_id` = `<project id>/<delivery id>`, so the unique `_id`
//! makes claiming atomic; `completed_at_us` null or missing while the claim is unfinished: ids recorded before claims
//! had an end count as unfinished, so a redelivery after the claim TTL is processed again — harmless, every effect is
//! idempotent). An unfinished claim keeps `event` (string), `payload` (BSON binary) and `payload_bytes` (its length,
//! so the takeover's byte cap needs no payload read), all three absent when nothing is kept. Pruning deletes by
//! `received_at_us` (indexed); no TTL index, because the wire-compatible servers used in tests were not checked for
//! one. The trait methods in `mongo.rs` delegate here.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::IndexModel;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, Document, doc};
use uuid::Uuid;

use super::fields::{int, string, uuid};
use super::{MongoStore, corrupt, date, is_duplicate_key, time};
use crate::domain::{DeliveryOutcome, GithubEvent, GithubIntegrationRecord, KeptDelivery, StaleDelivery};
use crate::store::StoreResult;

impl MongoStore {
    pub(super) async fn create_github_indexes(&self) -> StoreResult<()> {
        for key in ["received_at_us", "project_id"] {
            self.webhook_deliveries
                .create_index(IndexModel::builder().keys(doc! { key: 1 }).build())
                .await?;
        }
        // The takeover's look-up: unfinished claims (`completed_at_us` null) oldest first, without scanning the
        // processed ids kept for the dedup window.
        self.webhook_deliveries
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "completed_at_us": 1, "received_at_us": 1, "_id": 1 })
                    .build(),
            )
            .await?;
        Ok(())
    }

    pub(super) async fn upsert_github_integration(&self, integration: &GithubIntegrationRecord) -> StoreResult<()> {
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
    /// stale claim is taken over (with the new event and payload, or none), and any other existing document makes the
    /// upsert's insert collide on `_id` (duplicate key: not claimed). Atomic on the unique `_id`.
    pub(super) async fn claim_webhook_delivery(
        &self,
        project_id: Uuid,
        delivery_id: &str,
        received_at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        kept: Option<KeptDelivery<'_>>,
    ) -> StoreResult<bool> {
        let project_id = project_id.to_string();
        let filter = doc! {
            "_id": format!("{project_id}/{delivery_id}"),
            "completed_at_us": Bson::Null,
            "received_at_us": { "$lt": stale_before.timestamp_micros() },
        };
        // A delivery's claim starts its takeover count afresh (see `take_over_stale_webhook_deliveries`).
        let mut set = doc! {
            "received_at": date(received_at),
            "received_at_us": received_at.timestamp_micros(),
            "takeovers": 0_i64,
        };
        let mut update = doc! { "$setOnInsert": { "project_id": &project_id, "delivery_id": delivery_id } };
        match kept {
            Some(kept) => {
                set.insert("event", kept.event.as_str());
                set.insert("payload", binary(kept.payload));
                set.insert("payload_bytes", payload_bytes(kept.payload));
            }
            None => {
                update.insert("$unset", unset_kept());
            }
        }
        update.insert("$set", set);
        match self.webhook_deliveries.update_one(filter, update).upsert(true).await {
            Ok(done) => Ok(done.modified_count > 0 || done.upserted_id.is_some()),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// No transactions (see `mongo.rs`), so: find the oldest candidates without their payloads (`payload_bytes`
    /// applies the byte cap), then take each over with a compare-and-set on the `received_at_us` that was read. A
    /// candidate another caller took first (or that was finished meanwhile) no longer matches and is skipped; after a
    /// round with a skip, the next candidates are looked up, so concurrent callers between them still take every
    /// stale claim. Each skip means that claim left the stale set, so the rounds end; [`MAX_TAKEOVER_ROUNDS`] bounds
    /// them all the same.
    pub(super) async fn take_over_stale_webhook_deliveries(
        &self,
        stale_before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
        max_bytes: usize,
        max_takeovers: u32,
    ) -> StoreResult<Vec<StaleDelivery>> {
        // A find's limit of 0 means none at all.
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let stale = doc! {
            "completed_at_us": Bson::Null,
            "payload": { "$exists": true },
            "received_at_us": { "$lt": stale_before.timestamp_micros() },
            // Every claim that keeps a payload was written with `takeovers` (it came with payloads).
            "takeovers": { "$lt": i64::from(max_takeovers) },
        };
        let mut taken = Vec::new();
        let mut total = 0usize;
        for _ in 0..MAX_TAKEOVER_ROUNDS {
            let wanted = limit - taken.len();
            let candidates: Vec<Document> = self
                .webhook_deliveries
                .find(stale.clone())
                .sort(doc! { "received_at_us": 1, "_id": 1 })
                .limit(i64::try_from(wanted).unwrap_or(i64::MAX))
                .projection(doc! { "payload": 0 })
                .await?
                .try_collect()
                .await?;
            let mut skipped = false;
            for candidate in &candidates {
                let size = usize::try_from(int(candidate, "payload_bytes")?).unwrap_or(usize::MAX);
                if !taken.is_empty() && total.saturating_add(size) > max_bytes {
                    return Ok(taken);
                }
                let id = string(candidate, "_id")?;
                let unchanged = doc! {
                    "_id": &id,
                    "completed_at_us": Bson::Null,
                    "received_at_us": int(candidate, "received_at_us")?,
                };
                let take = doc! {
                    "$set": { "received_at": date(now), "received_at_us": now.timestamp_micros() },
                    "$inc": { "takeovers": 1_i64 },
                };
                match self.webhook_deliveries.find_one_and_update(unchanged, take).await? {
                    Some(found) => {
                        taken.push(stale_delivery(&found)?);
                        total = total.saturating_add(size);
                    }
                    None => skipped = true,
                }
            }
            if !skipped || taken.len() >= limit {
                break;
            }
        }
        Ok(taken)
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
                let update = doc! { "$set": { "completed_at_us": at.timestamp_micros() }, "$unset": unset_kept() };
                self.webhook_deliveries.update_one(filter, update).await?.modified_count
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

/// How many find-then-take rounds one takeover call makes at most (each round after the first follows a lost race).
const MAX_TAKEOVER_ROUNDS: usize = 16;

fn binary(bytes: &[u8]) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.to_vec(),
    }
}

fn payload_bytes(payload: &[u8]) -> i64 {
    i64::try_from(payload.len()).unwrap_or(i64::MAX)
}

/// What a claim keeps, removed when it ends processed or is taken over without an event.
fn unset_kept() -> Document {
    doc! { "event": "", "payload": "", "payload_bytes": "" }
}

fn stale_delivery(found: &Document) -> StoreResult<StaleDelivery> {
    let event = string(found, "event")?;
    Ok(StaleDelivery {
        project_id: uuid(found, "project_id")?,
        delivery_id: string(found, "delivery_id")?,
        event: GithubEvent::parse(&event).map_err(|e| corrupt("event", format!("{event:?} {e}")))?,
        payload: match found.get("payload") {
            Some(Bson::Binary(binary)) => binary.bytes.clone(),
            _ => return Err(corrupt("payload", "not binary")),
        },
    })
}
