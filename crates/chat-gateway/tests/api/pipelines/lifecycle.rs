//! A pipeline's life through the API: created, read and listed until it succeeds; idempotent creation; the commit it
//! deploys, answered, kept and listed.

use serde_json::{Value, json};

use super::{WITHIN, job, status_is};
use crate::helpers::{PROJECT, pipeline_jobs, spawn_app_with_tasks, three_stage_pipeline};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_is_created_then_read_and_listed_until_it_succeeds() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, operator) = app.user_with_token(&admin, "op@example.com", "operator").await;
    let mut body = three_stage_pipeline(100);
    body["environment"] = json!("staging");
    body["version"] = json!("1.4.0");

    let response = app.post_json("/api/v1/pipelines", Some(&operator), &body).await;

    assert_eq!(response.status().as_u16(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(location, format!("/api/v1/pipelines/{id}"));
    assert_eq!(
        (
            &created["project"],
            &created["environment"],
            &created["version"],
            &created["trigger"]
        ),
        (&json!(PROJECT), &json!("staging"), &json!("1.4.0"), &json!("api"))
    );
    let names: Vec<&Value> = pipeline_jobs(&created).into_iter().map(|j| &j["name"]).collect();
    assert_eq!(names, ["compile", "unit", "lint", "rollout"]);
    let params = &job(&created, "compile")["params"];
    assert_eq!(
        (&params["durationMs"], &params["logLines"]),
        (&json!(100), &json!(3)),
        "{params}"
    );
    assert_eq!(job(&created, "compile")["executor"], "simulate");

    let done = app
        .wait_for_pipeline(&operator, &id, WITHIN, status_is("succeeded"))
        .await;
    assert!(
        pipeline_jobs(&done)
            .iter()
            .all(|j| j["status"] == "succeeded" && j["attempt"] == 1),
        "{done}"
    );
    assert!(done["finishedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{done}");

    let listed: Value = app
        .get_json(
            &format!("/api/v1/pipelines?project={PROJECT}&status=succeeded"),
            Some(&operator),
        )
        .await;
    let ids: Vec<&Value> = listed["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["id"])
        .collect();
    assert_eq!(ids, [&json!(id)], "{listed}");
    assert!(listed.get("nextPageToken").is_none(), "one page: {listed}");
    let running: Value = app.get_json("/api/v1/pipelines?status=running", Some(&operator)).await;
    assert_eq!(running["pipelines"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_key_answers_the_first_pipeline_with_200() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let mut body = three_stage_pipeline(100);
    body["idempotencyKey"] = json!("deploy-42");

    let (first_status, first) = app.create_pipeline(&admin, &body).await;
    let (again_status, again) = app.create_pipeline(&admin, &body).await;

    assert_eq!((first_status, again_status), (201, 200));
    assert_eq!(first["id"], again["id"]);
    assert_eq!(again["idempotencyKey"], "deploy-42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_created_with_a_commit_answers_keeps_and_lists_it() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let committed = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    let mut deploy = three_stage_pipeline(50);
    deploy["environment"] = json!("staging");
    deploy["version"] = json!("1.5.0");
    deploy["commit"] = json!({"sha": "3484A3FB816E0859FD6E1CEA078D76385FF50625", "time": committed.to_rfc3339()});
    let mut untimed = three_stage_pipeline(50);
    untimed["commit"] = json!({"sha": "3484a3f"});

    let (status, created) = app.create_pipeline(&admin, &deploy).await;
    let (untimed_status, untimed) = app.create_pipeline(&admin, &untimed).await;
    let (_, plain) = app.create_pipeline(&admin, &three_stage_pipeline(50)).await;

    assert_eq!((status, untimed_status), (201, 201), "{created} {untimed}");
    let sha = "3484a3fb816e0859fd6e1cea078d76385ff50625";
    let time = |p: &Value| {
        p["commit"]["time"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp())
    };
    assert_eq!(created["commit"]["sha"], sha, "stored lowercase: {created}");
    assert_eq!(time(&created), Some(committed.timestamp()), "{created}");
    assert_eq!(untimed["commit"], json!({"sha": "3484a3f", "time": null}));
    assert_eq!(plain["commit"], Value::Null, "no commit named: {plain}");
    let id = created["id"].as_str().expect("an id");
    let done = app.wait_for_pipeline(&admin, id, WITHIN, status_is("succeeded")).await;
    assert_eq!(
        (&done["commit"]["sha"], time(&done)),
        (&json!(sha), Some(committed.timestamp()))
    );
    let listed: Value = app
        .get_json(&format!("/api/v1/pipelines?project={PROJECT}"), Some(&admin))
        .await;
    let commits: Vec<&Value> = listed["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["commit"]["sha"])
        .collect();
    assert_eq!(
        commits,
        [&Value::Null, &json!("3484a3f"), &json!(sha)],
        "newest first: {listed}"
    );
}
