//! What the projects store keeps. Timestamps are UTC at microsecond precision (call [`now_micros`]), so every store
//! round-trips them exactly.

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use super::{CommitSha, EnvName, ProjectName, RepoUrl, Slug, Tag, VersionLabel};

pub fn now_micros() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Github,
    Gitlab,
    Other,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
            Provider::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "github" => Some(Provider::Github),
            "gitlab" => Some(Provider::Gitlab),
            "other" => Some(Provider::Other),
            _ => None,
        }
    }

    /// From the URL's host when not given.
    pub fn infer(url: &RepoUrl) -> Self {
        match url.host() {
            "github.com" => Provider::Github,
            h if h == "gitlab.com" || h.starts_with("gitlab.") => Provider::Gitlab,
            _ => Provider::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub url: RepoUrl,
    pub provider: Provider,
    pub default_branch: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Development,
    Staging,
    Production,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Development => "development",
            Tier::Staging => "staging",
            Tier::Production => "production",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "development" => Some(Tier::Development),
            "staging" => Some(Tier::Staging),
            "production" => Some(Tier::Production),
            _ => None,
        }
    }

    /// The tier a well-known environment name implies when none is given.
    pub fn infer(name: &EnvName) -> Self {
        match name.as_str() {
            "production" | "prod" => Tier::Production,
            "staging" | "stage" | "preprod" => Tier::Staging,
            _ => Tier::Development,
        }
    }
}

/// An environment's settings. Its state (current version, last deployment) is derived from the deployment history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentConfig {
    pub name: EnvName,
    pub tier: Tier,
    pub url: String,
    pub protected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRecord {
    pub id: Uuid,
    pub slug: Slug,
    pub name: ProjectName,
    pub description: String,
    /// Sorted, unique.
    pub tags: Vec<Tag>,
    pub owner: String,
    pub repositories: Vec<Repository>,
    pub environments: Vec<EnvironmentConfig>,
    /// Incremented by every change; updates compare-and-set on it.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    pub id: Uuid,
    pub project_id: Uuid,
    pub version: VersionLabel,
    pub commit_sha: Option<CommitSha>,
    pub notes: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeploymentStatus {
    Succeeded,
    Failed,
    RolledBack,
}

impl DeploymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Succeeded => "succeeded",
            DeploymentStatus::Failed => "failed",
            DeploymentStatus::RolledBack => "rolled_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "succeeded" => Some(DeploymentStatus::Succeeded),
            "failed" => Some(DeploymentStatus::Failed),
            "rolled_back" => Some(DeploymentStatus::RolledBack),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRecord {
    /// The idempotency key: 1..=64 characters `[A-Za-z0-9._:-]` (a UUID, `gh-123456`, …).
    pub id: String,
    pub project_id: Uuid,
    pub environment: EnvName,
    pub version: VersionLabel,
    pub commit_sha: Option<CommitSha>,
    pub status: DeploymentStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub triggered_by: String,
    pub pipeline_id: String,
    /// The deployment was a rollback (a run of the deploy definition back to an earlier good version): the version
    /// deployed before it is the one rolled back.
    pub rollback: bool,
}

/// What an environment runs, derived from the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentState {
    pub environment: EnvName,
    /// The latest (by `finished_at`, then id) succeeded deployment.
    pub current: Option<DeploymentRecord>,
    /// The latest deployment of any status.
    pub last: Option<DeploymentRecord>,
}

/// Which projects to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ProjectFilter {
    /// Case-insensitive (ASCII) substring of slug, name or description; matched literally (no patterns).
    pub query: Option<String>,
    pub tag: Option<Tag>,
    pub include_archived: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProjectSortField {
    Slug,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProjectOrder {
    pub field: ProjectSortField,
    pub descending: bool,
}

impl Default for ProjectOrder {
    fn default() -> Self {
        Self {
            field: ProjectSortField::Slug,
            descending: false,
        }
    }
}

/// The sort key of the last row of a page: the sort field's value, then the id as a tie-breaker (ids compare as
/// their hyphenated lower-case text in every store).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SortKey {
    Text(String),
    Time(DateTime<Utc>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectCursor {
    pub key: SortKey,
    pub id: Uuid,
}

/// Everything that selects a page of projects, validated: what the store is asked for, and what the read cache keys
/// a ListProjects page by. The page is the projects matching `filter`, ordered by `order` then id (same direction),
/// strictly after `after`, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectListing {
    pub filter: ProjectFilter,
    pub order: ProjectOrder,
    pub after: Option<ProjectCursor>,
    pub limit: u32,
}

/// Position in a newest-first list (`created_at` for releases, `finished_at` for deployments), id descending as the
/// tie-breaker (as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeCursor {
    pub at: DateTime<Utc>,
    pub id: String,
}
