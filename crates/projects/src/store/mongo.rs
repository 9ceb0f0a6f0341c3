//! The production projects store on MongoDB (official driver, documented behaviour only).
//!
//! Collections `projects`, `releases` and `deployments` (and the GitHub integration's, see `mongo/github.rs`); `_id` is the UUID as lower-case hyphenated text (a
//! deployment's own id for deployments), so `_id` order is the same text order the SQLite store uses as its keyset
//! tie-breaker. Every time is stored twice: as a BSON date (`created_at`, for people and tools; milliseconds only) and as
//! Int64 unix microseconds (`created_at_us`), which is what the store reads back, sorts and compares on, so round trips
//! are exact.
//!
//! No multi-document transactions: they need a replica set and were not checked on the wire-compatible servers used in
//! tests. So `delete_project` removes releases, then deployments, then the GitHub integration and delivery ids, then
//! the project, in that order: if it stops half way, the project is still there and deleting it again finishes the job.

mod github;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, Database, IndexModel};
use uuid::Uuid;

use super::{ProjectStore, Replace, StoreError, StoreResult};
use crate::domain::{
    CommitSha, DeliveryOutcome, DeploymentRecord, DeploymentStatus, EnvName, EnvironmentConfig, EnvironmentState,
    GithubIntegrationRecord, ProjectCursor, ProjectFilter, ProjectName, ProjectOrder, ProjectRecord, ProjectSortField,
    Provider, ReleaseRecord, RepoUrl, Repository, Slug, SortKey, Tag, Tier, TimeCursor, VersionLabel,
};

const DEFAULT_DATABASE: &str = "projects";
/// MongoDB's `DuplicateKey` error code.
const DUPLICATE_KEY: i32 = 11000;

#[derive(Debug, Clone)]
pub struct MongoStore {
    db: Database,
    projects: Collection<Document>,
    releases: Collection<Document>,
    deployments: Collection<Document>,
    github_integrations: Collection<Document>,
    webhook_deliveries: Collection<Document>,
}

impl MongoStore {
    /// Connects to `url` (`mongodb://host:port/dbname?…`; database `projects` when the path is empty), pings it and
    /// creates the indexes (a no-op when they exist).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let client = Client::with_uri_str(url).await?;
        let db = client
            .default_database()
            .unwrap_or_else(|| client.database(DEFAULT_DATABASE));
        let store = Self {
            projects: db.collection("projects"),
            releases: db.collection("releases"),
            deployments: db.collection("deployments"),
            github_integrations: db.collection("github_integrations"),
            webhook_deliveries: db.collection("webhook_deliveries"),
            db,
        };
        store.ping().await?;
        store.create_indexes().await?;
        Ok(store)
    }

    async fn create_indexes(&self) -> StoreResult<()> {
        let unique = || IndexOptions::builder().unique(true).build();
        self.projects
            .create_index(IndexModel::builder().keys(doc! { "slug": 1 }).options(unique()).build())
            .await?;
        for key in ["name", "created_at_us", "updated_at_us"] {
            self.projects
                .create_index(IndexModel::builder().keys(doc! { key: 1, "_id": 1 }).build())
                .await?;
        }
        self.releases
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "project_id": 1, "version": 1 })
                    .options(unique())
                    .build(),
            )
            .await?;
        self.releases
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "project_id": 1, "created_at_us": -1, "_id": -1 })
                    .build(),
            )
            .await?;
        self.deployments
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "project_id": 1, "environment": 1, "finished_at_us": -1, "_id": -1 })
                    .build(),
            )
            .await?;
        self.deployments
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "project_id": 1, "finished_at_us": -1, "_id": -1 })
                    .build(),
            )
            .await?;
        self.create_github_indexes().await?;
        Ok(())
    }

    async fn latest_deployment(
        &self,
        project_id: Uuid,
        environment: &EnvName,
        succeeded_only: bool,
    ) -> StoreResult<Option<DeploymentRecord>> {
        let mut filter = doc! { "project_id": project_id.to_string(), "environment": environment.as_str() };
        if succeeded_only {
            filter.insert("status", DeploymentStatus::Succeeded.as_str());
        }
        let found = self
            .deployments
            .find_one(filter)
            .sort(doc! { "finished_at_us": -1, "_id": -1 })
            .await?;
        found.as_ref().map(deployment_from_doc).transpose()
    }
}

#[async_trait]
impl ProjectStore for MongoStore {
    async fn ping(&self) -> StoreResult<()> {
        self.db.run_command(doc! { "ping": 1 }).await?;
        Ok(())
    }

    async fn insert_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        self.projects
            .insert_one(project_to_doc(project))
            .await
            .map_err(conflict_on_duplicate("slug"))?;
        Ok(())
    }

    async fn project_by_id(&self, id: Uuid) -> StoreResult<Option<ProjectRecord>> {
        let found = self.projects.find_one(doc! { "_id": id.to_string() }).await?;
        found.as_ref().map(project_from_doc).transpose()
    }

    async fn project_by_slug(&self, slug: &Slug) -> StoreResult<Option<ProjectRecord>> {
        let found = self.projects.find_one(doc! { "slug": slug.as_str() }).await?;
        found.as_ref().map(project_from_doc).transpose()
    }

    async fn list_projects(
        &self,
        filter: &ProjectFilter,
        order: ProjectOrder,
        after: Option<&ProjectCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ProjectRecord>> {
        if limit == 0 {
            // `limit(0)` means "no limit" to MongoDB; SQL's `LIMIT 0` (and the trait) mean an empty page.
            return Ok(Vec::new());
        }
        let field = match order.field {
            ProjectSortField::Slug => "slug",
            ProjectSortField::Name => "name",
            ProjectSortField::CreatedAt => "created_at_us",
            ProjectSortField::UpdatedAt => "updated_at_us",
        };
        let mut clauses: Vec<Document> = Vec::new();
        if !filter.include_archived {
            clauses.push(doc! { "archived_at_us": Bson::Null });
        }
        if let Some(tag) = &filter.tag {
            clauses.push(doc! { "tags": tag.as_str() });
        }
        if let Some(text) = filter.query.as_deref().filter(|q| !q.is_empty()) {
            let pattern = escape_regex(text);
            let matches = |field: &str| doc! { field: { "$regex": pattern.as_str(), "$options": "i" } };
            clauses.push(doc! { "$or": [matches("slug"), matches("name"), matches("description")] });
        }
        if let Some(cursor) = after {
            let key = match (&cursor.key, order.field) {
                (SortKey::Text(value), ProjectSortField::Slug | ProjectSortField::Name) => Bson::String(value.clone()),
                (SortKey::Time(at), ProjectSortField::CreatedAt | ProjectSortField::UpdatedAt) => {
                    Bson::Int64(at.timestamp_micros())
                }
                _ => {
                    return Err(StoreError::Corrupt(
                        "the cursor's key does not match the sort order".into(),
                    ));
                }
            };
            clauses.push(after_key(field, key, cursor.id.to_string(), order.descending));
        }
        let direction = if order.descending { -1 } else { 1 };
        let found: Vec<Document> = self
            .projects
            .find(and(clauses))
            .sort(doc! { field: direction, "_id": direction })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        found.iter().map(project_from_doc).collect()
    }

    async fn replace_project(&self, project: &ProjectRecord, expected_version: i64) -> StoreResult<Replace> {
        let id = project.id.to_string();
        let replaced = self
            .projects
            .replace_one(
                doc! { "_id": &id, "version": expected_version },
                project_to_doc(project),
            )
            .await
            .map_err(conflict_on_duplicate("slug"))?;
        if replaced.matched_count > 0 {
            return Ok(Replace::Done);
        }
        let current = self
            .projects
            .find_one(doc! { "_id": &id })
            .projection(doc! { "version": 1 })
            .await?;
        Ok(match current {
            Some(current) => Replace::VersionMismatch {
                current: int(&current, "version")?,
            },
            None => Replace::NotFound,
        })
    }

    async fn delete_project(&self, id: Uuid) -> StoreResult<bool> {
        let id = id.to_string();
        self.releases.delete_many(doc! { "project_id": &id }).await?;
        self.deployments.delete_many(doc! { "project_id": &id }).await?;
        self.delete_github_data(&id).await?;
        let deleted = self.projects.delete_one(doc! { "_id": &id }).await?;
        Ok(deleted.deleted_count > 0)
    }

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

    async fn record_deployment(&self, deployment: &DeploymentRecord) -> StoreResult<(DeploymentRecord, bool)> {
        let document = doc! {
            "_id": &deployment.id,
            "project_id": deployment.project_id.to_string(),
            "environment": deployment.environment.as_str(),
            "version": deployment.version.as_str(),
            "commit_sha": deployment.commit_sha.as_ref().map(CommitSha::as_str),
            "status": deployment.status.as_str(),
            "started_at": date(deployment.started_at),
            "started_at_us": deployment.started_at.timestamp_micros(),
            "finished_at": date(deployment.finished_at),
            "finished_at_us": deployment.finished_at.timestamp_micros(),
            "triggered_by": &deployment.triggered_by,
            "pipeline_id": &deployment.pipeline_id,
        };
        match self.deployments.insert_one(document).await {
            Ok(_) => Ok((deployment.clone(), true)),
            Err(err) if is_duplicate_key(&err) => {
                let stored = self
                    .deployments
                    .find_one(doc! { "_id": &deployment.id })
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("deployment {:?}: duplicate key but not found", deployment.id))
                    })?;
                Ok((deployment_from_doc(&stored)?, false))
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn list_deployments(
        &self,
        project_id: Uuid,
        environment: Option<&EnvName>,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<DeploymentRecord>> {
        if limit == 0 {
            return Ok(Vec::new()); // see list_projects
        }
        let mut clauses = vec![doc! { "project_id": project_id.to_string() }];
        if let Some(environment) = environment {
            clauses.push(doc! { "environment": environment.as_str() });
        }
        if let Some(cursor) = after {
            clauses.push(after_key(
                "finished_at_us",
                Bson::Int64(cursor.at.timestamp_micros()),
                cursor.id.clone(),
                true,
            ));
        }
        let found: Vec<Document> = self
            .deployments
            .find(and(clauses))
            .sort(doc! { "finished_at_us": -1, "_id": -1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        found.iter().map(deployment_from_doc).collect()
    }

    async fn environment_states(
        &self,
        project_id: Uuid,
        environments: &[EnvName],
    ) -> StoreResult<Vec<EnvironmentState>> {
        let mut states = Vec::with_capacity(environments.len());
        for environment in environments {
            states.push(EnvironmentState {
                environment: environment.clone(),
                current: self.latest_deployment(project_id, environment, true).await?,
                last: self.latest_deployment(project_id, environment, false).await?,
            });
        }
        Ok(states)
    }

    async fn put_github_integration(&self, integration: &GithubIntegrationRecord) -> StoreResult<()> {
        self.upsert_github_integration(integration).await
    }

    async fn github_integration(&self, project_id: Uuid) -> StoreResult<Option<GithubIntegrationRecord>> {
        self.find_github_integration(project_id).await
    }

    async fn record_webhook_delivery(
        &self,
        project_id: Uuid,
        delivery_id: &str,
        received_at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.claim_webhook_delivery(project_id, delivery_id, received_at, stale_before)
            .await
    }

    async fn finish_webhook_delivery(
        &self,
        project_id: Uuid,
        delivery_id: &str,
        outcome: DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.end_webhook_delivery_claim(project_id, delivery_id, outcome, at)
            .await
    }

    async fn prune_webhook_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.delete_webhook_deliveries_before(before).await
    }
}

// ---- queries

/// `{$and: clauses}`, or the one clause, or `{}`.
fn and(mut clauses: Vec<Document>) -> Document {
    match clauses.len() {
        0 => Document::new(),
        1 => clauses.remove(0),
        _ => doc! { "$and": clauses },
    }
}

/// Keyset condition: strictly after `(key, id)` in `(field, _id)` order, ascending or descending.
fn after_key(field: &str, key: Bson, id: String, descending: bool) -> Document {
    let op = if descending { "$lt" } else { "$gt" };
    doc! { "$or": [
        { field: { op: key.clone() } },
        { field: key, "_id": { op: id } },
    ] }
}

/// Escapes every ASCII punctuation character, so the text matches literally in a `$regex` (PCRE, and any regex
/// dialect where a backslash before punctuation means the character itself).
fn escape_regex(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn is_duplicate_key(err: &MongoError) -> bool {
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(e) => e.write_errors.iter().flatten().any(|e| e.code == DUPLICATE_KEY),
        ErrorKind::Command(e) => e.code == DUPLICATE_KEY,
        _ => false,
    }
}

fn conflict_on_duplicate(what: &'static str) -> impl FnOnce(MongoError) -> StoreError {
    move |err| {
        if is_duplicate_key(&err) {
            StoreError::Conflict(what)
        } else {
            StoreError::Mongo(err)
        }
    }
}

// ---- documents

fn date(at: DateTime<Utc>) -> mongodb::bson::DateTime {
    mongodb::bson::DateTime::from_millis(at.timestamp_millis())
}

fn project_to_doc(project: &ProjectRecord) -> Document {
    let repositories: Vec<Document> = project
        .repositories
        .iter()
        .map(|r| {
            doc! { "url": r.url.as_str(), "provider": r.provider.as_str(), "default_branch": &r.default_branch }
        })
        .collect();
    let environments: Vec<Document> = project
        .environments
        .iter()
        .map(|e| doc! { "name": e.name.as_str(), "tier": e.tier.as_str(), "url": &e.url, "protected": e.protected })
        .collect();
    doc! {
        "_id": project.id.to_string(),
        "slug": project.slug.as_str(),
        "name": project.name.as_str(),
        "description": &project.description,
        "tags": project.tags.iter().map(Tag::as_str).collect::<Vec<_>>(),
        "owner": &project.owner,
        "repositories": repositories,
        "environments": environments,
        "version": project.version,
        "created_at": date(project.created_at),
        "created_at_us": project.created_at.timestamp_micros(),
        "updated_at": date(project.updated_at),
        "updated_at_us": project.updated_at.timestamp_micros(),
        "archived_at": project.archived_at.map(date),
        "archived_at_us": project.archived_at.map(|at| at.timestamp_micros()),
    }
}

fn project_from_doc(d: &Document) -> StoreResult<ProjectRecord> {
    let repositories = subdocs(d, "repositories")?
        .into_iter()
        .map(|r| {
            let provider = string(r, "provider")?;
            Ok(Repository {
                url: RepoUrl::from_trusted(string(r, "url")?),
                provider: Provider::parse(&provider)
                    .ok_or_else(|| StoreError::Corrupt(format!("repositories: provider {provider:?}")))?,
                default_branch: string(r, "default_branch")?,
            })
        })
        .collect::<StoreResult<_>>()?;
    let environments = subdocs(d, "environments")?
        .into_iter()
        .map(|e| {
            let tier = string(e, "tier")?;
            Ok(EnvironmentConfig {
                name: EnvName::from_trusted(string(e, "name")?),
                tier: Tier::parse(&tier).ok_or_else(|| StoreError::Corrupt(format!("environments: tier {tier:?}")))?,
                url: string(e, "url")?,
                protected: e.get_bool("protected").map_err(|e| corrupt("protected", e))?,
            })
        })
        .collect::<StoreResult<_>>()?;
    let tags = d
        .get_array("tags")
        .map_err(|e| corrupt("tags", e))?
        .iter()
        .map(|t| {
            t.as_str()
                .map(|t| Tag::from_trusted(t.to_owned()))
                .ok_or_else(|| corrupt("tags", "not a string"))
        })
        .collect::<StoreResult<_>>()?;
    Ok(ProjectRecord {
        id: uuid(d, "_id")?,
        slug: Slug::from_trusted(string(d, "slug")?),
        name: ProjectName::from_trusted(string(d, "name")?),
        description: string(d, "description")?,
        tags,
        owner: string(d, "owner")?,
        repositories,
        environments,
        version: int(d, "version")?,
        created_at: time(d, "created_at_us")?,
        updated_at: time(d, "updated_at_us")?,
        archived_at: opt_time(d, "archived_at_us")?,
    })
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

fn deployment_from_doc(d: &Document) -> StoreResult<DeploymentRecord> {
    let status = string(d, "status")?;
    Ok(DeploymentRecord {
        id: string(d, "_id")?,
        project_id: uuid(d, "project_id")?,
        environment: EnvName::from_trusted(string(d, "environment")?),
        version: VersionLabel::from_trusted(string(d, "version")?),
        commit_sha: opt_string(d, "commit_sha")?.map(CommitSha::from_trusted),
        status: DeploymentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status: {status:?} is not a deployment status")))?,
        started_at: time(d, "started_at_us")?,
        finished_at: time(d, "finished_at_us")?,
        triggered_by: string(d, "triggered_by")?,
        pipeline_id: string(d, "pipeline_id")?,
    })
}

fn corrupt(field: &str, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{field}: {problem}"))
}

fn string(d: &Document, field: &str) -> StoreResult<String> {
    d.get_str(field).map(str::to_owned).map_err(|e| corrupt(field, e))
}

fn opt_string(d: &Document, field: &str) -> StoreResult<Option<String>> {
    match d.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(corrupt(field, format!("{other} is not a string"))),
    }
}

/// An integer, whether the server answers it as Int64 or (when it fits) Int32.
fn int(d: &Document, field: &str) -> StoreResult<i64> {
    match d.get(field) {
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        Some(other) => Err(corrupt(field, format!("{other} is not an integer"))),
        None => Err(corrupt(field, "missing")),
    }
}

fn time(d: &Document, field: &str) -> StoreResult<DateTime<Utc>> {
    let micros = int(d, field)?;
    DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt(field, format!("{micros} is not a timestamp")))
}

fn opt_time(d: &Document, field: &str) -> StoreResult<Option<DateTime<Utc>>> {
    match d.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(_) => time(d, field).map(Some),
    }
}

fn uuid(d: &Document, field: &str) -> StoreResult<Uuid> {
    let value = string(d, field)?;
    Uuid::parse_str(&value).map_err(|e| corrupt(field, format!("{value:?} is not a uuid: {e}")))
}

fn subdocs<'a>(d: &'a Document, field: &str) -> StoreResult<Vec<&'a Document>> {
    d.get_array(field)
        .map_err(|e| corrupt(field, e))?
        .iter()
        .map(|v| v.as_document().ok_or_else(|| corrupt(field, "not a document")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::escape_regex;

    #[test]
    fn regex_metacharacters_are_escaped() {
        assert_eq!(escape_regex("a.*b"), r"a\.\*b");
        assert_eq!(escape_regex(r"(x|y)[z]{2}+?^$\-/"), r"\(x\|y\)\[z\]\{2\}\+\?\^\$\\\-\/");
        assert_eq!(escape_regex("plain text é"), "plain text é");
    }
}
