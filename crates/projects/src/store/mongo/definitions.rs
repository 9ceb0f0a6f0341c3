//! Pipeline definitions on MongoDB: collection `pipeline_definitions`, `_id` = `<project id>/<name>` (so a name is
//! unique per project on the unique `_id`), the spec as JSON text (`spec_json`: numbers keep their JSON form exactly),
//! compare-and-set on `version`. It implements [`DefinitionRecords`].
//!
//! A new project with its first definitions, without a multi-document transaction (see `mongo.rs`): the definitions are
//! inserted first, then the project. If the process stops in between, the definitions belong to a project id that was
//! never stored and never will be (ids are fresh UUIDs): nothing can read them, and the request was not answered. If
//! the project insert fails (its slug is taken), the definitions are deleted again.

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::IndexModel;
use mongodb::bson::{Document, doc};
use uuid::Uuid;

use super::fields::{corrupt, date, int, string, time, uuid};
use super::{MongoStore, conflict_on_duplicate, mismatch_or_missing};
use crate::domain::{DefinitionKind, DefinitionName, DefinitionRecord, ProjectRecord};
use crate::store::{DefinitionRecords, ProjectRecords, Replace, StoreError, StoreResult};

fn key(project_id: Uuid, name: &DefinitionName) -> String {
    format!("{project_id}/{name}")
}

impl MongoStore {
    pub(super) async fn create_definition_indexes(&self) -> StoreResult<()> {
        self.definitions
            .create_index(IndexModel::builder().keys(doc! { "project_id": 1, "name": 1 }).build())
            .await?;
        Ok(())
    }
}

#[async_trait]
impl DefinitionRecords for MongoStore {
    async fn insert_project_with_definitions(
        &self,
        project: &ProjectRecord,
        definitions: &[DefinitionRecord],
    ) -> StoreResult<()> {
        if !definitions.is_empty() {
            let docs = definitions
                .iter()
                .map(definition_to_doc)
                .collect::<StoreResult<Vec<_>>>()?;
            self.definitions
                .insert_many(docs)
                .await
                .map_err(conflict_on_duplicate("definition name"))?;
        }
        if let Err(err) = self.insert_project(project).await {
            self.definitions
                .delete_many(doc! { "project_id": project.id.to_string() })
                .await?;
            return Err(err);
        }
        Ok(())
    }

    async fn insert_definition(&self, definition: &DefinitionRecord) -> StoreResult<()> {
        self.definitions
            .insert_one(definition_to_doc(definition)?)
            .await
            .map_err(conflict_on_duplicate("definition name"))?;
        Ok(())
    }

    async fn definition(&self, project_id: Uuid, name: &DefinitionName) -> StoreResult<Option<DefinitionRecord>> {
        let found = self.definitions.find_one(doc! { "_id": key(project_id, name) }).await?;
        found.as_ref().map(definition_from_doc).transpose()
    }

    async fn list_definitions(&self, project_id: Uuid) -> StoreResult<Vec<DefinitionRecord>> {
        let found: Vec<Document> = self
            .definitions
            .find(doc! { "project_id": project_id.to_string() })
            .sort(doc! { "name": 1 })
            .await?
            .try_collect()
            .await?;
        found.iter().map(definition_from_doc).collect()
    }

    async fn replace_definition(&self, definition: &DefinitionRecord, expected_version: i64) -> StoreResult<Replace> {
        let id = key(definition.project_id, &definition.name);
        let replaced = self
            .definitions
            .replace_one(
                doc! { "_id": &id, "version": expected_version },
                definition_to_doc(definition)?,
            )
            .await?;
        if replaced.matched_count > 0 {
            return Ok(Replace::Done);
        }
        mismatch_or_missing(&self.definitions, &id).await
    }

    async fn delete_definition(
        &self,
        project_id: Uuid,
        name: &DefinitionName,
        expected_version: Option<i64>,
    ) -> StoreResult<Replace> {
        let id = key(project_id, name);
        let mut filter = doc! { "_id": &id };
        if let Some(expected) = expected_version {
            filter.insert("version", expected);
        }
        if self.definitions.delete_one(filter).await?.deleted_count > 0 {
            return Ok(Replace::Done);
        }
        mismatch_or_missing(&self.definitions, &id).await
    }
}

fn definition_to_doc(d: &DefinitionRecord) -> StoreResult<Document> {
    let spec = serde_json::to_string(&d.spec).map_err(|e| corrupt("spec_json", e))?;
    Ok(doc! {
        "_id": key(d.project_id, &d.name),
        "project_id": d.project_id.to_string(),
        "name": d.name.as_str(),
        "kind": d.kind.as_str(),
        "description": &d.description,
        "spec_json": spec,
        "allow_unreleased": d.allow_unreleased,
        "version": d.version,
        "created_at": date(d.created_at),
        "created_at_us": d.created_at.timestamp_micros(),
        "updated_at": date(d.updated_at),
        "updated_at_us": d.updated_at.timestamp_micros(),
    })
}

fn definition_from_doc(d: &Document) -> StoreResult<DefinitionRecord> {
    let kind = string(d, "kind")?;
    let spec = string(d, "spec_json")?;
    Ok(DefinitionRecord {
        project_id: uuid(d, "project_id")?,
        name: DefinitionName::from_trusted(string(d, "name")?),
        kind: DefinitionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("kind: {kind:?} is not a definition kind")))?,
        description: string(d, "description")?,
        spec: serde_json::from_str(&spec).map_err(|e| corrupt("spec_json", e))?,
        allow_unreleased: d
            .get_bool("allow_unreleased")
            .map_err(|e| corrupt("allow_unreleased", e))?,
        version: int(d, "version")?,
        created_at: time(d, "created_at_us")?,
        updated_at: time(d, "updated_at_us")?,
    })
}
