//! Four eyes across roles: an operator asks for a production deploy and confirms it, an admin approves it, and the run
//! starts at once, triggered by the operator with its production gate approved by the admin (no second `approve
//! api#N`). The asker never approves, another operator never approves, and an asker whose role was lowered after
//! confirming is refused when the action runs.

use reqwest::Method;
use serde_json::{Value, json};

use super::reply;
use crate::helpers::{PROJECT, TestApp, spawn_app_with_tasks};

const WITHIN: std::time::Duration = std::time::Duration::from_secs(20);

async fn release(app: &TestApp, admin: &str, version: &str) {
    let path = format!("/api/v1/projects/{PROJECT}/releases");
    let response = app.post_json(&path, Some(admin), &json!({"version": version})).await;
    assert_eq!(response.status().as_u16(), 201);
}

/// The operator's production deploy, confirmed: its action id, awaiting an admin's approval.
async fn asked_and_confirmed(app: &TestApp, operator: &str, room: &str) -> String {
    let (status, proposed) = app.say(operator, room, "deploy api 2.5.0 to production").await;
    assert_eq!(status, 201, "{proposed}");
    let action = &proposed["action"];
    assert_eq!(
        (action["intent"].as_str(), action["risk"].as_str()),
        (Some("deploy"), Some("critical")),
        "{proposed}"
    );
    assert!(reply(&proposed).contains("admin approves"), "{proposed}");
    let code = action["code"].as_str().unwrap().to_owned();
    let (_, confirmed) = app.say(operator, room, &format!("confirm {code}")).await;
    assert_eq!(confirmed["action"]["state"], "awaiting_approval", "{confirmed}");
    action["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_asks_for_a_production_deploy_and_an_admin_s_approval_starts_the_run() {
    // Arrange
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let admin_id = app.get_json("/api/v1/auth/me", Some(&admin)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (operator_id, operator) = app.user_with_token(&admin, "op@example.com", "operator").await;
    let (_, other_operator) = app.user_with_token(&admin, "op2@example.com", "operator").await;
    release(&app, &admin, "2.5.0").await;
    let room = format!("project:{PROJECT}");
    let action_id = asked_and_confirmed(&app, &operator, &room).await;

    // Act: neither the asker nor another operator may approve; the admin does.
    let (own, _) = app.decide(&operator, &action_id, "approve").await;
    let (other, _) = app.decide(&other_operator, &action_id, "approve").await;
    let (status, approved) = app.decide(&admin, &action_id, "approve").await;

    // Assert: the run was created by tasks for the operator, its gate approved by the admin, and it runs to the end
    // with no second approval.
    assert_eq!((own, other), (403, 403));
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["state"], "succeeded", "{approved}");
    let number = approved["run"]["runNumber"].as_u64().unwrap();
    let run: Value = app
        .get_json(&format!("/api/v1/projects/{PROJECT}/runs/{number}"), Some(&admin))
        .await;
    assert_eq!(run["triggeredBy"], operator_id.as_str(), "{run}");
    assert_eq!(run["trigger"], "chat", "{run}");
    assert_eq!(run["environment"], "production", "{run}");
    let id = run["id"].as_str().unwrap();
    let done = app
        .wait_for_pipeline(&admin, id, WITHIN, |p| p["status"] == "succeeded")
        .await;
    let deploy_stage = done["stages"].as_array().unwrap().last().unwrap();
    for job in deploy_stage["jobs"].as_array().unwrap() {
        assert_eq!(job["approvedBy"], admin_id.as_str(), "{done}");
    }
    let decisions = approved["decisions"].as_array().unwrap();
    assert_eq!(decisions[0]["by"]["id"], operator_id.as_str());
    assert_eq!(decisions[1]["by"]["id"], admin_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_deploy_is_refused_when_the_asker_s_role_was_lowered_after_confirming() {
    // Arrange
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (operator_id, operator) = app.user_with_token(&admin, "op@example.com", "operator").await;
    release(&app, &admin, "2.5.0").await;
    let room = format!("project:{PROJECT}");
    let action_id = asked_and_confirmed(&app, &operator, &room).await;
    let lowered = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{operator_id}"),
            Some(&admin),
            &json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(lowered.status().as_u16(), 200);

    // Act
    let (_, approved) = app.decide(&admin, &action_id, "approve").await;

    // Assert: the action fails with why, and no run was created.
    assert_eq!(approved["state"], "failed", "{approved}");
    let outcome = approved["outcome"].as_str().unwrap_or_default();
    assert!(outcome.contains("may not any more"), "{outcome}");
    let runs = app
        .get_json(&format!("/api/v1/pipelines?project={PROJECT}"), Some(&admin))
        .await;
    assert_eq!(runs["pipelines"].as_array().map(Vec::len), Some(0), "{runs}");
}
