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

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

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

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.encode())
}
