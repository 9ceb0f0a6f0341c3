//! `/api/v1/projects/**`: the catalog (projects, repositories, environments, releases, deployments) over the projects
//! service. Handlers forward the caller's token; the projects service enforces roles (viewer reads, operator creates
//! releases, admin changes projects, admin or the service role records deployments). Reads are retried on UNAVAILABLE.

use actix_web::{HttpResponse, web};

use devopstrack_proto::projects::v1 as pb;

use super::dto::{Page, next_token, page_size};
use super::projects_dto::{
    CreateProjectBody, CreateReleaseBody, DeploymentBody, DeploymentsQuery, EnvironmentBody, EnvironmentSettings,
    ListProjectsQuery, ProjectBody, RecordDeploymentBody, ReleaseBody, ReleasesQuery, RepositoryInput, RepositoryQuery,
    UpdateProjectBody,
};
use crate::error::ApiError;
use crate::extract::{Caller, Json, Query, RequestId, read_upstream, upstream};
use crate::openapi::ErrorBody;
use crate::state::AppState;

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
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
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
    Ok(HttpResponse::Ok().json(Page {
        items: page.projects.into_iter().map(ProjectBody::from).collect(),
        next_page_token: next_token(page.next_page_token),
    }))
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
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
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
    params(("slug" = String, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "The project", body = ProjectBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
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
    params(("slug" = String, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "The updated project (with its new version)", body = ProjectBody),
        (status = 400, description = "Missing `expectedVersion`, no field to change, or an invalid field",
            body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "`expectedVersion` is stale: read the project again and retry", body = ErrorBody),
    ))]
async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
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
    params(("slug" = String, Path, description = "Project slug (or id)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
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
    params(("slug" = String, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "The archived project", body = ProjectBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
async fn archive(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
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
    params(("slug" = String, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "The updated project", body = ProjectBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "The repository is already attached, or the project is archived",
            body = ErrorBody),
    ))]
async fn add_repository(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
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
    params(("slug" = String, Path, description = "Project slug (or id)"), RepositoryQuery),
    responses(
        (status = 200, description = "The updated project", body = ProjectBody),
        (status = 400, description = "Missing `url`", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project or repository", body = ErrorBody),
    ))]
async fn remove_repository(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
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
    params(("slug" = String, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "All the environments (one page)", body = Page<EnvironmentBody>),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
async fn list_environments(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
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
    params(("slug" = String, Path, description = "Project slug (or id)"),
        ("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The environment", body = EnvironmentBody),
        (status = 404, description = "No such project or environment", body = ErrorBody),
    ))]
async fn get_environment(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
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
    params(("slug" = String, Path, description = "Project slug (or id)"),
        ("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The updated project", body = ProjectBody),
        (status = 400, description = "Invalid field or name (the message names it)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "The project is archived", body = ErrorBody),
    ))]
async fn put_environment(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
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
    params(("slug" = String, Path, description = "Project slug (or id)"),
        ("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The updated project", body = ProjectBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project or environment", body = ErrorBody),
    ))]
async fn delete_environment(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
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

/// A project's releases, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{slug}/releases", tag = "releases", operation_id = "listReleases",
    params(("slug" = String, Path, description = "Project slug (or id)"), ReleasesQuery),
    responses(
        (status = 200, description = "One page of releases", body = Page<ReleaseBody>),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
async fn list_releases(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    slug: web::Path<String>,
    query: Query<ReleasesQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let message = pb::ListReleasesRequest {
        project: slug.into_inner(),
        page_size: page_size(query.page_size)?,
        page_token: query.page_token.unwrap_or_default(),
    };
    let page = read_upstream(&state.projects, &caller, &id, message, |mut c, r| async move {
        c.list_releases(r).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: page.releases.into_iter().map(ReleaseBody::from).collect(),
        next_page_token: next_token(page.next_page_token),
    }))
}

/// Creates a release (operator).
#[utoipa::path(post, path = "/api/v1/projects/{slug}/releases", tag = "releases", operation_id = "createRelease",
    request_body = CreateReleaseBody,
    params(("slug" = String, Path, description = "Project slug (or id)")),
    responses(
        (status = 201, description = "Created", body = ReleaseBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Below operator", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "This version exists already, or the project is archived", body = ErrorBody),
    ))]
async fn create_release(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    slug: web::Path<String>,
    Json(body): Json<CreateReleaseBody>,
) -> Result<HttpResponse, ApiError> {
    let message = body.into_proto(slug.into_inner());
    let release = state
        .projects
        .clone()
        .create_release(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Created().json(ReleaseBody::from(release)))
}

/// A project's deployments, newest first (by finished time); one environment or all.
#[utoipa::path(get, path = "/api/v1/projects/{slug}/deployments", tag = "deployments",
    operation_id = "listDeployments",
    params(("slug" = String, Path, description = "Project slug (or id)"), DeploymentsQuery),
    responses(
        (status = 200, description = "One page of deployments", body = Page<DeploymentBody>),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
async fn list_deployments(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    slug: web::Path<String>,
    query: Query<DeploymentsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let message = pb::ListDeploymentsRequest {
        project: slug.into_inner(),
        environment: query.environment.unwrap_or_default(),
        page_size: page_size(query.page_size)?,
        page_token: query.page_token.unwrap_or_default(),
    };
    let page = read_upstream(&state.projects, &caller, &id, message, |mut c, r| async move {
        c.list_deployments(r).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: page.deployments.into_iter().map(DeploymentBody::from).collect(),
        next_page_token: next_token(page.next_page_token),
    }))
}

/// Records a finished deployment, idempotently by `id` (admin or the service role).
#[utoipa::path(post, path = "/api/v1/projects/{slug}/deployments", tag = "deployments",
    operation_id = "recordDeployment", request_body = RecordDeploymentBody,
    params(("slug" = String, Path, description = "Project slug (or id)")),
    responses(
        (status = 201, description = "Recorded now", body = DeploymentBody),
        (status = 200, description = "This id was recorded before: nothing changed; the stored deployment",
            body = DeploymentBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Neither admin nor the service role", body = ErrorBody),
        (status = 404, description = "No such project or environment", body = ErrorBody),
        (status = 409, description = "The project is archived", body = ErrorBody),
    ))]
async fn record_deployment(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    slug: web::Path<String>,
    Json(body): Json<RecordDeploymentBody>,
) -> Result<HttpResponse, ApiError> {
    let message = body.into_proto(slug.into_inner());
    let recorded = state
        .projects
        .clone()
        .record_deployment(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    let deployment = recorded
        .deployment
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("RecordDeployment answered no deployment")))?;
    let mut response = if recorded.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(DeploymentBody::from(deployment)))
}
