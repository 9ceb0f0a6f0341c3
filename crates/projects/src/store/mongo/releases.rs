//! Releases on MongoDB: collection `releases` (`_id` = release id, unique `(project_id, version)`), listed newest first
//! by `(created_at_us, _id)`. It implements [`ReleaseRecords`].

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use uuid::Uuid;

use super::fields::{date, opt_string, string, time, uuid};
use super::{MongoStore, after_key, and, conflict_on_duplicate};
use crate::domain::{CommitSha, ReleaseRecord, TimeCursor, VersionLabel};
use crate::store::{ReleaseRecords, StoreResult};

#[async_trait]
impl ReleaseRecords for MongoStore {
    async fn insert_release(&self, release: &ReleaseRecord) -> StoreResult<()> {
        let document = doc! {
            "_id": release.id.to_string(),
            "project_id": release.project_id.to_string(),
            "version": release.version.as_str(),
            "commit_sha": release.commit_sha.as_ref().map(CommitSha::as_str),
            "notes": &release.notes,
            "created_by": &release.created_by,
            "created_at": date(release.created_at),
            "created_at_us": release.created_at.timestamp_micros(),
        };
        self.releases
            .insert_one(document)
            .await
            .map_err(conflict_on_duplicate("release version"))?;
        Ok(())
    }

    async fn release_by_version(&self, project_id: Uuid, version: &str) -> StoreResult<Option<ReleaseRecord>> {
        let found = self
            .releases
            .find_one(doc! { "project_id": project_id.to_string(), "version": version })
            .await?;
        found.as_ref().map(release_from_doc).transpose()
    }

    async fn list_releases(
        &self,
        project_id: Uuid,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ReleaseRecord>> {
        if limit == 0 {
            return Ok(Vec::new()); // see list_projects
        }
        let mut clauses = vec![doc! { "project_id": project_id.to_string() }];
        if let Some(cursor) = after {
            clauses.push(after_key(
                "created_at_us",
                Bson::Int64(cursor.at.timestamp_micros()),
                cursor.id.clone(),
                true,
            ));
        }
        let found: Vec<Document> = self
            .releases
            .find(and(clauses))
            .sort(doc! { "created_at_us": -1, "_id": -1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        found.iter().map(release_from_doc).collect()
    }
}

fn release_from_doc(d: &Document) -> StoreResult<ReleaseRecord> {
    Ok(ReleaseRecord {
        id: uuid(d, "_id")?,
        project_id: uuid(d, "project_id")?,
        version: VersionLabel::from_trusted(string(d, "version")?),
        commit_sha: opt_string(d, "commit_sha")?.map(CommitSha::from_trusted),
        notes: string(d, "notes")?,
        created_by: string(d, "created_by")?,
        created_at: time(d, "created_at_us")?,
    })
}
