//! The OpenAPI 3.1 document of the REST API, generated from the code: each handler's `#[utoipa::path]` and each DTO's
//! `ToSchema`. Served at `GET /api/v1/openapi.json` and read by the interactive docs at `/api/docs` ([`crate::docs`]).
//!
//! Errors every operation may answer (401 without a valid token, 413/415 for a body, 503 when a service is down, 500)
//! are added once by [`CommonResponses`]; each handler lists the errors particular to it.

pub mod contract;
mod modifiers;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::LazyLock;

use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

use self::modifiers::{BearerAuth, CommonResponses, MinProperties};
use crate::error::ErrorBody;
use crate::routes::{
    auth, chat, definitions, health, integrations, metrics, pipelines, projects, tokens, users, webhooks, ws,
};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "DevOpsTrack API",
        description = "The public REST API of DevOpsTrack's gateway. JSON in camelCase; every error is \
                       `{\"error\":{\"code\",\"message\"}}`; lists take `pageSize` (1–200) and `pageToken` and \
                       answer `{\"items\",\"nextPageToken\"}`. Authenticate with \
                       `Authorization: Bearer <access token>` from `POST /api/v1/auth/login` or \
                       `POST /api/v1/auth/token`; the interactive docs are at `/api/docs`. Live pipeline and job \
                       events come over the WebSocket `GET /api/v1/ws` (see that operation for its protocol).",
    ),
    paths(
        auth::login, auth::refresh, auth::logout, auth::me, auth::exchange, auth::change_password, auth::jwks,
        users::list, users::create, users::names, users::update, users::set_password,
        tokens::list, tokens::create, tokens::revoke,
        projects::list, projects::create, projects::get, projects::update, projects::delete, projects::archive,
        projects::add_repository, projects::remove_repository,
        projects::environments::list_environments, projects::environments::get_environment,
        projects::environments::put_environment, projects::environments::delete_environment,
        projects::releases::list_releases, projects::releases::create_release,
        projects::releases::list_deployments, projects::releases::record_deployment,
        pipelines::list, pipelines::create, pipelines::get, pipelines::get_by_number, pipelines::cancel,
        pipelines::retry, pipelines::approve, pipelines::reject, pipelines::log,
        definitions::list, definitions::create, definitions::get, definitions::update, definitions::delete,
        definitions::runs::create, definitions::runs::rollback,
        metrics::dora, metrics::series, metrics::overview,
        ws::upgrade,
        chat::parse, chat::rooms, chat::history, chat::post_message, chat::action, chat::decide, chat::audit,
        chat::verify_audit,
        webhooks::github, integrations::put, integrations::get, webhooks::deliveries::list,
        webhooks::deliveries::replay,
        health::healthz, health::readyz, openapi_json,
    ),
    // The contract's schemas: parameters reference them too, which utoipa does not collect by itself.
    components(schemas(
        ErrorBody, contract::Slug, contract::ProjectRef, contract::ProjectFilter, contract::EnvName,
        contract::EnvFilter, contract::VersionLabel, contract::CommitSha, contract::OptionalCommitSha,
        contract::Tag, contract::DisplayName, contract::Description, contract::ReleaseNotes, contract::ShortText,
        contract::PipelineRef, contract::TagFilter, contract::ProjectOrder, contract::NewOwner, contract::Uuid,
        contract::Email, contract::NewPassword, contract::StepName, contract::PipelineVersion,
        contract::IdempotencyKey, contract::DeploymentId, contract::RepoUrl, contract::Branch, contract::EnvUrl,
        contract::RejectReason, contract::WebhookSecret, contract::GithubEventName, contract::GithubDeliveryId,
        contract::SeriesStep, contract::UserRole, contract::RoomRef,
    )),
    modifiers(&BearerAuth, &CommonResponses, &MinProperties),
    security(("bearer" = [])),
    tags(
        (name = "auth", description = "Log in, refresh, log out; API-token exchange; the signing keys"),
        (name = "users", description = "User administration (admin), and people's display names (anyone signed in)"),
        (name = "tokens", description = "API tokens for scripts and CI"),
        (name = "projects", description = "Projects and their repositories (reads: viewer; changes: admin)"),
        (name = "environments", description = "A project's environments and what runs in each"),
        (name = "releases", description = "Versions of a project (create: operator)"),
        (name = "deployments", description = "Deployment history (record: admin or the service role)"),
        (name = "pipelines", description = "Pipeline runs: stages of jobs (reads: viewer; create and cancel: operator)"),
        (name = "definitions", description = "A project's pipeline definitions, `ci` or `deploy`, that runs are \
            created from (reads: viewer; changes: admin)"),
        (name = "jobs", description = "A job's retry, approval and log (approve a production deploy: admin)"),
        (name = "metrics", description = "DORA metrics, series and the dashboard overview (viewer)"),
        (name = "webhooks", description = "GitHub webhooks (signed with the project's secret), that secret's \
            configuration (set: admin) and the deliveries kept for processing (admin)"),
        (name = "chat", description = "ChatOps: rooms, messages, the bot's answers, actions to confirm and approve"),
        (name = "audit", description = "The hash-chained audit trail of chat actions and mutating requests (admin)"),
        (name = "live", description = "The WebSocket of live pipeline and job events"),
        (name = "meta", description = "Health and this document (Prometheus metrics are on the private admin port)"),
    ),
)]
pub struct ApiDoc;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("an OpenAPI document always serializes")
});

/// The document as served (pretty JSON).
pub fn document() -> &'static str {
    DOCUMENT.as_str()
}

/// The methods the document lists for a route template (`/api/v1/projects/{slug}` → `GET, PATCH, DELETE`), for the
/// `Allow` header of a 405.
pub fn allowed_methods(template: &str) -> Option<String> {
    static METHODS: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let operations = [
                    ("GET", &item.get),
                    ("PUT", &item.put),
                    ("POST", &item.post),
                    ("DELETE", &item.delete),
                    ("PATCH", &item.patch),
                    ("HEAD", &item.head),
                    ("OPTIONS", &item.options),
                    ("TRACE", &item.trace),
                ];
                let methods: Vec<&str> = operations
                    .iter()
                    .filter(|(_, operation)| operation.is_some())
                    .map(|(method, _)| *method)
                    .collect();
                (path.clone(), methods.join(", "))
            })
            .collect()
    });
    METHODS.get(template).cloned()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(OPENAPI_PATH, web::get().to(openapi_json));
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(()), operation_id = "getOpenApi",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = serde_json::Value)))]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("cache-control", "no-cache"))
        .body(document())
}
