//! `/healthz` (alive), `/readyz` (auth answers), `/metrics` (Prometheus).

use std::time::Duration;

use actix_web::{HttpResponse, web};

use devopstrack_proto::auth::v1 as pb;

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

/// Readiness: auth answers.
#[utoipa::path(get, path = "/readyz", tag = "meta", operation_id = "readyz", security(()),
    responses(
        (status = 200, description = "Ready", body = serde_json::Value,
            example = json!({"status": "ready", "checks": {"auth": "ok"}})),
        (status = 503, description = "A dependency does not answer", body = serde_json::Value,
            example = json!({"status": "not_ready", "checks": {"auth": "Unavailable: connection refused"}})),
    ))]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let mut request = tonic::Request::new(pb::GetJwksRequest {});
    request.set_timeout(Duration::from_secs(1));
    match state.auth.clone().get_jwks(request).await {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "checks": { "auth": "ok" } })),
        Err(status) => HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "status": "not_ready",
            "checks": { "auth": format!("{:?}: {}", status.code(), status.message()) },
        })),
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
