//! `/api/v1/projects/{slug}/environments/**`: a project's environments with what runs in each (read from the projects
//! service's environment states), and changes to their settings (admin), which answer the whole project.

use actix_web::{HttpResponse, web};

use devopstrack_proto::projects::v1 as pb;

use super::dto::{EnvironmentBody, EnvironmentSettings, ProjectBody};
use super::project_ok;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{Caller, Json, RequestId, Upstream, read_upstream, upstream};
use crate::routes::dto::Page;
use crate::state::AppState;

async fn environment_states(
    state: &AppState,
    caller: &Caller,
    id: &RequestId,
    project: String,
) -> Result<Vec<pb::Environment>, ApiError> {
    let message = pb::GetEnvironmentStatesRequest { project };
    let states = read_upstream(&state.projects, caller, id, message, |mut c, r| async move {
        c.get_environment_states(r).await
    })
    .await?;
    Ok(states.environments)
}

/// Every environment of a project with its current version and last deployment.
#[utoipa::path(get, path = "/api/v1/projects/{slug}/environments", tag = "environments",
    operation_id = "listEnvironments",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "All the environments (one page)", body = Page<EnvironmentBody>),
        (status = 400, description = "`slug` is not a project slug or id", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
pub(super) async fn list_environments(
    Upstream { state, caller, id }: Upstream,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let environments = environment_states(&state, &caller, &id, slug.into_inner()).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: environments.into_iter().map(EnvironmentBody::from).collect(),
        next_page_token: None,
    }))
}

/// One environment: tier, URL, protection, current version and last deployment.
#[utoipa::path(get, path = "/api/v1/projects/{slug}/environments/{env}", tag = "environments",
    operation_id = "getEnvironment",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)"),
        ("env" = crate::openapi::contract::EnvName, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The environment", body = EnvironmentBody),
        (status = 400, description = "`slug` is not a project slug or id, or `env` not an environment name", body = ErrorBody),
        (status = 404, description = "No such project or environment", body = ErrorBody),
    ))]
pub(super) async fn get_environment(
    Upstream { state, caller, id }: Upstream,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, name) = path.into_inner();
    let environments = environment_states(&state, &caller, &id, slug.clone()).await?;
    let environment = environments
        .into_iter()
        .find(|e| e.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("project {slug} has no environment {name}")))?;
    Ok(HttpResponse::Ok().json(EnvironmentBody::from(environment)))
}

/// Creates or replaces an environment's settings; its deployment history is kept (admin).
#[utoipa::path(put, path = "/api/v1/projects/{slug}/environments/{env}", tag = "environments",
    operation_id = "putEnvironment", request_body = EnvironmentSettings,
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)"),
        ("env" = crate::openapi::contract::EnvName, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The updated project", body = ProjectBody),
        (status = 400, description = "Invalid field or name (the message names it)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "The project is archived", body = ErrorBody),
    ))]
pub(super) async fn put_environment(
    Upstream { state, caller, id }: Upstream,
    path: web::Path<(String, String)>,
    Json(body): Json<EnvironmentSettings>,
) -> Result<HttpResponse, ApiError> {
    let (project, name) = path.into_inner();
    let message = pb::UpsertEnvironmentRequest {
        project,
        environment: Some(body.into_proto(name)),
    };
    Ok(project_ok(
        state
            .projects
            .clone()
            .upsert_environment(upstream(message, Some(&caller), &id))
            .await?
            .into_inner(),
    ))
}

/// Removes an environment (admin).
#[utoipa::path(delete, path = "/api/v1/projects/{slug}/environments/{env}", tag = "environments",
    operation_id = "deleteEnvironment",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)"),
        ("env" = crate::openapi::contract::EnvName, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The updated project", body = ProjectBody),
        (status = 400, description = "`slug` is not a project slug or id, or `env` not an environment name", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project or environment", body = ErrorBody),
    ))]
pub(super) async fn delete_environment(
    Upstream { state, caller, id }: Upstream,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (project, name) = path.into_inner();
    let message = pb::DeleteEnvironmentRequest { project, name };
    Ok(project_ok(
        state
            .projects
            .clone()
            .delete_environment(upstream(message, Some(&caller), &id))
            .await?
            .into_inner(),
    ))
}
