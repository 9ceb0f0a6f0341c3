//! The embedded projects store on SQLite: what `devopstrack up` and small teams run for real.
//!
//! Timestamps are INTEGER unix microseconds, ids TEXT (UUIDs lower-case hyphenated, so their text order is the
//! keyset tie-breaker the MongoDB store uses too), and a project's tags, repositories and environments are JSON text;
//! see `migrations/sqlite/0001_init.sql`. Write transactions start with `BEGIN IMMEDIATE` so two writers queue on the
//! busy timeout instead of deadlocking on a read-to-write upgrade.

mod github;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{Sqlite, SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use devopstrack_platform::sqlite::{ColumnError, micros, opt_time_col, time_col, uuid_col};

use super::{ProjectStore, Replace, StoreError, StoreResult};
use crate::domain::{
    CommitSha, DeliveryOutcome, DeploymentRecord, DeploymentStatus, EnvName, EnvironmentConfig, EnvironmentState,
    GithubIntegrationRecord, ProjectCursor, ProjectFilter, ProjectName, ProjectOrder, ProjectRecord, ProjectSortField,
    Provider, ReleaseRecord, RepoUrl, Repository, Slug, SortKey, Tag, Tier, TimeCursor, VersionLabel,
};

const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

macro_rules! project_columns {
    () => {
        "id, slug, name, description, tags, owner, repositories, environments, version, created_at, updated_at, \
         archived_at"
    };
}

macro_rules! release_columns {
    () => {
        "id, project_id, version, commit_sha, notes, created_by, created_at"
    };
}

macro_rules! deployment_columns {
    () => {
        "id, project_id, environment, version, commit_sha, status, started_at, finished_at, triggered_by, pipeline_id"
    };
}

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/projects.db`) and migrates it.
    ///
    /// The pool settings (and `sqlite::memory:` support) are the platform's: [`devopstrack_platform::sqlite`].
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = devopstrack_platform::sqlite::open_pool(url).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn latest_deployment(
        &self,
        project_id: Uuid,
        environment: &EnvName,
        succeeded_only: bool,
    ) -> StoreResult<Option<DeploymentRecord>> {
        let sql = if succeeded_only {
            concat!(
                "SELECT ",
                deployment_columns!(),
                " FROM deployments WHERE project_id = ?1 AND environment = ?2 AND status = 'succeeded'",
                " ORDER BY finished_at DESC, id DESC LIMIT 1"
            )
        } else {
            concat!(
                "SELECT ",
                deployment_columns!(),
                " FROM deployments WHERE project_id = ?1 AND environment = ?2",
                " ORDER BY finished_at DESC, id DESC LIMIT 1"
            )
        };
        let row = sqlx::query(sql)
            .bind(project_id.to_string())
            .bind(environment.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(deployment_from_row).transpose()
    }
}

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO projects (",
            project_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ))
        .bind(project.id.to_string())
        .bind(project.slug.as_str())
        .bind(project.name.as_str())
        .bind(&project.description)
        .bind(tags_json(&project.tags)?)
        .bind(&project.owner)
        .bind(repositories_json(&project.repositories)?)
        .bind(environments_json(&project.environments)?)
        .bind(project.version)
        .bind(micros(project.created_at))
        .bind(micros(project.updated_at))
        .bind(project.archived_at.map(micros))
        .execute(&self.pool)
        .await
        .map_err(conflict_on_unique("slug"))?;
        Ok(())
    }

    async fn project_by_id(&self, id: Uuid) -> StoreResult<Option<ProjectRecord>> {
        let row = sqlx::query(concat!("SELECT ", project_columns!(), " FROM projects WHERE id = ?1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn project_by_slug(&self, slug: &Slug) -> StoreResult<Option<ProjectRecord>> {
        let row = sqlx::query(concat!("SELECT ", project_columns!(), " FROM projects WHERE slug = ?1"))
            .bind(slug.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn list_projects(
        &self,
        filter: &ProjectFilter,
        order: ProjectOrder,
        after: Option<&ProjectCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ProjectRecord>> {
        let column = match order.field {
            ProjectSortField::Slug => "slug",
            ProjectSortField::Name => "name",
            ProjectSortField::CreatedAt => "created_at",
            ProjectSortField::UpdatedAt => "updated_at",
        };
        let direction = if order.descending { "DESC" } else { "ASC" };
        let mut query =
            QueryBuilder::<Sqlite>::new(concat!("SELECT ", project_columns!(), " FROM projects WHERE 1 = 1"));
        if !filter.include_archived {
            query.push(" AND archived_at IS NULL");
        }
        if let Some(tag) = &filter.tag {
            query
                .push(" AND EXISTS (SELECT 1 FROM json_each(projects.tags) WHERE json_each.value = ")
                .push_bind(tag.as_str().to_owned())
                .push(")");
        }
        if let Some(text) = filter.query.as_deref().filter(|q| !q.is_empty()) {
            // instr, not LIKE: the query is matched literally (`%` and `_` are not wildcards). lower() folds ASCII.
            let needle = text.to_ascii_lowercase();
            query.push(" AND (");
            for (i, col) in ["slug", "name", "description"].into_iter().enumerate() {
                if i > 0 {
                    query.push(" OR ");
                }
                query
                    .push(format_args!("instr(lower({col}), "))
                    .push_bind(needle.clone())
                    .push(") > 0");
            }
            query.push(")");
        }
        if let Some(cursor) = after {
            let op = if order.descending { "<" } else { ">" };
            query.push(format_args!(" AND ({column}, id) {op} ("));
            match (&cursor.key, order.field) {
                (SortKey::Text(value), ProjectSortField::Slug | ProjectSortField::Name) => {
                    query.push_bind(value.clone());
                }
                (SortKey::Time(at), ProjectSortField::CreatedAt | ProjectSortField::UpdatedAt) => {
                    query.push_bind(micros(*at));
                }
                _ => {
                    return Err(StoreError::Corrupt(
                        "the cursor's key does not match the sort order".into(),
                    ));
                }
            }
            query.push(", ").push_bind(cursor.id.to_string()).push(")");
        }
        query
            .push(format_args!(" ORDER BY {column} {direction}, id {direction} LIMIT "))
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(project_from_row).collect()
    }

    async fn replace_project(&self, project: &ProjectRecord, expected_version: i64) -> StoreResult<Replace> {
        let id = project.id.to_string();
        let done = sqlx::query(
            "UPDATE projects SET slug = ?1, name = ?2, description = ?3, tags = ?4, owner = ?5, repositories = ?6, \
             environments = ?7, version = ?8, created_at = ?9, updated_at = ?10, archived_at = ?11 \
             WHERE id = ?12 AND version = ?13",
        )
        .bind(project.slug.as_str())
        .bind(project.name.as_str())
        .bind(&project.description)
        .bind(tags_json(&project.tags)?)
        .bind(&project.owner)
        .bind(repositories_json(&project.repositories)?)
        .bind(environments_json(&project.environments)?)
        .bind(project.version)
        .bind(micros(project.created_at))
        .bind(micros(project.updated_at))
        .bind(project.archived_at.map(micros))
        .bind(&id)
        .bind(expected_version)
        .execute(&self.pool)
        .await
        .map_err(conflict_on_unique("slug"))?;
        if done.rows_affected() > 0 {
            return Ok(Replace::Done);
        }
        let current: Option<i64> = sqlx::query_scalar("SELECT version FROM projects WHERE id = ?1")
            .bind(&id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match current {
            Some(current) => Replace::VersionMismatch { current },
            None => Replace::NotFound,
        })
    }

    async fn delete_project(&self, id: Uuid) -> StoreResult<bool> {
        let id = id.to_string();
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        sqlx::query("DELETE FROM releases WHERE project_id = ?1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM deployments WHERE project_id = ?1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM github_integrations WHERE project_id = ?1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE project_id = ?1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM projects WHERE id = ?1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn insert_release(&self, release: &ReleaseRecord) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO releases (",
            release_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ))
        .bind(release.id.to_string())
        .bind(release.project_id.to_string())
        .bind(release.version.as_str())
        .bind(release.commit_sha.as_ref().map(CommitSha::as_str))
        .bind(&release.notes)
        .bind(&release.created_by)
        .bind(micros(release.created_at))
        .execute(&self.pool)
        .await
        .map_err(conflict_on_unique("release version"))?;
        Ok(())
    }

    async fn release_by_version(&self, project_id: Uuid, version: &str) -> StoreResult<Option<ReleaseRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            release_columns!(),
            " FROM releases WHERE project_id = ?1 AND version = ?2"
        ))
        .bind(project_id.to_string())
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(release_from_row).transpose()
    }

    async fn list_releases(
        &self,
        project_id: Uuid,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ReleaseRecord>> {
        let mut query = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            release_columns!(),
            " FROM releases WHERE project_id = "
        ));
        query.push_bind(project_id.to_string());
        if let Some(cursor) = after {
            query
                .push(" AND (created_at, id) < (")
                .push_bind(micros(cursor.at))
                .push(", ")
                .push_bind(cursor.id.clone())
                .push(")");
        }
        query
            .push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(release_from_row).collect()
    }

    async fn record_deployment(&self, deployment: &DeploymentRecord) -> StoreResult<(DeploymentRecord, bool)> {
        let inserted = sqlx::query(concat!(
            "INSERT INTO deployments (",
            deployment_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (id) DO NOTHING"
        ))
        .bind(&deployment.id)
        .bind(deployment.project_id.to_string())
        .bind(deployment.environment.as_str())
        .bind(deployment.version.as_str())
        .bind(deployment.commit_sha.as_ref().map(CommitSha::as_str))
        .bind(deployment.status.as_str())
        .bind(micros(deployment.started_at))
        .bind(micros(deployment.finished_at))
        .bind(&deployment.triggered_by)
        .bind(&deployment.pipeline_id)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() > 0 {
            return Ok((deployment.clone(), true));
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            deployment_columns!(),
            " FROM deployments WHERE id = ?1"
        ))
        .bind(&deployment.id)
        .fetch_one(&self.pool)
        .await?;
        Ok((deployment_from_row(&row)?, false))
    }

    async fn list_deployments(
        &self,
        project_id: Uuid,
        environment: Option<&EnvName>,
        after: Option<&TimeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<DeploymentRecord>> {
        let mut query = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            deployment_columns!(),
            " FROM deployments WHERE project_id = "
        ));
        query.push_bind(project_id.to_string());
        if let Some(environment) = environment {
            query
                .push(" AND environment = ")
                .push_bind(environment.as_str().to_owned());
        }
        if let Some(cursor) = after {
            query
                .push(" AND (finished_at, id) < (")
                .push_bind(micros(cursor.at))
                .push(", ")
                .push_bind(cursor.id.clone())
                .push(")");
        }
        query
            .push(" ORDER BY finished_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(deployment_from_row).collect()
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

    /// Two queries for a whole page: the latest succeeded and the latest deployment of every (project,
    /// environment), picked with a window function over the `(project_id, environment, finished_at DESC, id DESC)`
    /// index.
    async fn environment_states_many(
        &self,
        projects: &[(Uuid, Vec<EnvName>)],
    ) -> StoreResult<Vec<Vec<EnvironmentState>>> {
        if projects.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; projects.len()].join(",");
        let mut latest: [HashMap<(Uuid, String), DeploymentRecord>; 2] = [HashMap::new(), HashMap::new()];
        for (succeeded_only, found) in [true, false].into_iter().zip(latest.iter_mut()) {
            let sql = format!(
                "SELECT {columns} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY project_id, environment \
                 ORDER BY finished_at DESC, id DESC) AS rn FROM deployments WHERE project_id IN ({placeholders}){only}) \
                 WHERE rn = 1",
                columns = deployment_columns!(),
                only = if succeeded_only {
                    " AND status = 'succeeded'"
                } else {
                    ""
                },
            );
            // Safe: constant column list and `?` placeholders only; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (project_id, _) in projects {
                query = query.bind(project_id.to_string());
            }
            for row in query.fetch_all(&self.pool).await? {
                let deployment = deployment_from_row(&row)?;
                found.insert(
                    (deployment.project_id, deployment.environment.as_str().to_owned()),
                    deployment,
                );
            }
        }
        let [mut current, mut last] = latest;
        Ok(projects
            .iter()
            .map(|(project_id, environments)| {
                environments
                    .iter()
                    .map(|environment| {
                        let key = (*project_id, environment.as_str().to_owned());
                        EnvironmentState {
                            environment: environment.clone(),
                            current: current.remove(&key),
                            last: last.remove(&key),
                        }
                    })
                    .collect()
            })
            .collect())
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

// ---- JSON columns

#[derive(Serialize, Deserialize)]
struct RepositoryJson {
    url: String,
    provider: String,
    default_branch: String,
}

#[derive(Serialize, Deserialize)]
struct EnvironmentJson {
    name: String,
    tier: String,
    url: String,
    protected: bool,
}

fn to_json<T: Serialize>(column: &str, value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("{column}: cannot encode: {e}")))
}

fn tags_json(tags: &[Tag]) -> StoreResult<String> {
    to_json("tags", &tags.iter().map(Tag::as_str).collect::<Vec<_>>())
}

fn repositories_json(repositories: &[Repository]) -> StoreResult<String> {
    let rows: Vec<_> = repositories
        .iter()
        .map(|r| RepositoryJson {
            url: r.url.as_str().to_owned(),
            provider: r.provider.as_str().to_owned(),
            default_branch: r.default_branch.clone(),
        })
        .collect();
    to_json("repositories", &rows)
}

fn environments_json(environments: &[EnvironmentConfig]) -> StoreResult<String> {
    let rows: Vec<_> = environments
        .iter()
        .map(|e| EnvironmentJson {
            name: e.name.as_str().to_owned(),
            tier: e.tier.as_str().to_owned(),
            url: e.url.clone(),
            protected: e.protected,
        })
        .collect();
    to_json("environments", &rows)
}

fn json_col<T: for<'de> Deserialize<'de>>(row: &SqliteRow, column: &str) -> StoreResult<T> {
    let value: String = row.try_get(column)?;
    serde_json::from_str(&value).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

// ---- rows

fn project_from_row(row: &SqliteRow) -> StoreResult<ProjectRecord> {
    let tags: Vec<String> = json_col(row, "tags")?;
    let repositories: Vec<RepositoryJson> = json_col(row, "repositories")?;
    let environments: Vec<EnvironmentJson> = json_col(row, "environments")?;
    Ok(ProjectRecord {
        id: uuid_col(row, "id")?,
        slug: Slug::from_trusted(row.try_get("slug")?),
        name: ProjectName::from_trusted(row.try_get("name")?),
        description: row.try_get("description")?,
        tags: tags.into_iter().map(Tag::from_trusted).collect(),
        owner: row.try_get("owner")?,
        repositories: repositories
            .into_iter()
            .map(|r| {
                Ok(Repository {
                    url: RepoUrl::from_trusted(r.url),
                    provider: Provider::parse(&r.provider)
                        .ok_or_else(|| StoreError::Corrupt(format!("repositories: provider {:?}", r.provider)))?,
                    default_branch: r.default_branch,
                })
            })
            .collect::<StoreResult<_>>()?,
        environments: environments
            .into_iter()
            .map(|e| {
                Ok(EnvironmentConfig {
                    name: EnvName::from_trusted(e.name),
                    tier: Tier::parse(&e.tier)
                        .ok_or_else(|| StoreError::Corrupt(format!("environments: tier {:?}", e.tier)))?,
                    url: e.url,
                    protected: e.protected,
                })
            })
            .collect::<StoreResult<_>>()?,
        version: row.try_get("version")?,
        created_at: time_col(row, "created_at")?,
        updated_at: time_col(row, "updated_at")?,
        archived_at: opt_time_col(row, "archived_at")?,
    })
}

fn release_from_row(row: &SqliteRow) -> StoreResult<ReleaseRecord> {
    Ok(ReleaseRecord {
        id: uuid_col(row, "id")?,
        project_id: uuid_col(row, "project_id")?,
        version: VersionLabel::from_trusted(row.try_get("version")?),
        commit_sha: row
            .try_get::<Option<String>, _>("commit_sha")?
            .map(CommitSha::from_trusted),
        notes: row.try_get("notes")?,
        created_by: row.try_get("created_by")?,
        created_at: time_col(row, "created_at")?,
    })
}

fn deployment_from_row(row: &SqliteRow) -> StoreResult<DeploymentRecord> {
    let status: String = row.try_get("status")?;
    Ok(DeploymentRecord {
        id: row.try_get("id")?,
        project_id: uuid_col(row, "project_id")?,
        environment: EnvName::from_trusted(row.try_get("environment")?),
        version: VersionLabel::from_trusted(row.try_get("version")?),
        commit_sha: row
            .try_get::<Option<String>, _>("commit_sha")?
            .map(CommitSha::from_trusted),
        status: DeploymentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status: {status:?} is not a deployment status")))?,
        started_at: time_col(row, "started_at")?,
        finished_at: time_col(row, "finished_at")?,
        triggered_by: row.try_get("triggered_by")?,
        pipeline_id: row.try_get("pipeline_id")?,
    })
}

fn conflict_on_unique(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Sqlite(err),
    }
}

impl From<ColumnError> for StoreError {
    fn from(e: ColumnError) -> Self {
        match e {
            ColumnError::Sqlx(e) => StoreError::Sqlite(e),
            ColumnError::Corrupt(message) => StoreError::Corrupt(message),
        }
    }
}
