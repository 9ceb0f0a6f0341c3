//! `/api/v1/pipelines/**` and `/api/v1/jobs/**`: pipeline runs and their jobs over the tasks service. Handlers forward
//! the caller's token; tasks enforces roles (viewer reads; operator creates, cancels, retries, and approves or rejects
//! non-production deploys; admin also production) and validates every field. Reads are retried on UNAVAILABLE.
//! Live updates of the same resources come over the WebSocket ([`super::ws`]).

pub(crate) mod dto;

use actix_web::{HttpResponse, web};

use devopstrack_proto::tasks::v1 as pb;

use self::dto::{
    CreatePipelineBody, JobLogBody, JobLogQuery, ListPipelinesQuery, PipelineBody, PipelinesPage, RejectBody,
};
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{Json, Query, Upstream, read_upstream, upstream};
use crate::routes::dto::{next_token, page_size};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/pipelines", web::get().to(list))
        .route("/api/v1/pipelines", web::post().to(create))
        .route("/api/v1/pipelines/{id}", web::get().to(get))
        .route("/api/v1/projects/{slug}/runs/{number}", web::get().to(get_by_number))
        .route("/api/v1/pipelines/{id}/cancel", web::post().to(cancel))
        .route("/api/v1/jobs/{id}/retry", web::post().to(retry))
        .route("/api/v1/jobs/{id}/approve", web::post().to(approve))
        .route("/api/v1/jobs/{id}/reject", web::post().to(reject))
        .route("/api/v1/jobs/{id}/log", web::get().to(log));
}

fn pipeline_ok(pipeline: pb::Pipeline) -> HttpResponse {
    HttpResponse::Ok().json(PipelineBody::from(pipeline))
}

/// Pipeline runs, newest first; one project or all, one status or all.
#[utoipa::path(get, path = "/api/v1/pipelines", tag = "pipelines", operation_id = "listPipelines",
    params(ListPipelinesQuery),
    responses(
        (status = 200, description = "One page of pipelines", body = PipelinesPage),
        (status = 400, description = "Bad query (the message names the parameter)", body = ErrorBody),
    ))]
async fn list(
    Upstream { state, caller, id }: Upstream,
    query: Query<ListPipelinesQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let message = pb::ListPipelinesRequest {
        project: query.project.unwrap_or_default(),
        status: query.status.map_or(pb::PipelineStatus::Unspecified, |s| s.to_proto()) as i32,
        page_size: page_size(query.page_size)?,
        page_token: query.page_token.unwrap_or_default(),
    };
    let page = read_upstream(&state.tasks, &caller, &id, message, |mut c, r| async move {
        c.list_pipelines(r).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(PipelinesPage {
        pipelines: page.pipelines.into_iter().map(PipelineBody::from).collect(),
        next_page_token: next_token(page.next_page_token),
    }))
}

/// Creates a pipeline run and queues its first stage (operator). With an `idempotencyKey` used before for the same
/// project, nothing is created and the first pipeline is answered with 200. A deploy (`environment` and `version`)
/// that names its `commit` with a `time` counts towards DORA lead time from that time.
#[utoipa::path(post, path = "/api/v1/pipelines", tag = "pipelines", operation_id = "createPipeline",
    request_body = CreatePipelineBody,
    responses(
        (status = 201, description = "Created", body = PipelineBody,
            headers(("location" = String, description = "`/api/v1/pipelines/{id}`"))),
        (status = 200, description = "This idempotency key was used before: nothing was created; the first pipeline",
            body = PipelineBody),
        (status = 400, description = "Invalid field, or over a limit (the message names the field path, e.g. \
            `commit.sha`)", body = ErrorBody),
        (status = 403, description = "Below operator, or a production deploy you may not start", body = ErrorBody),
        (status = 404, description = "No such project or environment", body = ErrorBody),
        (status = 409, description = "The project is archived", body = ErrorBody),
    ))]
async fn create(
    Upstream { state, caller, id }: Upstream,
    Json(body): Json<CreatePipelineBody>,
) -> Result<HttpResponse, ApiError> {
    let message = body.into_proto(chrono::Utc::now())?;
    let created = state
        .tasks
        .clone()
        .create_pipeline(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    created_answer(created, "CreatePipeline")
}

/// A create's answer: 201 with `Location` for a new pipeline, 200 for the one an idempotency key already made.
pub(crate) fn created_answer(created: pb::CreatePipelineResponse, rpc: &str) -> Result<HttpResponse, ApiError> {
    let pipeline = created
        .pipeline
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("{rpc} answered no pipeline")))?;
    let mut response = if created.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header(("location", format!("/api/v1/pipelines/{}", pipeline.id)))
        .json(PipelineBody::from(pipeline)))
}

/// A pipeline with its stages and jobs.
#[utoipa::path(get, path = "/api/v1/pipelines/{id}", tag = "pipelines", operation_id = "getPipeline",
    params(("id" = crate::openapi::contract::Uuid, Path, description = "Pipeline id")),
    responses(
        (status = 200, description = "The pipeline", body = PipelineBody),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 404, description = "No such pipeline", body = ErrorBody),
    ))]
async fn get(Upstream { state, caller, id }: Upstream, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let message = pb::GetPipelineRequest { id: path.into_inner() };
    let pipeline = read_upstream(&state.tasks, &caller, &id, message, |mut c, r| async move {
        c.get_pipeline(r).await
    })
    .await?;
    Ok(pipeline_ok(pipeline))
}

/// A pipeline by its project's run number (`api#42` is `/api/v1/projects/api/runs/42`), with its stages and jobs.
#[utoipa::path(get, path = "/api/v1/projects/{slug}/runs/{number}", tag = "pipelines",
    operation_id = "getPipelineByNumber",
    params(("slug" = crate::openapi::contract::Slug, Path, description = "Project slug"),
        ("number" = u64, Path, minimum = 1, description = "Run number within the project, from 1")),
    responses(
        (status = 200, description = "The pipeline", body = PipelineBody),
        (status = 400, description = "`number` is not a whole number from 1", body = ErrorBody),
        (status = 404, description = "The project has no run with this number", body = ErrorBody),
    ))]
async fn get_by_number(
    Upstream { state, caller, id }: Upstream,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (project, number) = path.into_inner();
    let number = run_number(&number)?;
    let message = pb::GetPipelineByNumberRequest { project, number };
    let pipeline = read_upstream(&state.tasks, &caller, &id, message, |mut c, r| async move {
        c.get_pipeline_by_number(r).await
    })
    .await?;
    Ok(pipeline_ok(pipeline))
}

/// A run number from the path: digits only, from 1.
fn run_number(raw: &str) -> Result<u64, ApiError> {
    match raw.parse::<u64>() {
        Ok(n) if n >= 1 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(ApiError::invalid(format!(
            "number: {raw:?} is not a run number (a whole number from 1)"
        ))),
    }
}

/// Cancels a pipeline: queued and waiting jobs end `cancelled` now, running ones are told to stop (operator).
#[utoipa::path(post, path = "/api/v1/pipelines/{id}/cancel", tag = "pipelines", operation_id = "cancelPipeline",
    params(("id" = crate::openapi::contract::Uuid, Path, description = "Pipeline id")),
    responses(
        (status = 200, description = "The pipeline after the change", body = PipelineBody),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 403, description = "Below operator", body = ErrorBody),
        (status = 404, description = "No such pipeline", body = ErrorBody),
        (status = 409, description = "The pipeline has finished already, or a concurrent change won",
            body = ErrorBody),
    ))]
async fn cancel(Upstream { state, caller, id }: Upstream, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let message = pb::CancelPipelineRequest { id: path.into_inner() };
    Ok(pipeline_ok(
        state
            .tasks
            .clone()
            .cancel_pipeline(upstream(message, Some(&caller), &id))
            .await?
            .into_inner(),
    ))
}

/// Runs a new attempt of a failed, timed-out or cancelled job of a failed pipeline, which resumes from that job's
/// stage (operator).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", operation_id = "retryJob",
    params(("id" = crate::openapi::contract::Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job's pipeline after the change", body = PipelineBody),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 403, description = "Below operator", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job or its pipeline is not in a state that can be retried",
            body = ErrorBody),
    ))]
async fn retry(Upstream { state, caller, id }: Upstream, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let message = pb::RetryJobRequest {
        job_id: path.into_inner(),
    };
    Ok(pipeline_ok(
        state
            .tasks
            .clone()
            .retry_job(upstream(message, Some(&caller), &id))
            .await?
            .into_inner(),
    ))
}

/// Approves a job waiting for approval (operator for non-production; admin for any; never whoever triggered a
/// deploy to a protected or production environment).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/approve", tag = "jobs", operation_id = "approveJob",
    params(("id" = crate::openapi::contract::Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job's pipeline after the change", body = PipelineBody),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 403, description = "You may not approve this job", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job is not waiting for approval", body = ErrorBody),
    ))]
async fn approve(Upstream { state, caller, id }: Upstream, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let message = pb::ApproveJobRequest {
        job_id: path.into_inner(),
    };
    Ok(pipeline_ok(
        state
            .tasks
            .clone()
            .approve_job(upstream(message, Some(&caller), &id))
            .await?
            .into_inner(),
    ))
}

/// Rejects a job waiting for approval: it fails with the reason, and so does its pipeline (same roles as approve).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/reject", tag = "jobs", operation_id = "rejectJob",
    request_body = RejectBody,
    params(("id" = crate::openapi::contract::Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job's pipeline after the change", body = PipelineBody),
        (status = 400, description = "The id is not a UUID, or no reason", body = ErrorBody),
        (status = 403, description = "You may not reject this job", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job is not waiting for approval", body = ErrorBody),
    ))]
async fn reject(
    Upstream { state, caller, id }: Upstream,
    path: web::Path<String>,
    Json(body): Json<RejectBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::RejectJobRequest {
        job_id: path.into_inner(),
        reason: body.reason,
    };
    Ok(pipeline_ok(
        state
            .tasks
            .clone()
            .reject_job(upstream(message, Some(&caller), &id))
            .await?
            .into_inner(),
    ))
}

/// Lines of a job's log from an offset: its current attempt, or the one asked for. Follow a running job by passing
/// `nextOffset` back until `eof` (or subscribe on the WebSocket).
#[utoipa::path(get, path = "/api/v1/jobs/{id}/log", tag = "jobs", operation_id = "getJobLog",
    params(("id" = crate::openapi::contract::Uuid, Path, description = "Job id"), JobLogQuery),
    responses(
        (status = 200, description = "Some lines", body = JobLogBody),
        (status = 400, description = "The id is not a UUID, or a bad query", body = ErrorBody),
        (status = 404, description = "No such job or attempt", body = ErrorBody),
    ))]
async fn log(
    Upstream { state, caller, id }: Upstream,
    path: web::Path<String>,
    query: Query<JobLogQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let job_id = path.into_inner();
    let offset = query.offset.unwrap_or_default();
    // The document's `int64`: no log has 2^63 lines, and a generated client cannot send more.
    if i64::try_from(offset).is_err() {
        return Err(ApiError::invalid(format!("offset: must be at most {}", i64::MAX)));
    }
    if query.limit == Some(0) {
        return Err(ApiError::invalid("limit: must be between 1 and 1000"));
    }
    let message = pb::GetJobLogRequest {
        job_id: job_id.clone(),
        attempt: query.attempt.unwrap_or_default(),
        offset,
        limit: query.limit.map_or(0, |l| l.min(1000)),
    };
    let log = read_upstream(&state.tasks, &caller, &id, message, |mut c, r| async move {
        c.get_job_log(r).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(JobLogBody::new(job_id, offset, log)))
}
