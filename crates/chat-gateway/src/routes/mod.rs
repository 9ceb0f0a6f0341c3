//! The REST routes of the edge. Handlers are thin: extract, call one upstream RPC, map the answer.

mod auth;
mod dto;
mod health;
mod tokens;
mod users;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(crate::extract::MAX_BODY_BYTES))
        .app_data(web::QueryConfig::default().error_handler(|e, _| ApiError::invalid(format!("query: {e}")).into()))
        .app_data(web::PathConfig::default().error_handler(|e, _| ApiError::invalid(format!("path: {e}")).into()))
        .configure(health::configure)
        .configure(auth::configure)
        .configure(users::configure)
        .configure(tokens::configure);
}

/// JSON 404 for unknown API paths (and 405 for a known path with another method, via actix's default).
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!("no route for {} {}", req.method(), req.path())))
}
