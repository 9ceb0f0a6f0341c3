//! Projects on SQLite: table `projects` (tags, repositories and environments as JSON text), its keyset-paginated
//! listing, the compare-and-set replace and the cascading delete. It implements [`ProjectRecords`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteRow};
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use devopstrack_platform::sqlite::{micros, opt_time_col, time_col, uuid_col};

use super::{BEGIN_WRITE, SqliteStore, conflict_on_unique};
use crate::domain::{
    EnvName, EnvironmentConfig, ProjectListing, ProjectName, ProjectRecord, ProjectSortField, Provider, RepoUrl,
    Repository, Slug, SortKey, Tag, Tier,
};
use crate::store::{ProjectRecords, Replace, StoreError, StoreResult};

macro_rules! project_columns {
    () => {
        "id, slug, name, description, tags, owner, repositories, environments, version, created_at, updated_at, \
         archived_at"
    };
}

#[async_trait]
impl ProjectRecords for SqliteStore {
    async fn insert_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        insert_project_with(&self.pool, project).await
    }

    #[tracing::instrument(name = "store.project_by_id", skip_all, fields(db.system = "sqlite"))]
    async fn project_by_id(&self, id: Uuid) -> StoreResult<Option<ProjectRecord>> {
        let row = sqlx::query(concat!("SELECT ", project_columns!(), " FROM projects WHERE id = ?1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    #[tracing::instrument(name = "store.project_by_slug", skip_all, fields(db.system = "sqlite"))]
    async fn project_by_slug(&self, slug: &Slug) -> StoreResult<Option<ProjectRecord>> {
        let row = sqlx::query(concat!("SELECT ", project_columns!(), " FROM projects WHERE slug = ?1"))
            .bind(slug.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn list_projects(&self, listing: &ProjectListing) -> StoreResult<Vec<ProjectRecord>> {
        let column = match listing.order.field {
            ProjectSortField::Slug => "slug",
            ProjectSortField::Name => "name",
            ProjectSortField::CreatedAt => "created_at",
            ProjectSortField::UpdatedAt => "updated_at",
        };
        let direction = if listing.order.descending { "DESC" } else { "ASC" };
        let mut query =
            QueryBuilder::<Sqlite>::new(concat!("SELECT ", project_columns!(), " FROM projects WHERE 1 = 1"));
        if !listing.filter.include_archived {
            query.push(" AND archived_at IS NULL");
        }
        if let Some(tag) = &listing.filter.tag {
            query
                .push(" AND EXISTS (SELECT 1 FROM json_each(projects.tags) WHERE json_each.value = ")
                .push_bind(tag.as_str().to_owned())
                .push(")");
        }
        if let Some(text) = listing.filter.query.as_deref().filter(|q| !q.is_empty()) {
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
        if let Some(cursor) = &listing.after {
            let op = if listing.order.descending { "<" } else { ">" };
            query.push(format_args!(" AND ({column}, id) {op} ("));
            match (&cursor.key, listing.order.field) {
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
            .push_bind(i64::from(listing.limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(project_from_row).collect()
    }

    async fn replace_project(&self, project: &ProjectRecord, expected_version: i64) -> StoreResult<Replace> {
        let id = project.id.to_string();
        let update = sqlx::query(
            "UPDATE projects SET slug = ?2, name = ?3, description = ?4, tags = ?5, owner = ?6, repositories = ?7, \
             environments = ?8, version = ?9, created_at = ?10, updated_at = ?11, archived_at = ?12 \
             WHERE id = ?1 AND version = ?13",
        );
        let done = bind_project(update, project)?
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
        sqlx::query("DELETE FROM pipeline_definitions WHERE project_id = ?1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM github_integrations WHERE project_id = ?1")
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
}

/// Inserts the project row with `executor` (the pool, or a transaction that inserts more with it).
pub(super) async fn insert_project_with<'e, E>(executor: E, project: &ProjectRecord) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let insert = sqlx::query(concat!(
        "INSERT INTO projects (",
        project_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ));
    bind_project(insert, project)?
        .execute(executor)
        .await
        .map_err(conflict_on_unique("slug"))?;
    Ok(())
}

/// Binds `?1`..`?12`, the whole row in `project_columns!()` order, for an insert and a replace alike.
fn bind_project<'q>(
    query: Query<'q, Sqlite, SqliteArguments>,
    project: &'q ProjectRecord,
) -> StoreResult<Query<'q, Sqlite, SqliteArguments>> {
    Ok(query
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
        .bind(project.archived_at.map(micros)))
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
