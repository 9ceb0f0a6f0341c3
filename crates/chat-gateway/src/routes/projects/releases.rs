//! `/api/v1/projects/{slug}/releases` and `/api/v1/projects/{slug}/deployments`: a project's versions (create:
//! operator) and its deployment history (record: admin or the service role), newest first.

use actix_web::{HttpResponse, web};

use devopstrack_proto::projects::v1 as pb;

use super::dto::{
    CreateReleaseBody, DeploymentBody, DeploymentsQuery, RecordDeploymentBody, ReleaseBody, ReleasesQuery,
};
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{Json, Query, Upstream, read_upstream, upstream};
use crate::routes::dto::{Page, page_size};

/// A project's releases, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{slug}/releases", tag = "releases", operation_id = "listReleases",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)"), ReleasesQuery),
    responses(
        (status = 200, description = "One page of releases", body = Page<ReleaseBody>),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
pub(super) async fn list_releases(
    Upstream { state, caller, id }: Upstream,
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
    Ok(HttpResponse::Ok().json(Page::<ReleaseBody>::of(page.releases, page.next_page_token)))
}

/// Creates a release (operator).
#[utoipa::path(post, path = "/api/v1/projects/{slug}/releases", tag = "releases", operation_id = "createRelease",
    request_body = CreateReleaseBody,
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 201, description = "Created", body = ReleaseBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Below operator", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "This version exists already, or the project is archived", body = ErrorBody),
    ))]
pub(super) async fn create_release(
    Upstream { state, caller, id }: Upstream,
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
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)"), DeploymentsQuery),
    responses(
        (status = 200, description = "One page of deployments", body = Page<DeploymentBody>),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
pub(super) async fn list_deployments(
    Upstream { state, caller, id }: Upstream,
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
    Ok(HttpResponse::Ok().json(Page::<DeploymentBody>::of(page.deployments, page.next_page_token)))
}

/// Records a finished deployment, idempotently by `id` (admin or the service role).
#[utoipa::path(post, path = "/api/v1/projects/{slug}/deployments", tag = "deployments",
    operation_id = "recordDeployment", request_body = RecordDeploymentBody,
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 201, description = "Recorded now", body = DeploymentBody),
        (status = 200, description = "This id was recorded before: nothing changed; the stored deployment",
            body = DeploymentBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Neither admin nor the service role", body = ErrorBody),
        (status = 404, description = "No such project or environment", body = ErrorBody),
        (status = 409, description = "The project is archived", body = ErrorBody),
    ))]
pub(super) async fn record_deployment(
    Upstream { state, caller, id }: Upstream,
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
