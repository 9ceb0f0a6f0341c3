//! `/api/v1/projects/**`: the catalog (projects, repositories, environments, releases, deployments) over the projects
//! service. Handlers forward the caller's token; the projects service enforces roles (viewer reads, operator creates
//! releases, admin changes projects, admin or the service role records deployments). Reads are retried on UNAVAILABLE.

mod dto;
pub(crate) mod environments;
pub(crate) mod releases;

use actix_web::{HttpResponse, web};

use devopstrack_proto::projects::v1 as pb;

use self::dto::{
    CreateProjectBody, ListProjectsQuery, ProjectBody, RepositoryInput, RepositoryQuery, UpdateProjectBody,
};
use self::environments::{delete_environment, get_environment, list_environments, put_environment};
use self::releases::{create_release, list_deployments, list_releases, record_deployment};
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{Json, Query, Upstream, read_upstream, upstream};
use crate::routes::dto::{Page, page_size};

pub fn configure(cfg: &mut web::ServiceConfig) {
    const PROJECT: &str = "/api/v1/projects/{slug}";
    const ENVIRONMENT: &str = "/api/v1/projects/{slug}/environments/{env}";
    cfg.route("/api/v1/projects", web::get().to(list))
        .route("/api/v1/projects", web::post().to(create))
        .route(PROJECT, web::get().to(get))
        .route(PROJECT, web::patch().to(update))
        .route(PROJECT, web::delete().to(delete))
        .route("/api/v1/projects/{slug}/archive", web::post().to(archive))
        .route("/api/v1/projects/{slug}/repositories", web::post().to(add_repository))
        .route(
            "/api/v1/projects/{slug}/repositories",
            web::delete().to(remove_repository),
        )
        .route("/api/v1/projects/{slug}/environments", web::get().to(list_environments))
        .route(ENVIRONMENT, web::get().to(get_environment))
        .route(ENVIRONMENT, web::put().to(put_environment))
        .route(ENVIRONMENT, web::delete().to(delete_environment))
        .route("/api/v1/projects/{slug}/releases", web::get().to(list_releases))
        .route("/api/v1/projects/{slug}/releases", web::post().to(create_release))
        .route("/api/v1/projects/{slug}/deployments", web::get().to(list_deployments))
        .route("/api/v1/projects/{slug}/deployments", web::post().to(record_deployment));
}

fn project_ok(project: pb::Project) -> HttpResponse {
    HttpResponse::Ok().json(ProjectBody::from(project))
}

/// Lists projects (archived ones only when asked).
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", operation_id = "listProjects",
    params(ListProjectsQuery),
    responses(
        (status = 200, description = "One page of projects", body = Page<ProjectBody>),
        (status = 400, description = "Bad query (the message names the parameter)", body = ErrorBody),
    ))]
async fn list(
    Upstream { state, caller, id }: Upstream,
    query: Query<ListProjectsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let message = pb::ListProjectsRequest {
        page_size: page_size(query.page_size)?,
        page_token: query.page_token.unwrap_or_default(),
        query: query.q.unwrap_or_default(),
        tag: query.tag.unwrap_or_default(),
        include_archived: query.include_archived.unwrap_or(false),
        order_by: query.order_by.unwrap_or_default(),
    };
    let page = read_upstream(&state.projects, &caller, &id, message, |mut c, r| async move {
        c.list_projects(r).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::<ProjectBody>::of(page.projects, page.next_page_token)))
}

/// Creates a project with its repositories and environments (admin).
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", operation_id = "createProject",
    request_body = CreateProjectBody,
    responses(
        (status = 201, description = "Created", body = ProjectBody,
            headers(("location" = String, description = "`/api/v1/projects/{slug}`"))),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
    ))]
async fn create(
    Upstream { state, caller, id }: Upstream,
    Json(body): Json<CreateProjectBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::CreateProjectRequest::from(body);
    let project = state
        .projects
        .clone()
        .create_project(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/api/v1/projects/{}", project.slug)))
        .json(ProjectBody::from(project)))
}

/// A project with its repositories and environments (each with its current version).
#[utoipa::path(get, path = "/api/v1/projects/{slug}", tag = "projects", operation_id = "getProject",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "The project", body = ProjectBody),
        (status = 400, description = "`slug` is not a project slug or id", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
async fn get(Upstream { state, caller, id }: Upstream, slug: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let message = pb::GetProjectRequest {
        project: slug.into_inner(),
    };
    let project = read_upstream(&state.projects, &caller, &id, message, |mut c, r| async move {
        c.get_project(r).await
    })
    .await?;
    Ok(project_ok(project))
}

/// Changes the fields present (name, description, tags, owner) if `expectedVersion` is current (admin).
#[utoipa::path(patch, path = "/api/v1/projects/{slug}", tag = "projects", operation_id = "updateProject",
    request_body = UpdateProjectBody,
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "The updated project (with its new version)", body = ProjectBody),
        (status = 400, description = "Missing `expectedVersion`, no field to change, or an invalid field",
            body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "`expectedVersion` is stale: read the project again and retry", body = ErrorBody),
    ))]
async fn update(
    Upstream { state, caller, id }: Upstream,
    slug: web::Path<String>,
    Json(body): Json<UpdateProjectBody>,
) -> Result<HttpResponse, ApiError> {
    let message = body.into_proto(slug.into_inner())?;
    let project = state
        .projects
        .clone()
        .update_project(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(project_ok(project))
}

/// Deletes a project with its releases and deployments (admin).
#[utoipa::path(delete, path = "/api/v1/projects/{slug}", tag = "projects", operation_id = "deleteProject",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`slug` is not a project slug or id", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
async fn delete(Upstream { state, caller, id }: Upstream, slug: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let message = pb::DeleteProjectRequest {
        project: slug.into_inner(),
    };
    state
        .projects
        .clone()
        .delete_project(upstream(message, Some(&caller), &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Archives a project: read-only from then on, and hidden from lists unless `includeArchived=true` (admin).
#[utoipa::path(post, path = "/api/v1/projects/{slug}/archive", tag = "projects", operation_id = "archiveProject",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "The archived project", body = ProjectBody),
        (status = 400, description = "`slug` is not a project slug or id", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
async fn archive(Upstream { state, caller, id }: Upstream, slug: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let message = pb::ArchiveProjectRequest {
        project: slug.into_inner(),
    };
    Ok(project_ok(
        state
            .projects
            .clone()
            .archive_project(upstream(message, Some(&caller), &id))
            .await?
            .into_inner(),
    ))
}

/// Attaches a repository (admin).
#[utoipa::path(post, path = "/api/v1/projects/{slug}/repositories", tag = "projects", operation_id = "addRepository",
    request_body = RepositoryInput,
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "The updated project", body = ProjectBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "The repository is already attached, or the project is archived",
            body = ErrorBody),
    ))]
async fn add_repository(
    Upstream { state, caller, id }: Upstream,
    slug: web::Path<String>,
    Json(body): Json<RepositoryInput>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::AddRepositoryRequest {
        project: slug.into_inner(),
        repository: Some(body.into()),
    };
    Ok(project_ok(
        state
            .projects
            .clone()
            .add_repository(upstream(message, Some(&caller), &id))
            .await?
            .into_inner(),
    ))
}

/// Detaches the repository with this URL (admin).
#[utoipa::path(delete, path = "/api/v1/projects/{slug}/repositories", tag = "projects",
    operation_id = "removeRepository",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)"), RepositoryQuery),
    responses(
        (status = 200, description = "The updated project", body = ProjectBody),
        (status = 400, description = "Missing `url`", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project or repository", body = ErrorBody),
    ))]
async fn remove_repository(
    Upstream { state, caller, id }: Upstream,
    slug: web::Path<String>,
    query: Query<RepositoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::RemoveRepositoryRequest {
        project: slug.into_inner(),
        url: query.into_inner().url,
    };
    Ok(project_ok(
        state
            .projects
            .clone()
            .remove_repository(upstream(message, Some(&caller), &id))
            .await?
            .into_inner(),
    ))
}
