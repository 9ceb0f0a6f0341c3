//! Projects on MongoDB: collection `projects` (`_id` = project id, unique `slug`), its keyset-paginated listing with a
//! literal text match, the compare-and-set replace and the ordered delete. It implements [`ProjectRecords`].

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use uuid::Uuid;

use super::fields::{corrupt, date, int, opt_time, string, subdocs, time, uuid};
use super::{MongoStore, after_key, and, conflict_on_duplicate, mismatch_or_missing};
use crate::domain::{
    EnvName, EnvironmentConfig, ProjectListing, ProjectName, ProjectRecord, ProjectSortField, Provider, RepoUrl,
    Repository, Slug, SortKey, Tag, Tier,
};
use crate::store::{ProjectRecords, Replace, StoreError, StoreResult};

#[async_trait]
impl ProjectRecords for MongoStore {
    async fn insert_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        self.projects
            .insert_one(project_to_doc(project))
            .await
            .map_err(conflict_on_duplicate("slug"))?;
        Ok(())
    }

    #[tracing::instrument(name = "store.project_by_id", skip_all, fields(db.system = "mongodb"))]
    async fn project_by_id(&self, id: Uuid) -> StoreResult<Option<ProjectRecord>> {
        let found = self.projects.find_one(doc! { "_id": id.to_string() }).await?;
        found.as_ref().map(project_from_doc).transpose()
    }

    #[tracing::instrument(name = "store.project_by_slug", skip_all, fields(db.system = "mongodb"))]
    async fn project_by_slug(&self, slug: &Slug) -> StoreResult<Option<ProjectRecord>> {
        let found = self.projects.find_one(doc! { "slug": slug.as_str() }).await?;
        found.as_ref().map(project_from_doc).transpose()
    }

    async fn list_projects(&self, listing: &ProjectListing) -> StoreResult<Vec<ProjectRecord>> {
        if listing.limit == 0 {
            // `limit(0)` means "no limit" to MongoDB; SQL's `LIMIT 0` (and the trait) mean an empty page.
            return Ok(Vec::new());
        }
        let field = match listing.order.field {
            ProjectSortField::Slug => "slug",
            ProjectSortField::Name => "name",
            ProjectSortField::CreatedAt => "created_at_us",
            ProjectSortField::UpdatedAt => "updated_at_us",
        };
        let mut clauses: Vec<Document> = Vec::new();
        if !listing.filter.include_archived {
            clauses.push(doc! { "archived_at_us": Bson::Null });
        }
        if let Some(tag) = &listing.filter.tag {
            clauses.push(doc! { "tags": tag.as_str() });
        }
        if let Some(text) = listing.filter.query.as_deref().filter(|q| !q.is_empty()) {
            let pattern = escape_regex(text);
            let matches = |field: &str| doc! { field: { "$regex": pattern.as_str(), "$options": "i" } };
            clauses.push(doc! { "$or": [matches("slug"), matches("name"), matches("description")] });
        }
        if let Some(cursor) = &listing.after {
            let key = match (&cursor.key, listing.order.field) {
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
            clauses.push(after_key(field, key, cursor.id.to_string(), listing.order.descending));
        }
        let direction = if listing.order.descending { -1 } else { 1 };
        let found: Vec<Document> = self
            .projects
            .find(and(clauses))
            .sort(doc! { field: direction, "_id": direction })
            .limit(i64::from(listing.limit))
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
        mismatch_or_missing(&self.projects, &id).await
    }

    async fn delete_project(&self, id: Uuid) -> StoreResult<bool> {
        let id = id.to_string();
        self.releases.delete_many(doc! { "project_id": &id }).await?;
        self.deployments.delete_many(doc! { "project_id": &id }).await?;
        self.definitions.delete_many(doc! { "project_id": &id }).await?;
        self.delete_github_data(&id).await?;
        let deleted = self.projects.delete_one(doc! { "_id": &id }).await?;
        Ok(deleted.deleted_count > 0)
    }
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

// ---- documents

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
