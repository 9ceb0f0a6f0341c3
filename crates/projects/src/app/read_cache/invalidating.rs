//! The store wrapper the use-cases see ([`InvalidatingStore`]): reads pass through, and every write that can change a
//! cached answer bumps the read cache's generation when it finishes or is abandoned half-way ([`Bump`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use uuid::Uuid;

use crate::domain::{
    DefinitionName, DefinitionRecord, DeploymentRecord, EnvName, EnvironmentState, GithubIntegrationRecord,
    ProjectListing, ProjectRecord, ReleaseRecord, Slug, TimeCursor,
};
use crate::store::{
    DefinitionRecords, DeploymentRecords, GithubRecords, ProjectRecords, ProjectStore, ReleaseRecords, Replace,
    StoreResult,
};

/// Bumps the generation when dropped: at the end of a write, or when the write's future is dropped half-way (the
/// store may have committed it all the same).
pub(super) struct Bump<'a>(pub(super) &'a AtomicU64);

impl Drop for Bump<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The store as the app sees it: reads pass through, every write invalidates the read cache. Doing it here rather
/// than in each use-case means a new write path cannot forget to.
pub(super) struct InvalidatingStore {
    pub(super) inner: Arc<dyn ProjectStore>,
    pub(super) generation: Arc<AtomicU64>,
}

impl InvalidatingStore {
    fn bump(&self) -> Bump<'_> {
        Bump(&self.generation)
    }
}

#[async_trait]
impl ProjectStore for InvalidatingStore {
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

#[async_trait]
impl ProjectRecords for InvalidatingStore {
    async fn insert_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        let _bump = self.bump();
        self.inner.insert_project(project).await
    }

    async fn project_by_id(&self, id: Uuid) -> StoreResult<Option<ProjectRecord>> {
        self.inner.project_by_id(id).await
    }

    async fn project_by_slug(&self, slug: &Slug) -> StoreResult<Option<ProjectRecord>> {
        self.inner.project_by_slug(slug).await
    }

    async fn list_projects(&self, listing: &ProjectListing) -> StoreResult<Vec<ProjectRecord>> {
        self.inner.list_projects(listing).await
    }

    async fn replace_project(&self, project: &ProjectRecord, expected_version: i64) -> StoreResult<Replace> {
        let _bump = self.bump();
        self.inner.replace_project(project, expected_version).await
    }

    async fn delete_project(&self, id: Uuid) -> StoreResult<bool> {
        let _bump = self.bump();
        self.inner.delete_project(id).await
    }
}

#[async_trait]
impl DefinitionRecords for InvalidatingStore {
    async fn insert_project_with_definitions(
        &self,
        project: &ProjectRecord,
        definitions: &[DefinitionRecord],
    ) -> StoreResult<()> {
        let _bump = self.bump();
        self.inner.insert_project_with_definitions(project, definitions).await
    }

    // Definitions are not in any cached answer: no bump.
    async fn insert_definition(&self, definition: &DefinitionRecord) -> StoreResult<()> {
        self.inner.insert_definition(definition).await
    }

    async fn definition(&self, project_id: Uuid, name: &DefinitionName) -> StoreResult<Option<DefinitionRecord>> {
        self.inner.definition(project_id, name).await
    }

    async fn list_definitions(&self, project_id: Uuid) -> StoreResult<Vec<DefinitionRecord>> {
        self.inner.list_definitions(project_id).await
    }

    async fn replace_definition(&self, definition: &DefinitionRecord, expected_version: i64) -> StoreResult<Replace> {
        self.inner.replace_definition(definition, expected_version).await
    }

    async fn delete_definition(
        &self,
        project_id: Uuid,
        name: &DefinitionName,
        expected_version: Option<i64>,
    ) -> StoreResult<Replace> {
        self.inner.delete_definition(project_id, name, expected_version).await
    }
}

#[async_trait]
impl ReleaseRecords for InvalidatingStore {
    async fn insert_release(&self, release: &ReleaseRecord) -> StoreResult<()> {
        let _bump = self.bump();
        self.inner.insert_release(release).await
    }

    async fn release_by_version(&self, project_id: Uuid, version: &str) -> StoreResult<Option<ReleaseRecord>> {
        self.inner.release_by_version(project_id, version).await
    }

    async fn list_releases(
        &self,
        project_id: Uuid,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ReleaseRecord>> {
        self.inner.list_releases(project_id, after, limit).await
    }
}

#[async_trait]
impl DeploymentRecords for InvalidatingStore {
    async fn record_deployment(&self, deployment: &DeploymentRecord) -> StoreResult<(DeploymentRecord, bool)> {
        let _bump = self.bump();
        self.inner.record_deployment(deployment).await
    }

    async fn list_deployments(
        &self,
        project_id: Uuid,
        environment: Option<&EnvName>,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<DeploymentRecord>> {
        self.inner.list_deployments(project_id, environment, after, limit).await
    }

    async fn environment_states(
        &self,
        project_id: Uuid,
        environments: &[EnvName],
    ) -> StoreResult<Vec<EnvironmentState>> {
        self.inner.environment_states(project_id, environments).await
    }

    async fn environment_states_many(
        &self,
        projects: &[(Uuid, Vec<EnvName>)],
    ) -> StoreResult<Vec<Vec<EnvironmentState>>> {
        self.inner.environment_states_many(projects).await
    }
}

#[async_trait]
impl GithubRecords for InvalidatingStore {
    // The GitHub integration and delivery ids are in no cached answer, so their writes leave the cache alone (a
    // webhook burst would otherwise empty it at every delivery).
    async fn put_github_integration(&self, integration: &GithubIntegrationRecord) -> StoreResult<()> {
        self.inner.put_github_integration(integration).await
    }

    async fn github_integration(&self, project_id: Uuid) -> StoreResult<Option<GithubIntegrationRecord>> {
        self.inner.github_integration(project_id).await
    }
}
