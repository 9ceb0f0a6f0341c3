//! The REST routes of the edge. Handlers are thin: extract, call one upstream RPC, map the answer.

pub(crate) mod auth;
pub(crate) mod dashboard;
pub(crate) mod dto;
pub(crate) mod health;
pub(crate) mod integrations;
pub(crate) mod metrics;
mod metrics_dto;
pub(crate) mod pipelines;
pub(crate) mod pipelines_dto;
pub(crate) mod projects;
mod projects_dto;
pub(crate) mod tokens;
pub(crate) mod users;
pub(crate) mod webhooks;
pub(crate) mod ws;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(crate::extract::MAX_BODY_BYTES))
        .app_data(web::PathConfig::default().error_handler(|e, _| ApiError::invalid(format!("path: {e}")).into()))
        .configure(health::configure)
        .configure(auth::configure)
        .configure(users::configure)
        .configure(tokens::configure)
        .configure(projects::configure)
        .configure(pipelines::configure)
        .configure(metrics::configure)
        .configure(ws::configure)
        .configure(webhooks::configure)
        .configure(integrations::configure)
        .configure(crate::openapi::configure)
        .configure(crate::docs::configure)
        .configure(dashboard::configure); // last: it takes every non-API path (the history fallback)
}

/// JSON 404 for unknown paths, and 405 for a known path asked with another method.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if req.resource_map().has_resource(req.path()) {
        return Err(ApiError::MethodNotAllowed(format!(
            "{} is not allowed on {}",
            req.method(),
            req.path()
        )));
    }
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}
