//! The embedded projects store on SQLite: what `devopstrack up` and small teams run for real.
//!
//! Timestamps are INTEGER unix microseconds, ids TEXT (UUIDs lower-case hyphenated, so their text order is the
//! keyset tie-breaker the MongoDB store uses too), and a project's tags, repositories and environments are JSON text;
//! see `migrations/sqlite/0001_init.sql`. Write transactions start with `BEGIN IMMEDIATE` so two writers queue on the
//! busy timeout instead of deadlocking on a read-to-write upgrade.
//!
//! One submodule per aggregate (`projects`, `definitions`, `releases`, `deployments`, `github`) holds its queries and row mapping as
//! inherent methods; the trait impl here delegates to them.

mod definitions;
mod deployments;
mod github;
mod projects;
mod releases;

use async_trait::async_trait;

use sqlx::sqlite::SqlitePool;
use uuid::Uuid;

use devopstrack_platform::sqlite::ColumnError;

use super::{ProjectStore, Replace, StoreError, StoreResult};
use crate::domain::{
    DefinitionName, DefinitionRecord, DeploymentRecord, EnvName, EnvironmentState, GithubIntegrationRecord,
    ProjectCursor, ProjectFilter, ProjectOrder, ProjectRecord, ReleaseRecord, Slug, TimeCursor,
};

const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/projects.db`) and migrates it.
    ///
    /// The pool settings (and `sqlite::memory:` support) are the platform's: [`devopstrack_platform::sqlite`], with
    /// `synchronous=FULL`: an acknowledged write of the catalogue (projects, releases, deployments, webhook secrets) survives a power loss too, not only a crash of the process.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = devopstrack_platform::sqlite::open_pool_with(url, devopstrack_platform::sqlite::full_sync).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        self.insert_project_row(project).await
    }

    #[tracing::instrument(name = "store.project_by_id", skip_all, fields(db.system = "sqlite"))]
    async fn project_by_id(&self, id: Uuid) -> StoreResult<Option<ProjectRecord>> {
        self.find_project_by_id(id).await
    }

    #[tracing::instrument(name = "store.project_by_slug", skip_all, fields(db.system = "sqlite"))]
    async fn project_by_slug(&self, slug: &Slug) -> StoreResult<Option<ProjectRecord>> {
        self.find_project_by_slug(slug).await
    }

    async fn list_projects(
        &self,
        filter: &ProjectFilter,
        order: ProjectOrder,
        after: Option<&ProjectCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ProjectRecord>> {
        self.query_projects(filter, order, after, limit).await
    }

    async fn replace_project(&self, project: &ProjectRecord, expected_version: i64) -> StoreResult<Replace> {
        self.compare_and_replace_project(project, expected_version).await
    }

    async fn delete_project(&self, id: Uuid) -> StoreResult<bool> {
        self.delete_project_and_history(id).await
    }

    async fn insert_project_with_definitions(
        &self,
        project: &ProjectRecord,
        definitions: &[DefinitionRecord],
    ) -> StoreResult<()> {
        self.insert_project_and_definitions(project, definitions).await
    }

    async fn insert_definition(&self, definition: &DefinitionRecord) -> StoreResult<()> {
        self.insert_definition_row(definition).await
    }

    async fn definition(&self, project_id: Uuid, name: &DefinitionName) -> StoreResult<Option<DefinitionRecord>> {
        self.find_definition(project_id, name).await
    }

    async fn list_definitions(&self, project_id: Uuid) -> StoreResult<Vec<DefinitionRecord>> {
        self.query_definitions(project_id).await
    }

    async fn replace_definition(&self, definition: &DefinitionRecord, expected_version: i64) -> StoreResult<Replace> {
        self.compare_and_replace_definition(definition, expected_version).await
    }

    async fn delete_definition(
        &self,
        project_id: Uuid,
        name: &DefinitionName,
        expected_version: Option<i64>,
    ) -> StoreResult<Replace> {
        self.compare_and_delete_definition(project_id, name, expected_version)
            .await
    }

    async fn insert_release(&self, release: &ReleaseRecord) -> StoreResult<()> {
        self.insert_release_row(release).await
    }

    async fn release_by_version(&self, project_id: Uuid, version: &str) -> StoreResult<Option<ReleaseRecord>> {
        self.find_release_by_version(project_id, version).await
    }

    async fn list_releases(
        &self,
        project_id: Uuid,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ReleaseRecord>> {
        self.query_releases(project_id, after, limit).await
    }

    async fn record_deployment(&self, deployment: &DeploymentRecord) -> StoreResult<(DeploymentRecord, bool)> {
        self.insert_deployment_once(deployment).await
    }

    async fn list_deployments(
        &self,
        project_id: Uuid,
        environment: Option<&EnvName>,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<DeploymentRecord>> {
        self.query_deployments(project_id, environment, after, limit).await
    }

    #[tracing::instrument(name = "store.environment_states", skip_all, fields(db.system = "sqlite"))]
    async fn environment_states(
        &self,
        project_id: Uuid,
        environments: &[EnvName],
    ) -> StoreResult<Vec<EnvironmentState>> {
        self.query_environment_states(project_id, environments).await
    }

    /// Two queries for a whole page: the latest succeeded and the latest deployment of every (project,
    /// environment), picked with a window function over the `(project_id, environment, finished_at DESC, id DESC)`
    /// index.
    async fn environment_states_many(
        &self,
        projects: &[(Uuid, Vec<EnvName>)],
    ) -> StoreResult<Vec<Vec<EnvironmentState>>> {
        self.query_environment_states_of_page(projects).await
    }

    async fn put_github_integration(&self, integration: &GithubIntegrationRecord) -> StoreResult<()> {
        self.upsert_github_integration(integration).await
    }

    async fn github_integration(&self, project_id: Uuid) -> StoreResult<Option<GithubIntegrationRecord>> {
        self.find_github_integration(project_id).await
    }
}

fn conflict_on_unique(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::from(err),
    }
}

impl From<ColumnError> for StoreError {
    fn from(e: ColumnError) -> Self {
        match e {
            ColumnError::Sqlx(e) => StoreError::from(e),
            ColumnError::Corrupt(message) => StoreError::Corrupt(message),
        }
    }
}

#[cfg(test)]
mod durability_tests {
    #[tokio::test]
    async fn every_commit_is_synced_to_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::SqliteStore::connect(&format!("sqlite://{}/projects.db", dir.path().display()))
            .await
            .unwrap();
        let (level,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(level, 2, "PRAGMA synchronous: 2 = FULL");
    }
}
