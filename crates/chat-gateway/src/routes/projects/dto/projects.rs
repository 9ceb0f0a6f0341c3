//! A project and its repositories: the answers, the bodies that create or change a project or attach a repository, and
//! the list and repository queries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use devopstrack_proto::projects::v1 as pb;

use super::environments::{EnvironmentBody, EnvironmentInput};
use crate::error::ApiError;
use crate::routes::dto::{proto_enum, time};

proto_enum!(
    /// Where a repository is hosted; omitted on input: inferred from the URL's host.
    Provider, Provider, "lowercase", { Github, Gitlab, Other });

// ---- answers ----

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Project)]
pub struct ProjectBody {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub owner: String,
    pub repositories: Vec<RepositoryBody>,
    pub environments: Vec<EnvironmentBody>,
    /// Optimistic-concurrency counter: send it back as `expectedVersion` to change the project.
    pub version: i64,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Set once archived (archived projects are read-only and hidden from lists unless `includeArchived=true`).
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<pb::Project> for ProjectBody {
    fn from(p: pb::Project) -> Self {
        Self {
            id: p.id,
            slug: p.slug,
            name: p.name,
            description: p.description,
            tags: p.tags,
            owner: p.owner,
            repositories: p.repositories.into_iter().map(RepositoryBody::from).collect(),
            environments: p.environments.into_iter().map(EnvironmentBody::from).collect(),
            version: p.version,
            created_at: time(p.created_at),
            updated_at: time(p.updated_at),
            archived_at: time(p.archived_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Repository)]
pub struct RepositoryBody {
    pub url: String,
    pub provider: Option<Provider>,
    pub default_branch: String,
}

impl From<pb::Repository> for RepositoryBody {
    fn from(r: pb::Repository) -> Self {
        Self {
            url: r.url,
            provider: Provider::from_proto(r.provider),
            default_branch: r.default_branch,
        }
    }
}

// ---- inputs ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateProjectRequest, example = json!({
    "slug": "api", "name": "API", "repositories": [{"url": "https://github.com/acme/api"}],
    "environments": [{"name": "staging", "tier": "staging"},
                     {"name": "production", "tier": "production", "protected": true}]
}))]
pub struct CreateProjectBody {
    /// Lowercase letters, digits and dashes; unique; used in URLs.
    #[schema(value_type = crate::openapi::contract::Slug)]
    pub slug: String,
    #[schema(value_type = crate::openapi::contract::DisplayName)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = crate::openapi::contract::Description)]
    pub description: String,
    /// At most 20 (duplicates count once).
    #[serde(default)]
    #[schema(value_type = Vec<crate::openapi::contract::Tag>, max_items = 20)]
    pub tags: Vec<String>,
    /// Omitted: you.
    #[serde(default)]
    #[schema(value_type = crate::openapi::contract::ShortText)]
    pub owner: String,
    /// At most 20, each URL once.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub repositories: Vec<RepositoryInput>,
    /// At most 20, each name once.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub environments: Vec<EnvironmentInput>,
}

impl From<CreateProjectBody> for pb::CreateProjectRequest {
    fn from(b: CreateProjectBody) -> Self {
        Self {
            slug: b.slug,
            name: b.name,
            description: b.description,
            tags: b.tags,
            owner: b.owner,
            repositories: b.repositories.into_iter().map(pb::Repository::from).collect(),
            environments: b.environments.into_iter().map(pb::Environment::from).collect(),
        }
    }
}

/// A repository to attach (`POST /api/v1/projects/{slug}/repositories`, or in a new project).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoryInput {
    /// `https://…` or `git@host:owner/name(.git)`.
    #[schema(value_type = crate::openapi::contract::RepoUrl)]
    pub url: String,
    pub provider: Option<Provider>,
    /// Omitted: `main`.
    #[schema(value_type = Option<crate::openapi::contract::Branch>)]
    pub default_branch: Option<String>,
}

impl From<RepositoryInput> for pb::Repository {
    fn from(r: RepositoryInput) -> Self {
        Self {
            url: r.url,
            provider: r.provider.map_or(pb::Provider::Unspecified, Provider::to_proto) as i32,
            default_branch: r.default_branch.unwrap_or_default(),
        }
    }
}

/// Changes the fields present, and only those (`null` clears one), if `expectedVersion` is still the project's version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// At least one field besides `expectedVersion`: `minProperties: 2`, set by `openapi::modifiers::MinProperties`.
#[schema(as = UpdateProjectRequest, example = json!({"expectedVersion": 3, "description": "The public API"}))]
pub struct UpdateProjectBody {
    /// The `version` you read; a stale one answers 409.
    #[schema(minimum = 1)]
    pub expected_version: i64,
    /// Cannot be cleared.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = crate::openapi::contract::DisplayName, required = false)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::openapi::contract::Description>)]
    pub description: Option<Option<String>>,
    /// At most 20 (duplicates count once).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<crate::openapi::contract::Tag>>, max_items = 20)]
    pub tags: Option<Option<Vec<String>>>,
    /// Cannot be cleared.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = crate::openapi::contract::NewOwner, required = false)]
    pub owner: Option<Option<String>>,
}

/// `Some(value)` for a field that is present, even as `null` (serde's `default` gives `None` when it is absent).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl UpdateProjectBody {
    /// UpdateProject with a field mask of exactly the fields present.
    pub fn into_proto(self, project: String) -> Result<pb::UpdateProjectRequest, ApiError> {
        let mut paths = Vec::new();
        let mut field = |name: &str, present: bool| {
            if present {
                paths.push(name.to_owned());
            }
        };
        field("name", self.name.is_some());
        field("description", self.description.is_some());
        field("tags", self.tags.is_some());
        field("owner", self.owner.is_some());
        if paths.is_empty() {
            return Err(ApiError::invalid(
                "nothing to change: send at least one of name, description, tags, owner",
            ));
        }
        Ok(pb::UpdateProjectRequest {
            project,
            expected_version: self.expected_version,
            update_mask: Some(prost_types::FieldMask { paths }),
            name: self.name.flatten().unwrap_or_default(),
            description: self.description.flatten().unwrap_or_default(),
            tags: self.tags.flatten().unwrap_or_default(),
            owner: self.owner.flatten().unwrap_or_default(),
        })
    }
}

// ---- queries ----

/// `GET /api/v1/projects`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListProjectsQuery {
    /// 1–200 (larger values are clamped); default 50.
    #[param(minimum = 1, maximum = 4294967295.0, format = Int64)]
    pub page_size: Option<u32>,
    /// `nextPageToken` of the previous page.
    pub page_token: Option<String>,
    /// Case-insensitive substring of slug, name or description.
    #[param(value_type = Option<crate::openapi::contract::ShortText>)]
    pub q: Option<String>,
    /// Only projects carrying this tag.
    #[param(value_type = Option<crate::openapi::contract::TagFilter>)]
    pub tag: Option<String>,
    /// Also archived projects; default false.
    pub include_archived: Option<bool>,
    /// `slug` (default), `name`, `created_at`, `updated_at`; prefix `-` for descending.
    #[param(value_type = Option<crate::openapi::contract::ProjectOrder>)]
    pub order_by: Option<String>,
}

/// `DELETE /api/v1/projects/{slug}/repositories?url=…`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RepositoryQuery {
    /// The repository's URL, as listed in the project.
    #[param(value_type = crate::openapi::contract::RepoUrl)]
    pub url: String,
}
