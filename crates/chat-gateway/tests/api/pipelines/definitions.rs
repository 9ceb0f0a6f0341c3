//! Pipeline definitions, runs from definitions and rollbacks through the edge, against the real services: the
//! definitions' CRUD with compare-and-set and roles (viewer reads, admin writes), CreatePipeline's validation
//! messages, runs of the defaults (a deploy needs a released version), and rollback's roles (operator for staging,
//! admin for production), its answer and its 409 when there is nothing to roll back to.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PROJECT, TestApp, assert_error, spawn_app_with_tasks};

fn definitions_path() -> String {
    format!("/api/v1/projects/{PROJECT}/definitions")
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(actual, status, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definitions_are_read_by_viewers_and_changed_by_admins_with_compare_and_set() {
    let app = spawn_app_with_tasks().await;
    let (admin, viewer, operator) = app.admin_viewer_operator().await;
    let deploy_eu = json!({"name": "deploy-eu", "kind": "deploy", "allowUnreleased": true, "stages": [
        {"name": "deploy", "jobs": [{"name": "rollout", "executor": "simulate", "params": {"durationMs": 50},
            "timeoutS": 60, "retry": {"maxAttempts": 2}}]}]});

    let listed = json_of(app.get(&definitions_path(), Some(&viewer)).await, 200).await;
    let names: Vec<&Value> = listed["items"].as_array().unwrap().iter().map(|d| &d["name"]).collect();
    assert_eq!(names, [&json!("ci"), &json!("deploy")], "the defaults of a new project");
    assert_eq!(listed["items"][1]["kind"], "deploy");
    for token in [&viewer, &operator] {
        let refused = app.post_json(&definitions_path(), Some(token), &deploy_eu).await;
        assert_error(refused, 403, "forbidden").await;
    }
    let created = app.post_json(&definitions_path(), Some(&admin), &deploy_eu).await;
    assert_eq!(
        created.headers()["location"],
        format!("/api/v1/projects/{PROJECT}/definitions/deploy-eu").as_str()
    );
    let created = json_of(created, 201).await;
    assert_eq!(
        (&created["version"], &created["allowUnreleased"]),
        (&json!(1), &json!(true))
    );
    assert_eq!(created["stages"][0]["jobs"][0]["timeoutS"], 60);
    assert_eq!(created["stages"][0]["jobs"][0]["retry"]["maxAttempts"], 2);
    let again = app.post_json(&definitions_path(), Some(&admin), &deploy_eu).await;
    assert_error(again, 409, "conflict").await;

    let one = format!("{}/deploy-eu", definitions_path());
    let mut replacement = deploy_eu.clone();
    replacement.as_object_mut().unwrap().remove("name");
    replacement["expectedVersion"] = json!(1);
    replacement["description"] = json!("EU only");
    let updated = json_of(app.send_json(Method::PUT, &one, Some(&admin), &replacement).await, 200).await;
    assert_eq!(
        (&updated["version"], &updated["description"]),
        (&json!(2), &json!("EU only"))
    );
    let stale = app.send_json(Method::PUT, &one, Some(&admin), &replacement).await;
    let message = assert_error(stale, 409, "conflict").await;
    assert!(message.contains("expectedVersion"), "{message}");
    let read = json_of(app.get(&one, Some(&viewer)).await, 200).await;
    assert_eq!(read, updated);

    let stale_delete = app
        .request(Method::DELETE, &format!("{one}?expectedVersion=1"), Some(&admin))
        .send()
        .await
        .unwrap();
    assert_error(stale_delete, 409, "conflict").await;
    let deleted = app
        .request(Method::DELETE, &format!("{one}?expectedVersion=2"), Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    assert_error(app.get(&one, Some(&viewer)).await, 404, "not_found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_definition_is_a_400_with_create_pipelines_message() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let stages = |params: Value| json!([{"name": "build", "jobs": [{"name": "compile", "params": params}]}]);
    let cases = [
        (
            json!({"name": "x", "kind": "ci", "stages": stages(json!({"durationMs": 3_600_001}))}),
            "stages[0].jobs[0].params.durationMs: must be an integer from 0 to 3600000",
        ),
        (
            json!({"name": "x", "kind": "ci", "stages": []}),
            "stages: at least one stage is required",
        ),
        (
            json!({"name": "Bad Name", "kind": "ci", "stages": stages(json!({}))}),
            "name: ",
        ),
    ];
    for (body, message) in cases {
        let pipeline_message = if message.starts_with("stages") {
            // The very same stages sent to POST /api/v1/pipelines answer the very same message.
            let free_form = app
                .post_json(
                    "/api/v1/pipelines",
                    Some(&admin),
                    &json!({"project": PROJECT, "stages": body["stages"]}),
                )
                .await;
            Some(assert_error(free_form, 400, "invalid_argument").await)
        } else {
            None
        };
        let refused = app.post_json(&definitions_path(), Some(&admin), &body).await;
        let got = assert_error(refused, 400, "invalid_argument").await;
        assert!(got.starts_with(message), "{got:?} should start with {message:?}");
        if let Some(pipeline_message) = pipeline_message {
            assert_eq!(got, pipeline_message);
        }
    }
}

async fn release(app: &TestApp, admin: &str, version: &str) {
    let path = format!("/api/v1/projects/{PROJECT}/releases");
    let response = app.post_json(&path, Some(admin), &json!({"version": version})).await;
    assert_eq!(response.status().as_u16(), 201);
}

async fn deployed(app: &TestApp, admin: &str, id: &str, environment: &str, version: &str, minute: u32) {
    let path = format!("/api/v1/projects/{PROJECT}/deployments");
    let body = json!({"id": id, "environment": environment, "version": version, "status": "succeeded",
        "startedAt": format!("2026-01-01T10:{minute:02}:00Z"), "finishedAt": format!("2026-01-01T10:{minute:02}:30Z")});
    let response = app.post_json(&path, Some(admin), &body).await;
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_run_definitions_and_a_deploy_needs_a_released_version() {
    let app = spawn_app_with_tasks().await;
    let (admin, viewer, operator) = app.admin_viewer_operator().await;
    release(&app, &admin, "2.5.0").await;
    let runs = format!("/api/v1/projects/{PROJECT}/runs");

    let refused = app.post_json(&runs, Some(&viewer), &json!({"definition": "ci"})).await;
    assert_error(refused, 403, "forbidden").await;
    let ci = json_of(
        app.post_json(&runs, Some(&operator), &json!({"definition": "ci"}))
            .await,
        201,
    )
    .await;
    assert_eq!(ci["definition"], json!({"name": "ci", "version": 1}));
    assert_eq!(ci["number"], 1);
    let unreleased = app
        .post_json(
            &runs,
            Some(&operator),
            &json!({"definition": "deploy", "environment": "staging", "version": "9.9.9"}),
        )
        .await;
    let message = assert_error(unreleased, 400, "invalid_argument").await;
    assert!(message.starts_with("version: "), "{message}");
    let missing = app
        .post_json(
            &runs,
            Some(&operator),
            &json!({"definition": "deploy", "environment": "staging"}),
        )
        .await;
    let message = assert_error(missing, 400, "invalid_argument").await;
    assert!(message.starts_with("version: is required"), "{message}");
    let body = json!({"definition": "deploy", "environment": "staging", "version": "2.5.0", "idempotencyKey": "d-1"});
    let deploy = app.post_json(&runs, Some(&operator), &body).await;
    let location = deploy.headers()["location"].to_str().unwrap().to_owned();
    let deploy = json_of(deploy, 201).await;
    assert_eq!(
        location,
        format!("/api/v1/pipelines/{}", deploy["id"].as_str().unwrap())
    );
    assert_eq!(
        (&deploy["environment"], &deploy["version"]),
        (&json!("staging"), &json!("2.5.0"))
    );
    let replay = json_of(app.post_json(&runs, Some(&operator), &body).await, 200).await;
    assert_eq!(replay["id"], deploy["id"]);
    let read = json_of(app.get(&location, Some(&viewer)).await, 200).await;
    assert_eq!(read["definition"]["name"], "deploy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollbacks_go_to_the_previous_good_version_with_the_deploy_roles() {
    let app = spawn_app_with_tasks().await;
    let (admin, viewer, operator) = app.admin_viewer_operator().await;
    for v in ["1.0.0", "2.0.0"] {
        release(&app, &admin, v).await;
    }
    let rollback = |env: &str| format!("/api/v1/projects/{PROJECT}/environments/{env}/rollback");

    let nothing = app.post_json(&rollback("staging"), Some(&operator), &json!({})).await;
    let message = assert_error(nothing, 409, "conflict").await;
    assert!(message.starts_with("nothing to roll back"), "{message}");
    for (i, env) in ["staging", "production"].into_iter().enumerate() {
        deployed(&app, &admin, &format!("{env}-1"), env, "1.0.0", 10 * i as u32).await;
        deployed(&app, &admin, &format!("{env}-2"), env, "2.0.0", 10 * i as u32 + 5).await;
    }

    let refused = app.post_json(&rollback("staging"), Some(&viewer), &json!({})).await;
    assert_error(refused, 403, "forbidden").await;
    let refused = app
        .post_json(&rollback("production"), Some(&operator), &json!({}))
        .await;
    assert_error(refused, 403, "forbidden").await;
    let bad_to = app
        .post_json(&rollback("staging"), Some(&operator), &json!({"to": "2.0.0"}))
        .await;
    let message = assert_error(bad_to, 400, "invalid_argument").await;
    assert!(message.starts_with("to: "), "{message}");
    let staging = json_of(
        app.post_json(&rollback("staging"), Some(&operator), &json!({})).await,
        201,
    )
    .await;
    assert_eq!(
        (&staging["fromVersion"], &staging["toVersion"]),
        (&json!("2.0.0"), &json!("1.0.0"))
    );
    assert_eq!(staging["pipeline"]["trigger"], "rollback");
    assert_eq!(staging["pipeline"]["version"], "1.0.0");
    let production = app
        .post_json(&rollback("production"), Some(&admin), &json!({"to": "1.0.0"}))
        .await;
    let production = json_of(production, 201).await;
    assert_eq!(production["pipeline"]["environment"], "production");
}
