//! `/api/v1/metrics/**`: DORA, series and the dashboard overview from the metrics service. Handlers forward the
//! caller's token; metrics lets viewers and up read and validates every parameter. Reads are retried on UNAVAILABLE.

mod dto;

use actix_web::{HttpResponse, web};

use devopstrack_proto::metrics::v1 as pb;

use self::dto::{DoraQuery, DoraReportBody, OverviewBody, OverviewQuery, SeriesBody, SeriesQuery};
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{Query, Upstream, read_upstream};
use crate::routes::dto::timestamp;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/metrics/dora", web::get().to(dora))
        .route("/api/v1/metrics/series", web::get().to(series))
        .route("/api/v1/metrics/overview", web::get().to(overview));
}

/// The five DORA metrics with their 2023 performance level, rolled up over the filter and broken down per project
/// and environment (definitions: the metrics service's README).
#[utoipa::path(get, path = "/api/v1/metrics/dora", tag = "metrics", operation_id = "getDora",
    params(DoraQuery),
    responses(
        (status = 200, description = "DORA metrics of the window", body = DoraReportBody),
        (status = 400, description = "Bad query (the message names the parameter)", body = ErrorBody),
    ))]
async fn dora(Upstream { state, caller, id }: Upstream, query: Query<DoraQuery>) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let message = pb::GetDoraRequest {
        project: query.project.unwrap_or_default(),
        environment: query.environment.unwrap_or_default(),
        from: query.from.map(timestamp),
        to: query.to.map(timestamp),
    };
    let report = read_upstream(&state.metrics_service, &caller, &id, message, |mut c, r| async move {
        c.get_dora(r).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(DoraReportBody::from(report)))
}

/// Job runs by status, job duration percentiles or deployments by status over time, in buckets of `step`.
#[utoipa::path(get, path = "/api/v1/metrics/series", tag = "metrics", operation_id = "getSeries",
    params(SeriesQuery),
    responses(
        (status = 200, description = "Every bucket of the window, empty ones included", body = SeriesBody),
        (status = 400, description = "Bad query (the message names the parameter)", body = ErrorBody),
    ))]
async fn series(Upstream { state, caller, id }: Upstream, query: Query<SeriesQuery>) -> Result<HttpResponse, ApiError> {
    let message = query.into_inner().into_proto()?;
    let series = read_upstream(&state.metrics_service, &caller, &id, message, |mut c, r| async move {
        c.query_series(r).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(SeriesBody::from(series)))
}

/// What the dashboard home shows: DORA tiles per environment, daily deployments and job runs, the last 24 hours.
#[utoipa::path(get, path = "/api/v1/metrics/overview", tag = "metrics", operation_id = "getOverview",
    params(OverviewQuery),
    responses(
        (status = 200, description = "The overview", body = OverviewBody),
        (status = 400, description = "Bad query (the message names the parameter)", body = ErrorBody),
    ))]
async fn overview(
    Upstream { state, caller, id }: Upstream,
    query: Query<OverviewQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let message = pb::GetOverviewRequest {
        project: query.project.unwrap_or_default(),
        days: query.days.unwrap_or(0),
    };
    let overview = read_upstream(&state.metrics_service, &caller, &id, message, |mut c, r| async move {
        c.get_overview(r).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(OverviewBody::from(overview)))
}
