//! The OpenAPI 3.1 document of the REST API, generated from the code: each handler's `#[utoipa::path]` and each DTO's
//! `ToSchema`. Served at `GET /api/v1/openapi.json` and read by the interactive docs at `/api/docs` ([`crate::docs`]).
//!
//! Errors every operation may answer (401 without a valid token, 413/415 for a body, 503 when a service is down, 500)
//! are added once by [`CommonResponses`]; each handler lists the errors particular to it.

use std::sync::LazyLock;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes::{auth, health, integrations, metrics, pipelines, projects, tokens, users, webhooks, ws};

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
        projects::list_environments, projects::get_environment, projects::put_environment,
        projects::delete_environment,
        projects::list_releases, projects::create_release, projects::list_deployments, projects::record_deployment,
        pipelines::list, pipelines::create, pipelines::get, pipelines::cancel,
        pipelines::retry, pipelines::approve, pipelines::reject, pipelines::log,
        metrics::dora, metrics::series, metrics::overview,
        ws::upgrade,
        webhooks::github, integrations::put, integrations::get,
        health::healthz, health::readyz, health::metrics, openapi_json,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &CommonResponses),
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
        (name = "jobs", description = "A job's retry, approval and log (approve a production deploy: admin)"),
        (name = "metrics", description = "DORA metrics, series and the dashboard overview (viewer)"),
        (name = "webhooks", description = "GitHub webhooks (signed with the project's secret) and that secret's \
            configuration (set: admin)"),
        (name = "live", description = "The WebSocket of live pipeline and job events"),
        (name = "meta", description = "Health, metrics and this document"),
    ),
)]
pub struct ApiDoc;

/// The body of every error answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Error, example = json!({"error": {"code": "not_found", "message": "project api does not exist"}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Machine-readable: `invalid_json`, `invalid_argument`, `unauthenticated`, `forbidden`, `not_found`, `conflict`,
    /// `payload_too_large`, `unsupported_media_type`, `rate_limited`, `account_locked`, `unavailable`, `internal`.
    pub code: String,
    /// For people; names the field at fault for `invalid_argument`.
    pub message: String,
}

/// The `bearer` security scheme every operation uses unless it says `security: [{}]`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token (EdDSA JWT, 15 minutes)"))
                    .build(),
            ),
        );
    }
}

/// Adds the answers any operation may give, as references to `components.responses`.
struct CommonResponses;

const COMMON: [(&str, &str, &str); 5] = [
    (
        "401",
        "Unauthenticated",
        "No valid access token (`WWW-Authenticate: Bearer`)",
    ),
    ("413", "PayloadTooLarge", "The body is over 64 KiB"),
    ("415", "UnsupportedMediaType", "The body is not `application/json`"),
    ("500", "Internal", "An unexpected failure (logged with the request id)"),
    (
        "503",
        "Unavailable",
        "A backing service is down or too slow; try again shortly",
    ),
];

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                add_common_responses(operation);
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, description) in COMMON {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Error")))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", content)
                .build();
            components.responses.insert(name.to_owned(), RefOr::T(response));
        }
    }
}

fn add_common_responses(operation: &mut Operation) {
    // `security: [{}]` marks a public operation; anything else inherits the global bearer requirement.
    let public = operation
        .security
        .as_ref()
        .is_some_and(|s| s.iter().any(|r| *r == SecurityRequirement::default()));
    let has_body = operation.request_body.is_some();
    let is_meta = operation.tags.as_ref().is_some_and(|t| t.iter().any(|t| t == "meta"));
    for (status, name, _) in COMMON {
        let applies = match status {
            "401" => !public,
            "413" | "415" => has_body,
            _ => !is_meta,
        };
        if applies {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| Ref::from_response_name(name).into());
        }
    }
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("an OpenAPI document always serializes")
});

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
        .body(DOCUMENT.as_str())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use actix_web::{App, ResponseError};
    use serde_json::Value;

    use super::*;
    use crate::error::ApiError;

    /// Every route the REST API registers (the docs pages aside), as `METHOD /path/{param}`.
    const ROUTES: &[&str] = &[
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/refresh",
        "POST /api/v1/auth/logout",
        "GET /api/v1/auth/me",
        "POST /api/v1/auth/token",
        "PUT /api/v1/auth/password",
        "GET /.well-known/jwks.json",
        "GET /api/v1/users",
        "POST /api/v1/users",
        "GET /api/v1/users/names",
        "PATCH /api/v1/users/{id}",
        "PUT /api/v1/users/{id}/password",
        "GET /api/v1/tokens",
        "POST /api/v1/tokens",
        "DELETE /api/v1/tokens/{id}",
        "GET /api/v1/projects",
        "POST /api/v1/projects",
        "GET /api/v1/projects/{slug}",
        "PATCH /api/v1/projects/{slug}",
        "DELETE /api/v1/projects/{slug}",
        "POST /api/v1/projects/{slug}/archive",
        "POST /api/v1/projects/{slug}/repositories",
        "DELETE /api/v1/projects/{slug}/repositories",
        "GET /api/v1/projects/{slug}/environments",
        "GET /api/v1/projects/{slug}/environments/{env}",
        "PUT /api/v1/projects/{slug}/environments/{env}",
        "DELETE /api/v1/projects/{slug}/environments/{env}",
        "GET /api/v1/projects/{slug}/releases",
        "POST /api/v1/projects/{slug}/releases",
        "GET /api/v1/projects/{slug}/deployments",
        "POST /api/v1/projects/{slug}/deployments",
        "GET /api/v1/pipelines",
        "POST /api/v1/pipelines",
        "GET /api/v1/pipelines/{id}",
        "POST /api/v1/pipelines/{id}/cancel",
        "POST /api/v1/jobs/{id}/retry",
        "POST /api/v1/jobs/{id}/approve",
        "POST /api/v1/jobs/{id}/reject",
        "GET /api/v1/jobs/{id}/log",
        "GET /api/v1/metrics/dora",
        "GET /api/v1/metrics/series",
        "GET /api/v1/metrics/overview",
        "GET /api/v1/ws",
        "POST /api/v1/webhooks/github/{project}",
        "PUT /api/v1/projects/{slug}/integrations/github",
        "GET /api/v1/projects/{slug}/integrations/github",
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /api/v1/openapi.json",
    ];

    const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

    fn document() -> Value {
        serde_json::from_str(&DOCUMENT).unwrap()
    }

    /// `(METHOD /path, operation)` for every operation of the document.
    fn operations(doc: &Value) -> Vec<(String, &Value)> {
        let paths = doc["paths"].as_object().unwrap();
        let mut found = Vec::new();
        for (path, item) in paths {
            for method in METHODS {
                if let Some(operation) = item.get(method) {
                    found.push((format!("{} {path}", method.to_uppercase()), operation));
                }
            }
        }
        found
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        let doc = document();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        assert_eq!(doc["info"]["title"], "DevOpsTrack API");
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    }

    #[test]
    fn the_document_describes_exactly_the_registered_routes() {
        let doc = document();
        let documented: BTreeSet<String> = operations(&doc).into_iter().map(|(route, _)| route).collect();
        let registered: BTreeSet<String> = ROUTES.iter().map(|r| r.to_string()).collect();
        assert_eq!(registered.len(), ROUTES.len(), "ROUTES has duplicates");
        let missing: Vec<_> = registered.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&registered).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "undocumented: {missing:?}; not registered: {extra:?}"
        );
    }

    #[actix_web::test]
    async fn every_documented_route_is_routed() {
        // No AppState: a routed request fails in its extractors (500/401), an unrouted one is a bare 404.
        let app = init_service(App::new().configure(crate::routes::configure)).await;
        for route in ROUTES {
            let (method, path) = route.split_once(' ').unwrap();
            let uri = path.replace(['{', '}'], "");
            let request = TestRequest::default()
                .method(method.parse().unwrap())
                .uri(&uri)
                .insert_header(("content-type", "application/json"))
                .to_request();
            let status = call_service(&app, request).await.status();
            assert!(status != 404 && status != 405, "{route} answered {status}: not routed");
        }
    }

    #[test]
    fn every_ref_resolves() {
        fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        found.push(target);
                    }
                    map.values().for_each(|v| refs(v, found));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
                _ => {}
            }
        }
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 50, "expected many references, found {}", found.len());
        for target in found {
            let pointer = target
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external $ref {target}"));
            assert!(pointer.starts_with("/components/"), "{target}");
            assert!(doc.pointer(pointer).is_some(), "dangling $ref {target}");
        }
        for schema in [
            "Project",
            "Environment",
            "Deployment",
            "Release",
            "Tier",
            "Provider",
            "DeploymentStatus",
            "Role",
            "Pipeline",
            "Stage",
            "Job",
            "RetryPolicy",
            "PipelinePage",
            "JobLog",
            "CreatePipelineRequest",
            "Commit",
            "CommitInput",
            "RejectJobRequest",
            "PipelineStatus",
            "JobStatus",
            "Trigger",
            "Executor",
            "Source",
            "UserName",
            "UserNames",
        ] {
            assert!(doc["components"]["schemas"].get(schema).is_some(), "no schema {schema}");
        }
    }

    #[test]
    fn operations_are_tagged_answered_and_uniquely_named() {
        let doc = document();
        let mut ids = BTreeSet::new();
        for (route, operation) in operations(&doc) {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{route}: no operationId"));
            assert!(ids.insert(id.to_owned()), "{route}: operationId {id} is used twice");
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{route}: no tag"
            );
            let responses = operation["responses"].as_object().unwrap();
            // The WebSocket's success is 101 Switching Protocols.
            assert!(
                responses
                    .keys()
                    .any(|status| status.starts_with('2') || status == "101"),
                "{route}: no success answer"
            );
            let public = operation["security"] == serde_json::json!([{}]);
            assert!(
                public || responses.contains_key("401"),
                "{route} needs a token but documents no 401"
            );
            let params: Vec<_> = operation["parameters"].as_array().into_iter().flatten().collect();
            for name in route.split('{').skip(1).map(|rest| &rest[..rest.find('}').unwrap()]) {
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                    "{route}: path parameter {name} is not declared"
                );
            }
        }
    }

    #[test]
    fn public_operations_are_the_ones_that_need_no_token() {
        let doc = document();
        let public: BTreeSet<String> = operations(&doc)
            .into_iter()
            .filter(|(_, op)| op["security"] == serde_json::json!([{}]))
            .map(|(route, _)| route)
            .collect();
        let expected = [
            "POST /api/v1/auth/login",
            "POST /api/v1/auth/refresh",
            "POST /api/v1/auth/logout",
            "POST /api/v1/auth/token",
            "GET /.well-known/jwks.json",
            "GET /healthz",
            "GET /readyz",
            "GET /metrics",
            "GET /api/v1/openapi.json",
            // Signed with the project's webhook secret instead.
            "POST /api/v1/webhooks/github/{project}",
            // Its token comes in the first message (browsers cannot set headers on a WebSocket).
            "GET /api/v1/ws",
        ];
        assert_eq!(public, expected.iter().map(|r| r.to_string()).collect());
    }

    #[actix_web::test]
    async fn the_error_schema_is_what_errors_answer() {
        let errors = [
            ApiError::invalid("name: must not be empty"),
            ApiError::NotFound("no such project".into()),
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::Internal(anyhow::anyhow!("secret cause")),
        ];
        for error in errors {
            let body = actix_web::body::to_bytes(error.error_response().into_body())
                .await
                .unwrap();
            let parsed: ErrorBody = serde_json::from_slice(&body).unwrap();
            assert!(!parsed.error.code.is_empty() && !parsed.error.message.is_empty());
        }
    }

    #[actix_web::test]
    async fn the_document_is_served() {
        let app = init_service(App::new().configure(configure)).await;
        let response = call_service(&app, TestRequest::get().uri(OPENAPI_PATH).to_request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers().get("content-type").unwrap().to_str().unwrap(),
            "application/json"
        );
        let served: Value = serde_json::from_slice(&read_body(response).await).unwrap();
        assert_eq!(served, document());
    }
}
