//! Checks of the document: every registered route is documented and routed, every `$ref` resolves, operations are
//! tagged and answered, and the error schema is what errors answer.

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
    "GET /api/v1/projects/{slug}/runs/{number}",
    "POST /api/v1/pipelines/{id}/cancel",
    "POST /api/v1/jobs/{id}/retry",
    "POST /api/v1/jobs/{id}/approve",
    "POST /api/v1/jobs/{id}/reject",
    "GET /api/v1/jobs/{id}/log",
    "GET /api/v1/metrics/dora",
    "GET /api/v1/metrics/series",
    "GET /api/v1/metrics/overview",
    "GET /api/v1/ws",
    "POST /api/v1/chat/parse",
    "GET /api/v1/chat/rooms",
    "GET /api/v1/chat/rooms/{room}/messages",
    "POST /api/v1/chat/rooms/{room}/messages",
    "GET /api/v1/chat/actions/{id}",
    "POST /api/v1/chat/actions/{id}/decisions",
    "GET /api/v1/audit",
    "GET /api/v1/audit/verify",
    "POST /api/v1/webhooks/github/{project}",
    "PUT /api/v1/projects/{slug}/integrations/github",
    "GET /api/v1/projects/{slug}/integrations/github",
    "GET /api/v1/projects/{slug}/definitions",
    "POST /api/v1/projects/{slug}/definitions",
    "GET /api/v1/projects/{slug}/definitions/{name}",
    "PUT /api/v1/projects/{slug}/definitions/{name}",
    "DELETE /api/v1/projects/{slug}/definitions/{name}",
    "POST /api/v1/projects/{slug}/runs",
    "POST /api/v1/projects/{slug}/environments/{env}/rollback",
    "GET /api/v1/admin/webhook-deliveries",
    "POST /api/v1/admin/webhook-deliveries/{id}/replay",
    "GET /healthz",
    "GET /readyz",
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
        "GET /api/v1/openapi.json",
        // Signed with the project's webhook secret instead.
        "POST /api/v1/webhooks/github/{project}",
        // Its token comes in the first message (browsers cannot set headers on a WebSocket).
        "GET /api/v1/ws",
    ];
    assert_eq!(public, expected.iter().map(|r| r.to_string()).collect());
}

#[test]
fn enums_are_documented_as_the_api_writes_them() {
    use crate::routes::pipelines::dto::{Executor, JobStatus, PipelineStatus, Source, Trigger};
    fn written<T: serde::Serialize>(values: &[T]) -> Vec<Value> {
        values.iter().map(|v| serde_json::to_value(v).unwrap()).collect()
    }
    let doc = document();
    let cases = [
        (
            "PipelineStatus",
            written(&[PipelineStatus::Queued, PipelineStatus::WaitingApproval]),
        ),
        ("JobStatus", written(&[JobStatus::Pending, JobStatus::TimedOut])),
        ("Trigger", written(&[Trigger::Manual, Trigger::Api])),
        ("Source", written(&[Source::Devopstrack, Source::Github])),
        ("Executor", written(&[Executor::Simulate, Executor::Http])),
    ];
    for (schema, values) in cases {
        let documented = doc["components"]["schemas"][schema]["enum"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for value in values {
            assert!(
                documented.contains(&value),
                "{schema}: {value} is not in {documented:?}"
            );
        }
    }
}

#[test]
fn a_project_update_must_change_something() {
    let doc = document();

    let schema = &doc["components"]["schemas"]["UpdateProjectRequest"];

    assert_eq!(
        schema["minProperties"], 2,
        "expectedVersion and at least one field: {schema}"
    );
    assert_eq!(schema["required"], serde_json::json!(["expectedVersion"]), "{schema}");
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

/// `#/components/schemas/Name` → the schema.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(target) => doc.pointer(target.strip_prefix('#').unwrap()).unwrap(),
        None => schema,
    }
}

#[test]
fn the_parse_answer_is_typed_with_every_field_it_writes() {
    let doc = document();
    let answer =
        &doc["paths"]["/api/v1/chat/parse"]["post"]["responses"]["200"]["content"]["application/json"]["schema"];
    let answer = resolve(&doc, answer);

    let properties: BTreeSet<&str> = answer["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("the parse answer has no properties: {answer}"))
        .keys()
        .map(String::as_str)
        .collect();
    let expected = ["intent", "params", "risk", "missing", "negated", "language", "parsedBy"];
    assert_eq!(properties, expected.into_iter().collect());
    assert_eq!(answer["required"], serde_json::json!(expected));
    let params = resolve(&doc, &answer["properties"]["params"]);
    let params: BTreeSet<&str> = params["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        params,
        ["project", "definition", "run", "version", "environment", "window"]
            .into_iter()
            .collect()
    );
}

/// Every schema a chat or audit operation takes or answers, followed through `$ref`s, says what it holds: no bare
/// `object` (which generated clients type as an empty record).
#[test]
fn chat_and_audit_bodies_have_no_untyped_object() {
    fn visit<'a>(doc: &'a Value, schema: &'a Value, at: String, seen: &mut BTreeSet<String>, bare: &mut Vec<String>) {
        if let Some(target) = schema["$ref"].as_str() {
            if seen.insert(target.to_owned()) {
                visit(doc, resolve(doc, schema), target.to_owned(), seen, bare);
            }
            return;
        }
        let Some(map) = schema.as_object() else { return };
        let is_object = map
            .get("type")
            .is_some_and(|t| t == "object" || t.as_array().is_some_and(|t| t.contains(&"object".into())));
        if is_object && !map.contains_key("properties") && !map.contains_key("additionalProperties") {
            bare.push(at.clone());
        }
        for (key, value) in map {
            match value {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .for_each(|(i, v)| visit(doc, v, format!("{at}/{key}/{i}"), seen, bare)),
                Value::Object(_) => visit(doc, value, format!("{at}/{key}"), seen, bare),
                _ => {}
            }
        }
    }
    let doc = document();
    let mut bare = Vec::new();
    let mut seen = BTreeSet::new();
    let mut checked = 0;
    for (route, operation) in operations(&doc) {
        let path = route.split_once(' ').unwrap().1;
        if !(path.starts_with("/api/v1/chat") || path.starts_with("/api/v1/audit")) {
            continue;
        }
        checked += 1;
        visit(
            &doc,
            &operation["requestBody"],
            format!("{route} request"),
            &mut seen,
            &mut bare,
        );
        for (status, answer) in operation["responses"].as_object().unwrap() {
            visit(&doc, answer, format!("{route} {status}"), &mut seen, &mut bare);
        }
    }
    assert_eq!(checked, 8, "the chat's and the audit trail's operations");
    assert!(bare.is_empty(), "untyped objects: {bare:#?}");
}

#[test]
fn chat_enums_are_documented_as_the_chat_writes_them() {
    use crate::chat::domain::{ActionState, Decision, Intent, Risk};
    let doc = document();
    let documented = |schema: &str| doc["components"]["schemas"][schema]["enum"].clone();
    let written = |values: Vec<Value>| Value::Array(values);
    assert_eq!(
        documented("ChatIntent"),
        written(Intent::ALL.iter().map(|i| i.as_str().into()).collect())
    );
    assert_eq!(
        documented("ChatRisk"),
        written(
            [Risk::Read, Risk::Medium, Risk::High, Risk::Critical]
                .iter()
                .map(|r| r.as_str().into())
                .collect()
        )
    );
    let states = [
        "awaiting_confirmation",
        "awaiting_approval",
        "executing",
        "succeeded",
        "failed",
        "rejected",
        "expired",
    ];
    assert!(states.iter().all(|s| ActionState::parse(s).is_some()));
    assert_eq!(documented("ChatActionState"), serde_json::json!(states));
    let decisions = [Decision::Confirm, Decision::Approve, Decision::Reject];
    assert_eq!(
        documented("ChatDecision"),
        written(decisions.iter().map(|d| d.as_str().into()).collect())
    );
}
