//! The REST routes of the edge. Handlers are thin: extract, call one upstream RPC, map the answer.

pub(crate) mod auth;
pub(crate) mod chat;
pub(crate) mod dashboard;
pub(crate) mod definitions;
pub(crate) mod dto;
pub(crate) mod health;
pub(crate) mod integrations;
pub(crate) mod metrics;
pub(crate) mod pipelines;
pub(crate) mod projects;
pub(crate) mod tokens;
pub(crate) mod users;
pub(crate) mod webhooks;
pub(crate) mod ws;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(crate::extract::MAX_BODY_BYTES))
        .app_data(web::PathConfig::default().error_handler(|e, _| ApiError::invalid(format!("path: {e}")).into()))
        // Prometheus metrics are on the private admin port (`admin_addr`), never here: this route, registered before
        // `health` (which still registers `/metrics`, for the lead to drop at merge), answers the JSON 404 instead of
        // the metrics, and keeps the dashboard's history fallback from answering 200.
        .route("/metrics", web::route().to(no_public_metrics))
        .configure(health::configure)
        // The busiest routes first: a path is matched against each registered pattern in turn (a regex for each one
        // with a `{param}`), twice a request (the router, and `observe` naming the route). No two resources' patterns
        // overlap, so the order decides only how many are tried: 17 before a create when pipelines came after
        // projects, about 9% of a create's instructions in the issue-19 profile.
        .configure(pipelines::configure)
        .configure(auth::configure)
        .configure(users::configure)
        .configure(tokens::configure)
        .configure(projects::configure)
        .configure(definitions::configure)
        .configure(metrics::configure)
        .configure(ws::configure)
        .configure(chat::configure)
        .configure(webhooks::configure)
        .configure(integrations::configure)
        .configure(crate::openapi::configure)
        .configure(crate::docs::configure)
        .configure(dashboard::configure); // last: it takes every non-API path (the history fallback)
}

/// JSON 404 for unknown paths, and 405 for a known path asked with another method, with the `Allow` header RFC 9110
/// requires: the methods the OpenAPI document lists for that route (`every_documented_route_is_routed` and
/// `the_document_describes_exactly_the_registered_routes` keep the two the same); the dashboard's files answer GET and
/// HEAD, and the undocumented rest (the docs pages) GET only.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let rmap = req.resource_map();
    if !rmap.has_resource(req.path()) {
        return Err(no_route(&req));
    }
    let allowed = match rmap.match_pattern(req.path()) {
        Some(pattern) if pattern == dashboard::PATTERN => "GET, HEAD".to_owned(),
        Some(pattern) => crate::openapi::allowed_methods(&pattern).unwrap_or_else(|| "GET".to_owned()),
        None => "GET".to_owned(),
    };
    let error = ApiError::MethodNotAllowed(format!("{} is not allowed on {}", req.method(), req.path()));
    let mut response = error.error_response();
    if let Ok(allowed) = HeaderValue::from_str(&allowed) {
        response.headers_mut().insert(header::ALLOW, allowed);
    }
    Ok(response)
}

/// `/metrics` on the public port: the same JSON 404 as any unknown path (whatever the method).
async fn no_public_metrics(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(no_route(&req))
}

fn no_route(req: &HttpRequest) -> ApiError {
    ApiError::NotFound(format!("no route for {} {}", req.method(), req.path()))
}
