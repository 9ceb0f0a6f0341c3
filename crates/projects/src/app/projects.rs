//! Projects themselves: create, read, list, update (compare-and-set on `expected_version`), archive, delete.

use uuid::Uuid;

use devopstrack_platform::auth::{Principal, Role};

use super::settings::{EnvironmentInput, RepositoryInput, parse_environments, parse_repositories};
use super::{ProjectView, ProjectsApp, require, short_text, store_err};
use crate::domain::{
    ProjectCursor, ProjectFilter, ProjectListing, ProjectName, ProjectOrder, ProjectRecord, ProjectSortField, Slug,
    SortKey, Tag, default_definitions, parse_description,
};
use crate::error::Error;
use crate::pagination::{decode_project_token, encode_project_token, page_size, parse_order_by};
use crate::store::StoreError;

const MAX_OWNER_CHARS: usize = 200;
const MAX_QUERY_CHARS: usize = 200;

/// A project to create, as received (validated here). An empty owner means the caller.
#[derive(Debug, Clone, Default)]
pub struct NewProject {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub owner: String,
    pub repositories: Vec<RepositoryInput>,
    pub environments: Vec<EnvironmentInput>,
}

/// ListProjects as received.
#[derive(Debug, Clone, Default)]
pub struct ProjectQuery {
    pub page_size: i32,
    pub page_token: String,
    pub query: String,
    pub tag: String,
    pub include_archived: bool,
    pub order_by: String,
}

#[derive(Debug, Clone)]
pub struct ProjectPage {
    pub projects: Vec<ProjectView>,
    pub next_page_token: Option<String>,
}

/// The fields an update mask may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateField {
    Name,
    Description,
    Tags,
    Owner,
}

impl UpdateField {
    pub fn parse(path: &str) -> Result<Self, Error> {
        match path {
            "name" => Ok(Self::Name),
            "description" => Ok(Self::Description),
            "tags" => Ok(Self::Tags),
            "owner" => Ok(Self::Owner),
            other => Err(Error::invalid(
                "updateMask",
                format!("unknown path {other:?}: use name, description, tags or owner"),
            )),
        }
    }
}

/// UpdateProject as received: the mask's paths and the values they take.
#[derive(Debug, Clone, Default)]
pub struct ProjectPatch {
    pub expected_version: i64,
    pub paths: Vec<String>,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub owner: String,
}

impl ProjectsApp {
    #[tracing::instrument(skip_all, fields(slug = %new.slug))]
    pub async fn create_project(&self, principal: &Principal, new: NewProject) -> Result<ProjectView, Error> {
        require(principal, Role::Admin)?;
        let slug = Slug::parse(&new.slug).map_err(|e| Error::invalid("slug", e))?;
        let name = ProjectName::parse(&new.name).map_err(|e| Error::invalid("name", e))?;
        let description = parse_description(&new.description).map_err(|e| Error::invalid("description", e))?;
        let tags = Tag::parse_list(&new.tags).map_err(|e| Error::invalid("tags", e))?;
        let owner = match short_text("owner", &new.owner, MAX_OWNER_CHARS)? {
            owner if owner.is_empty() => principal.subject.clone(),
            owner => owner,
        };
        let repositories = parse_repositories(&new.repositories)?;
        let environments = parse_environments(&new.environments)?;
        let now = self.now();
        let project = ProjectRecord {
            id: Uuid::now_v7(),
            slug,
            name,
            description,
            tags,
            owner,
            repositories,
            environments,
            version: 1,
            created_at: now,
            updated_at: now,
            archived_at: None,
        };
        // With the default `ci` and `deploy` definitions, in one write: a new project can run and deploy at once.
        let definitions = default_definitions(project.id, now);
        self.store
            .insert_project_with_definitions(&project, &definitions)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => Error::Conflict(format!("slug: a project {} already exists", project.slug)),
                other => store_err("creating a project")(other),
            })?;
        tracing::info!(project_id = %project.id, "project created");
        self.view(project).await
    }

    /// By id or slug.
    /// Viewer and up, and the `service` role: tasks looks a project up as its caller, which for a GitHub run tracked
    /// from a webhook is the gateway's service token.
    pub async fn get_project(&self, principal: &Principal, project: &str) -> Result<ProjectView, Error> {
        if principal.role != Role::Service {
            require(principal, Role::Viewer)?;
        }
        self.cached_view("project", project).await
    }

    pub async fn list_projects(&self, principal: &Principal, query: ProjectQuery) -> Result<ProjectPage, Error> {
        require(principal, Role::Viewer)?;
        let limit = page_size(query.page_size)?;
        let order = parse_order_by(&query.order_by)?;
        let text = short_text("query", &query.query, MAX_QUERY_CHARS)?;
        let filter = ProjectFilter {
            query: (!text.is_empty()).then_some(text),
            tag: match query.tag.as_str() {
                "" => None,
                tag => Some(Tag::parse(tag).map_err(|e| Error::invalid("tag", e))?),
            },
            include_archived: query.include_archived,
        };
        let after = decode_project_token(&query.page_token, order, &filter)?;
        let key = ProjectListing {
            filter,
            order,
            after,
            limit,
        };
        let Some(ticket) = self.cache.ticket(self.now()) else {
            return self.read_page(&key).await;
        };
        if let Some(page) = self.cache.page(ticket, &key) {
            return Ok(page.as_ref().clone());
        }
        let page = self.read_page(&key).await?;
        self.cache.put_page(ticket, key, page.clone());
        Ok(page)
    }

    /// One ListProjects page from the store: the projects (one more than the page, to know whether another
    /// follows), then the state of their environments.
    async fn read_page(&self, key: &ProjectListing) -> Result<ProjectPage, Error> {
        let (filter, order, limit) = (&key.filter, key.order, key.limit);
        let one_more = ProjectListing {
            limit: limit + 1,
            ..key.clone()
        };
        let mut rows = self
            .store
            .list_projects(&one_more)
            .await
            .map_err(store_err("listing projects"))?;
        let next_page_token = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|p| encode_project_token(order, filter, &cursor(order, p)))
        } else {
            None
        };
        let wanted: Vec<_> = rows
            .iter()
            .map(|p| (p.id, p.environments.iter().map(|e| e.name.clone()).collect()))
            .collect();
        let states = self
            .store
            .environment_states_many(&wanted)
            .await
            .map_err(store_err("loading environment states"))?;
        let projects = rows
            .into_iter()
            .zip(states)
            .map(|(project, states)| ProjectView { project, states })
            .collect();
        Ok(ProjectPage {
            projects,
            next_page_token,
        })
    }

    /// Applies the fields named by the mask if `expected_version` is the stored version (ABORTED otherwise: read
    /// again, retry). Never retried here: the caller decided on what it read.
    #[tracing::instrument(skip_all, fields(project = %project))]
    pub async fn update_project(
        &self,
        principal: &Principal,
        project: &str,
        patch: ProjectPatch,
    ) -> Result<ProjectView, Error> {
        require(principal, Role::Admin)?;
        if patch.paths.is_empty() {
            return Err(Error::invalid(
                "updateMask",
                "is required: name the fields to change (name, description, tags, owner)",
            ));
        }
        let fields = patch
            .paths
            .iter()
            .map(|p| UpdateField::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        if patch.expected_version <= 0 {
            return Err(Error::invalid(
                "expectedVersion",
                "is required: the version of the project you read",
            ));
        }
        let current = self.project("project", project).await?;
        let stale = |actual: i64| {
            Error::Aborted(format!(
                "expectedVersion: the project's version is {actual}, expected {}; read it again and retry",
                patch.expected_version
            ))
        };
        if current.version != patch.expected_version {
            return Err(stale(current.version));
        }
        let mut next = current;
        for field in fields {
            match field {
                UpdateField::Name => {
                    next.name = ProjectName::parse(&patch.name).map_err(|e| Error::invalid("name", e))?;
                }
                UpdateField::Description => {
                    next.description =
                        parse_description(&patch.description).map_err(|e| Error::invalid("description", e))?;
                }
                UpdateField::Tags => next.tags = Tag::parse_list(&patch.tags).map_err(|e| Error::invalid("tags", e))?,
                UpdateField::Owner => {
                    next.owner = short_text("owner", &patch.owner, MAX_OWNER_CHARS)?;
                    if next.owner.is_empty() {
                        return Err(Error::invalid("owner", "must not be empty"));
                    }
                }
            }
        }
        let updated = self.replace(next, patch.expected_version).await?.map_err(stale)?;
        self.view(updated).await
    }

    /// Idempotent: archiving an archived project answers it unchanged. Archived projects take no new releases or
    /// deployments and are left out of ListProjects unless asked for.
    #[tracing::instrument(skip_all, fields(project = %project))]
    pub async fn archive_project(&self, principal: &Principal, project: &str) -> Result<ProjectView, Error> {
        require(principal, Role::Admin)?;
        let updated = self
            .mutate("project", project, |p| {
                if p.archived_at.is_some() {
                    return Ok(false);
                }
                p.archived_at = Some(self.now());
                Ok(true)
            })
            .await?;
        self.view(updated).await
    }

    /// Deletes the project with its releases and deployments.
    #[tracing::instrument(skip_all, fields(project = %project))]
    pub async fn delete_project(&self, principal: &Principal, project: &str) -> Result<(), Error> {
        require(principal, Role::Admin)?;
        let found = self.project("project", project).await?;
        let deleted = self
            .store
            .delete_project(found.id)
            .await
            .map_err(store_err("deleting a project"))?;
        if !deleted {
            return Err(Error::NotFound(format!("project: no project {project:?}")));
        }
        tracing::info!(project_id = %found.id, slug = %found.slug, "project deleted");
        Ok(())
    }
}

/// The keyset position of `project` in `order`.
fn cursor(order: ProjectOrder, project: &ProjectRecord) -> ProjectCursor {
    let key = match order.field {
        ProjectSortField::Slug => SortKey::Text(project.slug.as_str().to_owned()),
        ProjectSortField::Name => SortKey::Text(project.name.as_str().to_owned()),
        ProjectSortField::CreatedAt => SortKey::Time(project.created_at),
        ProjectSortField::UpdatedAt => SortKey::Time(project.updated_at),
    };
    ProjectCursor { key, id: project.id }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_paths_are_the_four_fields() {
        for (path, field) in [
            ("name", UpdateField::Name),
            ("description", UpdateField::Description),
            ("tags", UpdateField::Tags),
            ("owner", UpdateField::Owner),
        ] {
            assert_eq!(UpdateField::parse(path).unwrap(), field);
        }
        for bad in ["slug", "version", "Name", ""] {
            assert!(
                UpdateField::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .starts_with("updateMask: unknown path")
            );
        }
    }
}
