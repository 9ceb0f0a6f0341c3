//! The projects store: one trait, two implementations chosen by URL (`mongodb://…` or `sqlite://path`), one
//! conformance suite (`tests/api/store/`) that both pass.

mod mongo;
mod sqlite;
mod unavailable;

use std::sync::Arc;

use async_trait::async_trait;

use uuid::Uuid;

use crate::domain::{
    DefinitionName, DefinitionRecord, DeploymentRecord, EnvName, EnvironmentState, GithubIntegrationRecord,
    ProjectListing, ProjectRecord, ReleaseRecord, Slug, TimeCursor,
};

pub use mongo::MongoStore;
pub use sqlite::SqliteStore;

/// Driver errors enter through `From` (`unavailable.rs`), which sorts out those meaning "the store is down or busy".
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; names what exists (`"slug"`, `"release version"`).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The store cannot be reached or cannot take the request right now (down, restarting, no server selectable
    /// within the timeout, busy past its timeout): the same request may succeed later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Sqlite(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Mongo(mongodb::error::Error),
    /// A stored value that no longer parses.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("unsupported database URL: {0}")]
    Url(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Outcome of a compare-and-set replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replace {
    Done,
    /// The stored version differs from the expected one (someone else changed it).
    VersionMismatch {
        current: i64,
    },
    NotFound,
}

/// Connects to the store named by `url`, creating indexes / running migrations.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn ProjectStore>> {
    if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
        Ok(Arc::new(MongoStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::Url("want mongodb://… or sqlite://path".into()))
    }
}

/// The whole store: every aggregate's trait below, and a readiness ping. Each implementation implements each aggregate's
/// trait in its own submodule (`mongo/projects.rs`, `sqlite/projects.rs`, …); callers bring the traits of the methods
/// they call into scope.
#[async_trait]
pub trait ProjectStore:
    ProjectRecords + DefinitionRecords + ReleaseRecords + DeploymentRecords + GithubRecords + Send + Sync + 'static
{
    async fn ping(&self) -> StoreResult<()>;
}

/// Projects.
#[async_trait]
pub trait ProjectRecords: Send + Sync {
    /// `Conflict("slug")` when the slug is taken (archived projects keep theirs).
    async fn insert_project(&self, project: &ProjectRecord) -> StoreResult<()>;
    async fn project_by_id(&self, id: Uuid) -> StoreResult<Option<ProjectRecord>>;
    async fn project_by_slug(&self, slug: &Slug) -> StoreResult<Option<ProjectRecord>>;
    /// The page `listing` selects (filtered, ordered by its order then id, strictly after its cursor, at most its
    /// limit).
    async fn list_projects(&self, listing: &ProjectListing) -> StoreResult<Vec<ProjectRecord>>;
    /// Replaces the whole project if its stored `version` equals `expected_version` (`project.version` must be
    /// `expected_version + 1`). The slug never changes.
    async fn replace_project(&self, project: &ProjectRecord, expected_version: i64) -> StoreResult<Replace>;
    /// Deletes the project with its releases, deployments, pipeline definitions and GitHub integration; `false`
    /// when it did not exist.
    async fn delete_project(&self, id: Uuid) -> StoreResult<bool>;
}

/// Pipeline definitions.
#[async_trait]
pub trait DefinitionRecords: Send + Sync {
    /// Inserts a new project with its first definitions: when it answers `Ok`, the project and every definition are
    /// stored; when it fails (`Conflict("slug")`), the project is not there. Used to create projects with their
    /// default definitions.
    async fn insert_project_with_definitions(
        &self,
        project: &ProjectRecord,
        definitions: &[DefinitionRecord],
    ) -> StoreResult<()>;
    /// `Conflict("definition name")` when the project already has a definition of that name.
    async fn insert_definition(&self, definition: &DefinitionRecord) -> StoreResult<()>;
    async fn definition(&self, project_id: Uuid, name: &DefinitionName) -> StoreResult<Option<DefinitionRecord>>;
    /// Every definition of the project, by name.
    async fn list_definitions(&self, project_id: Uuid) -> StoreResult<Vec<DefinitionRecord>>;
    /// Replaces the definition if its stored `version` equals `expected_version` (`definition.version` must be
    /// `expected_version + 1`). Name and project never change.
    async fn replace_definition(&self, definition: &DefinitionRecord, expected_version: i64) -> StoreResult<Replace>;
    /// Deletes the definition if its stored version equals `expected_version` (any version when `None`).
    async fn delete_definition(
        &self,
        project_id: Uuid,
        name: &DefinitionName,
        expected_version: Option<i64>,
    ) -> StoreResult<Replace>;
}

/// Releases.
#[async_trait]
pub trait ReleaseRecords: Send + Sync {
    /// `Conflict("release version")` when the project already has this version.
    async fn insert_release(&self, release: &ReleaseRecord) -> StoreResult<()>;
    async fn release_by_version(&self, project_id: Uuid, version: &str) -> StoreResult<Option<ReleaseRecord>>;
    /// Newest first: `(created_at desc, id desc)`, strictly after `after`.
    async fn list_releases(
        &self,
        project_id: Uuid,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ReleaseRecord>>;
}

/// Deployments, and the environment states derived from them.
#[async_trait]
pub trait DeploymentRecords: Send + Sync {
    /// Idempotent by `deployment.id`: stores it and answers `(it, true)`, or, when the id exists, changes nothing
    /// and answers `(the stored one, false)`.
    async fn record_deployment(&self, deployment: &DeploymentRecord) -> StoreResult<(DeploymentRecord, bool)>;
    /// Newest first: `(finished_at desc, id desc)`; one environment or all.
    async fn list_deployments(
        &self,
        project_id: Uuid,
        environment: Option<&EnvName>,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<DeploymentRecord>>;
    /// The state of each named environment (in the given order), derived from the history.
    async fn environment_states(
        &self,
        project_id: Uuid,
        environments: &[EnvName],
    ) -> StoreResult<Vec<EnvironmentState>>;

    /// [`environment_states`](Self::environment_states) for a page of projects at once, in the given order. The
    /// default asks project by project; a store overrides it when it can answer in a fixed number of queries.
    async fn environment_states_many(
        &self,
        projects: &[(Uuid, Vec<EnvName>)],
    ) -> StoreResult<Vec<Vec<EnvironmentState>>> {
        let mut all = Vec::with_capacity(projects.len());
        for (project_id, environments) in projects {
            all.push(self.environment_states(*project_id, environments).await?);
        }
        Ok(all)
    }
}

/// The GitHub integration of a project.
#[async_trait]
pub trait GithubRecords: Send + Sync {
    /// Creates or replaces the project's integration (its sealed webhook secret).
    async fn put_github_integration(&self, integration: &GithubIntegrationRecord) -> StoreResult<()>;
    async fn github_integration(&self, project_id: Uuid) -> StoreResult<Option<GithubIntegrationRecord>>;
}
