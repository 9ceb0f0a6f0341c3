//! `/healthz` (alive), `/readyz` (every upstream answers its gRPC health check: [`readiness`]), `/metrics`
//! (Prometheus).

pub(crate) mod readiness;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "meta", operation_id = "healthz", security(()),
    responses((status = 200, description = "Alive", body = serde_json::Value, example = json!({"status": "ok"}))))]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: auth, projects, tasks and metrics each answer their gRPC health check SERVING within a second (the
/// answer is cached for 1.5 s). Each service's own `/readyz` (admin port) says whether its store answers.
#[utoipa::path(get, path = "/readyz", tag = "meta", operation_id = "readyz", security(()),
    responses(
        (status = 200, description = "Ready: every upstream serves", body = serde_json::Value,
            example = json!({"status": "ready",
                "checks": {"auth": "ok", "metrics": "ok", "projects": "ok", "tasks": "ok"}})),
        (status = 503, description = "An upstream does not answer or does not serve", body = serde_json::Value,
            example = json!({"status": "not_ready",
                "checks": {"auth": "ok", "metrics": "ok", "projects": "ok", "tasks": "Unavailable: connection refused"}})),
    ))]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let report = state.upstreams.report().await;
    let body = serde_json::json!({
        "status": if report.ready() { "ready" } else { "not_ready" },
        "checks": report.checks,
    });
    if report.ready() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, crate::error::RETRY_AFTER_SECS.to_string()))
            .json(body)
    }
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "meta", operation_id = "getMetrics", security(()),
    responses((status = 200, description = "Request rates, errors, durations per route",
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String)))]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.encode())
}
