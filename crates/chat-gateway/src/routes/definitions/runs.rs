//! `POST /api/v1/projects/{slug}/runs` (a run of one of the project's pipeline definitions) and
//! `POST /api/v1/projects/{slug}/environments/{env}/rollback` (the deploy definition run back to the environment's
//! previous good version), over the tasks service, which reads the definition and the history from projects as the
//! caller. Roles are tasks': operator runs definitions (a production deploy waits for an admin's approval, as any
//! deploy there) and rolls back non-production environments; admin also rolls back production.

use actix_web::{HttpResponse, web};

use devopstrack_proto::tasks::v1 as pb;

use super::dto::{CreateRunBody, RollbackBody, RolledBackBody};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Upstream, upstream};
use crate::routes::pipelines::{self, dto::PipelineBody};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/projects/{slug}/runs", web::post().to(create)).route(
        "/api/v1/projects/{slug}/environments/{env}/rollback",
        web::post().to(rollback),
    );
}

/// Runs one of the project's pipeline definitions (operator). A deploy definition takes `environment` and `version`
/// (and `commit`), filled into its job params' `${environment}`, `${version}` and `${commit}` as plain text; the
/// version needs a release unless the definition allows unreleased versions. The run records the definition. The
/// same `idempotencyKey` again answers the first run with 200.
#[utoipa::path(post, path = "/api/v1/projects/{slug}/runs", tag = "pipelines", operation_id = "createRun",
    request_body = CreateRunBody,
    params(("slug" = crate::openapi::contract::Slug, Path, description = "Project slug")),
    responses(
        (status = 201, description = "Created", body = PipelineBody,
            headers(("location" = String, description = "`/api/v1/pipelines/{id}`"))),
        (status = 200, description = "This idempotency key was used before: nothing was created; the first run",
            body = PipelineBody),
        (status = 400, description = "Invalid or missing field (the message names it: `environment`, `version` — \
            also for a version without a release —, `commit`, …)", body = ErrorBody),
        (status = 403, description = "Below operator", body = ErrorBody),
        (status = 404, description = "No such project, environment or definition", body = ErrorBody),
        (status = 409, description = "The project is archived", body = ErrorBody),
    ))]
pub(crate) async fn create(
    Upstream { state, caller, id }: Upstream,
    slug: web::Path<String>,
    Json(body): Json<CreateRunBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::CreateRunRequest {
        project: slug.into_inner(),
        definition: body.definition,
        environment: body.environment.unwrap_or_default(),
        version: body.version.unwrap_or_default(),
        commit_sha: body.commit.unwrap_or_default(),
        idempotency_key: body.idempotency_key.unwrap_or_default(),
        trigger: pb::Trigger::Api as i32,
        // The chat's four eyes only (never from the edge).
        asked_by: String::new(),
    };
    let created = state
        .tasks
        .clone()
        .create_run(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    pipelines::created_answer(created, "CreateRun")
}

/// Rolls the environment back (operator for development and staging; admin for production or a protected
/// environment): runs the project's `deploy` definition with the previous successfully deployed version (skipping
/// versions that were rolled back), or `to`. The run's trigger is `rollback`; its deployment is recorded as one.
#[utoipa::path(post, path = "/api/v1/projects/{slug}/environments/{env}/rollback", tag = "pipelines",
    operation_id = "rollbackEnvironment",
    request_body(content = RollbackBody, description = "Optional; `{}` rolls back to the previous good version"),
    params(("slug" = crate::openapi::contract::Slug, Path, description = "Project slug"),
        ("env" = crate::openapi::contract::EnvName, Path, description = "Environment name")),
    responses(
        (status = 201, description = "The rollback run was created", body = RolledBackBody,
            headers(("location" = String, description = "`/api/v1/pipelines/{id}`"))),
        (status = 200, description = "This idempotency key was used before: the first rollback run",
            body = RolledBackBody),
        (status = 400, description = "`to` is not a version to roll back to, or another invalid field",
            body = ErrorBody),
        (status = 403, description = "Below operator, or below admin for production or a protected environment",
            body = ErrorBody),
        (status = 404, description = "No such project or environment", body = ErrorBody),
        (status = 409, description = "Nothing to roll back to (the message says what the environment runs), no \
            deploy definition, or the project is archived", body = ErrorBody),
    ))]
pub(crate) async fn rollback(
    Upstream { state, caller, id }: Upstream,
    path: web::Path<(String, String)>,
    Json(body): Json<RollbackBody>,
) -> Result<HttpResponse, ApiError> {
    let (project, environment) = path.into_inner();
    let message = pb::RollbackRequest {
        project,
        environment,
        to: body.to.unwrap_or_default(),
        idempotency_key: body.idempotency_key.unwrap_or_default(),
        asked_by: String::new(),
    };
    let done = state
        .tasks
        .clone()
        .rollback(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    let pipeline = done
        .pipeline
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("Rollback answered no pipeline")))?;
    let mut response = if done.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header(("location", format!("/api/v1/pipelines/{}", pipeline.id)))
        .json(RolledBackBody {
            pipeline: PipelineBody::from(pipeline),
            from_version: done.from_version,
            to_version: done.to_version,
        }))
}
