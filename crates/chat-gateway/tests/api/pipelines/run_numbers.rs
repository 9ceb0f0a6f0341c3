//! Run numbers through the API: every answer carries `number` (1, 2, 3… per project), and
//! `GET /api/v1/projects/{slug}/runs/{number}` resolves one, with a 404 for a number not used yet and a 400 naming
//! `number` for anything that is not one.

use serde_json::{Value, json};

use crate::helpers::{PROJECT, spawn_app_with_tasks, three_stage_pipeline};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_numbered_per_project_and_found_by_number() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let mut keyed = three_stage_pipeline(100);
    keyed["idempotencyKey"] = json!("deploy-7");

    let (_, first) = app.create_pipeline(&admin, &keyed).await;
    let (replay_status, replay) = app.create_pipeline(&admin, &keyed).await;
    let (_, second) = app.create_pipeline(&admin, &three_stage_pipeline(100)).await;

    assert_eq!((&first["number"], &second["number"]), (&json!(1), &json!(2)));
    assert_eq!(
        (replay_status, &replay["number"]),
        (200, &json!(1)),
        "a replay uses no number"
    );
    let path = format!("/api/v1/projects/{PROJECT}/runs/2");
    let response = app.get(&path, Some(&admin)).await;
    assert_eq!(response.status().as_u16(), 200);
    let found: Value = response.json().await.unwrap();
    assert_eq!((&found["id"], &found["number"]), (&second["id"], &json!(2)));
    assert!(
        found["stages"].as_array().is_some_and(|s| !s.is_empty()),
        "with its stages: {found}"
    );
    let listed: Value = app
        .get_json(&format!("/api/v1/pipelines?project={PROJECT}"), Some(&admin))
        .await;
    let numbers: Vec<&Value> = listed["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["number"])
        .collect();
    assert_eq!(numbers, [&json!(2), &json!(1)], "newest first, each with its number");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_number_not_used_is_404_and_a_bad_one_is_400_naming_number() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    app.create_pipeline(&admin, &three_stage_pipeline(100)).await;

    let missing = app
        .get(&format!("/api/v1/projects/{PROJECT}/runs/2"), Some(&admin))
        .await;
    assert_eq!(missing.status().as_u16(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    let elsewhere = app.get("/api/v1/projects/other/runs/1", Some(&admin)).await;
    assert_eq!(elsewhere.status().as_u16(), 404);

    for bad in ["0", "abc", "-1", "1.5", "+1", "99999999999999999999999"] {
        let response = app
            .get(&format!("/api/v1/projects/{PROJECT}/runs/{bad}"), Some(&admin))
            .await;
        assert_eq!(response.status().as_u16(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("number:"), "{bad}: {body}");
    }
    let anonymous = app.get(&format!("/api/v1/projects/{PROJECT}/runs/1"), None).await;
    assert_eq!(anonymous.status().as_u16(), 401);
}
