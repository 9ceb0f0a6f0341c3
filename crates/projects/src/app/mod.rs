//! Use-cases of the projects service: the only code the transports call. Each takes the caller's verified
//! [`Principal`], enforces its own permissions, validates its input with the domain newtypes (messages name the field
//! in camelCase, as the proto's JSON mapping does) and talks to the store.
//!
//! Permissions: viewer reads; operator also creates releases; admin manages projects, repositories, environments and
//! pipeline definitions (`definitions.rs`);
//! RecordDeployment needs the `service` role (the tasks service) or admin. `Service` is not on the rank ladder, so it
//! is compared explicitly and reads nothing but GetProject (tasks looks projects up as its caller).
//!
//! The GitHub integration (`github.rs`): SetGithubIntegration is admin, GetGithubIntegration viewer and up,
//! VerifyGithubWebhook the `service` role only.
//!
//! GetProject, GetEnvironmentStates and ListProjects answer from a read cache after the permission check; every
//! store write invalidates it (`read_cache.rs`).

mod definitions;
mod deployments;
mod github;
mod projects;
mod read_cache;
mod releases;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use devopstrack_platform::auth::{Principal, Role};

use crate::domain::{EnvironmentConfig, EnvironmentState, ProjectRecord, Slug, now_micros};
use crate::error::Error;
use crate::secrets::SecretsKey;
use crate::store::{ProjectStore, Replace, StoreError};
use read_cache::ReadCache;

pub use definitions::{DefinitionInput, DefinitionView};
pub use deployments::{DeploymentPage, NewDeployment};
pub use github::{GithubIntegrationView, WebhookDelivery, WebhookVerification};
pub use projects::{NewProject, ProjectPage, ProjectPatch, ProjectQuery, UpdateField};
pub use releases::{NewRelease, ReleasePage};
pub use settings::{EnvironmentInput, RepositoryInput};

/// Where "now" comes from: the system clock, or a test's.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How many times a mutation without an expected version re-reads and retries after losing a compare-and-set.
const MUTATION_ATTEMPTS: usize = 3;

/// A project with the state of each of its environments (in the project's order), as every answer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectView {
    pub project: ProjectRecord,
    pub states: Vec<EnvironmentState>,
}

impl ProjectView {
    /// Each environment with its state (an environment without history gets an empty state).
    pub fn environments(&self) -> impl Iterator<Item = (&EnvironmentConfig, Option<&EnvironmentState>)> {
        self.project
            .environments
            .iter()
            .map(|env| (env, self.states.iter().find(|s| s.environment == env.name)))
    }
}

pub struct ProjectsApp {
    /// The store wrapped so that every write invalidates `cache`.
    store: Arc<dyn ProjectStore>,
    cache: ReadCache,
    clock: Clock,
    /// Seals webhook secrets; `None` until `DEVOPSTRACK_PROJECTS__SECRETS_KEY` is set ([`Self::with_secrets_key`]).
    secrets: Option<Arc<SecretsKey>>,
}

impl ProjectsApp {
    /// `read_cache_ttl` bounds how long a read may miss another replica's writes (this process's own writes
    /// invalidate at once); zero turns the read cache off. How it stays correct: `app/read_cache.rs`.
    pub fn new(store: Arc<dyn ProjectStore>, clock: Clock, read_cache_ttl: Duration) -> Self {
        let cache = ReadCache::new(read_cache_ttl);
        Self {
            store: cache.invalidating(store),
            cache,
            clock,
            secrets: None,
        }
    }

    /// The system clock, truncated to microseconds like everything the store keeps.
    pub fn system_clock() -> Clock {
        Arc::new(now_micros)
    }

    pub async fn ready(&self) -> Result<(), String> {
        self.store.ping().await.map_err(|e| format!("projects store: {e}"))
    }

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The project named by `raw` (an id or a slug; `field` names the request field), or NOT_FOUND.
    async fn project(&self, field: &str, raw: &str) -> Result<ProjectRecord, Error> {
        self.project_by_ref(field, raw, ProjectRef::parse(field, raw)?).await
    }

    async fn project_by_ref(&self, field: &str, raw: &str, key: ProjectRef) -> Result<ProjectRecord, Error> {
        let found = match key {
            ProjectRef::Id(id) => self.store.project_by_id(id).await,
            ProjectRef::Slug(slug) => self.store.project_by_slug(&slug).await,
        };
        found
            .map_err(store_err("loading a project"))?
            .ok_or_else(|| Error::NotFound(format!("{field}: no project {raw:?}")))
    }

    /// The project named by `raw` with the state of its environments, from the read cache when it may answer.
    async fn cached_view(&self, field: &str, raw: &str) -> Result<ProjectView, Error> {
        let key = ProjectRef::parse(field, raw)?;
        let Some(ticket) = self.cache.ticket(self.now()) else {
            let project = self.project_by_ref(field, raw, key).await?;
            return self.view(project).await;
        };
        if let Some(view) = self.cache.project(ticket, &key) {
            return Ok(view.as_ref().clone());
        }
        let project = self.project_by_ref(field, raw, key.clone()).await?;
        let view = self.view(project).await?;
        self.cache.put_project(ticket, key, view.clone());
        Ok(view)
    }

    /// The project with the state of its environments.
    async fn view(&self, project: ProjectRecord) -> Result<ProjectView, Error> {
        let names: Vec<_> = project.environments.iter().map(|e| e.name.clone()).collect();
        let states = self
            .store
            .environment_states(project.id, &names)
            .await
            .map_err(store_err("loading environment states"))?;
        Ok(ProjectView { project, states })
    }

    /// Read → modify → compare-and-set, retried when another writer got there first. `change` edits the project
    /// and answers whether it changed anything (no write when not: idempotent operations). The version and
    /// `updated_at` are set here.
    async fn mutate<F>(&self, field: &str, raw: &str, change: F) -> Result<ProjectRecord, Error>
    where
        F: Fn(&mut ProjectRecord) -> Result<bool, Error>,
    {
        for _ in 0..MUTATION_ATTEMPTS {
            let current = self.project(field, raw).await?;
            let mut next = current.clone();
            if !change(&mut next)? {
                return Ok(current);
            }
            match self.replace(next, current.version).await? {
                Ok(done) => return Ok(done),
                Err(_moved_on) => continue,
            }
        }
        Err(Error::Aborted(format!(
            "{field}: the project kept changing under this request ({MUTATION_ATTEMPTS} attempts); try again"
        )))
    }

    /// Writes `next` (with `version = expected + 1`, `updated_at = now`) over version `expected`; `Err(current)`
    /// when the stored version moved on.
    async fn replace(&self, mut next: ProjectRecord, expected: i64) -> Result<Result<ProjectRecord, i64>, Error> {
        next.version = expected + 1;
        next.updated_at = self.now().max(next.updated_at);
        match self
            .store
            .replace_project(&next, expected)
            .await
            .map_err(store_err("updating a project"))?
        {
            Replace::Done => Ok(Ok(next)),
            Replace::VersionMismatch { current } => Ok(Err(current)),
            Replace::NotFound => Err(Error::NotFound(format!("project {} was deleted meanwhile", next.slug))),
        }
    }
}

/// A project named by id or slug.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ProjectRef {
    Id(Uuid),
    Slug(Slug),
}

impl ProjectRef {
    fn parse(field: &str, raw: &str) -> Result<Self, Error> {
        if raw.is_empty() {
            return Err(Error::invalid(field, "is required: a project id or slug"));
        }
        if let Ok(id) = Uuid::parse_str(raw) {
            return Ok(Self::Id(id));
        }
        Slug::parse(raw)
            .map(Self::Slug)
            .map_err(|_| Error::invalid(field, "must be a project id (UUID) or slug"))
    }
}

/// Fails unless the principal has at least `role` on the user ladder (services never do).
fn require(principal: &Principal, role: Role) -> Result<(), Error> {
    if principal.role.at_least(role) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "this needs the {role} role; you are {}",
            principal.role
        )))
    }
}

/// Lifts a store error: `Conflict` for a uniqueness violation, `Unavailable` when the store is down or busy (the
/// caller may retry), else `Internal` with what we were doing.
fn store_err(doing: &'static str) -> impl FnOnce(StoreError) -> Error {
    move |e| match e {
        StoreError::Conflict(what) => Error::Conflict(format!("{what} already exists")),
        StoreError::Unavailable(reason) => {
            tracing::warn!(%reason, doing, "the projects store is unavailable");
            Error::Unavailable("the projects store is unavailable; retry shortly".into())
        }
        other @ (StoreError::Sqlite(_)
        | StoreError::Migrate(_)
        | StoreError::Mongo(_)
        | StoreError::Corrupt(_)
        | StoreError::Url(_)) => Error::Internal(anyhow::Error::new(other).context(doing)),
    }
}

/// Free text (owner, triggered-by, pipeline id): trimmed, at most `max` characters, no control characters.
fn short_text(field: &str, raw: &str, max: usize) -> Result<String, Error> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(Error::invalid(field, format!("must be at most {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}
