//! Actions: proposed with a risk computed on the server, confirmed only by the asker with the action's code (a "yes"
//! confirms nothing), approved by a different admin when critical, run as the person who released it, refused with a
//! reason for those whose role does not allow them, and every step in the hash-chained audit trail.

use serde_json::{Value, json};

use super::reply;
use crate::helpers::{PROJECT, failing_build, gated_deploy, spawn_app_with_tasks};

const WITHIN: std::time::Duration = std::time::Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_retries_a_failed_run_by_confirming_its_code() {
    let app = spawn_app_with_tasks().await;
    let (admin, viewer, operator) = app.admin_viewer_operator().await;
    let failed = app.pipeline_in(&admin, &failing_build(), "failed").await;
    let number = failed["number"].as_u64().unwrap();
    let id = failed["id"].as_str().unwrap();
    let room = format!("project:{PROJECT}");

    // A viewer is told why not, and nothing is proposed.
    let (_, refused) = app.say(&viewer, &room, &format!("retry api#{number}")).await;
    assert!(refused.get("action").is_none(), "{refused}");
    assert!(reply(&refused).contains("viewer"), "{refused}");

    let (status, proposed) = app.say(&operator, &room, &format!("retry #{number}")).await;
    assert_eq!(status, 201, "{proposed}");
    let action = &proposed["action"];
    assert_eq!(action["state"], "awaiting_confirmation", "{proposed}");
    assert_eq!(action["risk"], "medium");
    assert_eq!(action["intent"], "retry");
    let code = action["code"].as_str().unwrap().to_owned();
    let action_id = action["id"].as_str().unwrap().to_owned();

    // "yes" confirms nothing; someone else cannot confirm; the asker confirms with the code.
    let (_, yes) = app.say(&operator, &room, "yes").await;
    assert!(yes.get("action").is_none(), "{yes}");
    let (forbidden, _) = app.decide(&admin, &action_id, "confirm").await;
    assert_eq!(forbidden, 403);
    let (_, confirmed) = app.say(&operator, &room, &format!("confirm {code}")).await;
    let done = &confirmed["action"];
    assert_eq!(done["state"], "succeeded", "{confirmed}");
    assert_eq!(done["run"]["runNumber"], number);
    assert_eq!(done["decisions"][0]["decision"], "confirm");
    let retried = app
        .get(&format!("/api/v1/pipelines/{id}"), Some(&admin))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        retried["stages"][0]["jobs"][0]["attempt"], 2,
        "the job was retried: {retried}"
    );

    // The confirmation is spent: the same code decides nothing any more.
    let (again, _) = app.decide(&operator, &action_id, "confirm").await;
    assert_eq!(again, 409);

    // The audit trail (admins only) has each step, and its chain is intact.
    let denied = app.get("/api/v1/audit", Some(&operator)).await;
    assert_eq!(denied.status().as_u16(), 403);
    let audit: Value = app.get_json("/api/v1/audit?kind=chat.action.*", Some(&admin)).await;
    let kinds: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "chat.action.propose",
        "chat.action.confirm",
        "chat.action.run_started",
        "chat.action.outcome",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let chain: Value = app.get_json("/api/v1/audit/verify", Some(&admin)).await;
    assert_eq!(chain["intact"], true, "{chain}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_approval_needs_a_second_admin() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, second) = app.user_with_token(&admin, "second@example.com", "admin").await;
    let (_, operator) = app.user_with_token(&admin, "op@example.com", "operator").await;
    let gated = gated_deploy("production", "2.0.0", 20);
    let waiting = app.pipeline_in(&admin, &gated, "waiting_approval").await;
    let number = waiting["number"].as_u64().unwrap();
    let room = format!("project:{PROJECT}");

    // An operator may not even propose a production approval.
    let (_, refused) = app.say(&operator, &room, &format!("approve api#{number}")).await;
    assert!(
        refused.get("action").is_none() && reply(&refused).contains("admin"),
        "{refused}"
    );

    let (_, proposed) = app.say(&second, &room, &format!("approve api#{number}")).await;
    let action = &proposed["action"];
    assert_eq!(action["risk"], "critical", "{proposed}");
    let action_id = action["id"].as_str().unwrap().to_owned();
    let (_, confirmed) = app.decide(&second, &action_id, "confirm").await;
    assert_eq!(confirmed["state"], "awaiting_approval", "{confirmed}");
    // The asker cannot approve their own action, and an operator cannot approve at all.
    let (own, _) = app.decide(&second, &action_id, "approve").await;
    assert_eq!(own, 403);
    let (op, _) = app.decide(&operator, &action_id, "approve").await;
    assert_eq!(op, 403);
    // The first admin (who triggered the run) approves: tasks' own four-eyes rule then refuses, and the action fails
    // with its reason, because the approval runs with the approver's token.
    let (_, approved) = app.decide(&admin, &action_id, "approve").await;
    assert_eq!(approved["state"], "failed", "{approved}");
    assert!(
        approved["outcome"].as_str().unwrap().contains("four eyes"),
        "{approved}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_critical_action_approved_by_a_second_admin_runs_as_the_approver() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, asker) = app.user_with_token(&admin, "asker@example.com", "admin").await;
    let (_, approver) = app.user_with_token(&admin, "approver@example.com", "admin").await;
    let gated = gated_deploy("production", "2.0.0", 20);
    let waiting = app.pipeline_in(&admin, &gated, "waiting_approval").await;
    let number = waiting["number"].as_u64().unwrap();
    let id = waiting["id"].as_str().unwrap();
    let room = format!("project:{PROJECT}");
    let (_, proposed) = app.say(&asker, &room, &format!("approve api#{number}")).await;
    let code = proposed["action"]["code"].as_str().unwrap().to_owned();
    let (_, confirmed) = app.say(&asker, &room, &format!("confirm {code}")).await;
    assert_eq!(confirmed["action"]["state"], "awaiting_approval", "{confirmed}");
    let (_, approved) = app.say(&approver, &room, &format!("approve {code}")).await;
    assert_eq!(approved["action"]["state"], "succeeded", "{approved}");
    let decisions = approved["action"]["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 2);
    assert_ne!(decisions[0]["by"]["id"], decisions[1]["by"]["id"]);
    app.wait_for_pipeline(&admin, id, WITHIN, |p| p["status"] == "succeeded")
        .await;
}

async fn release(app: &crate::helpers::TestApp, admin: &str, version: &str) {
    let path = format!("/api/v1/projects/{PROJECT}/releases");
    let response = app.post_json(&path, Some(admin), &json!({"version": version})).await;
    assert_eq!(response.status().as_u16(), 201);
}

async fn deployed(app: &crate::helpers::TestApp, admin: &str, id: &str, version: &str, minute: u32) {
    let path = format!("/api/v1/projects/{PROJECT}/deployments");
    let body = json!({"id": id, "environment": "staging", "version": version, "status": "succeeded",
        "startedAt": format!("2026-01-01T10:{minute:02}:00Z"), "finishedAt": format!("2026-01-01T10:{minute:02}:30Z")});
    let response = app.post_json(&path, Some(admin), &body).await;
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_runs_and_rollbacks_start_runs_of_the_projects_definitions() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, operator) = app.user_with_token(&admin, "op@example.com", "operator").await;
    release(&app, &admin, "2.4.0").await;
    release(&app, &admin, "2.5.0").await;
    let room = format!("project:{PROJECT}");

    // A deploy outside production: high, confirmed by the asker, run from the `deploy` definition by the asker.
    let (_, proposed) = app.say(&operator, &room, "deploy api 2.5.0 to staging").await;
    let action = &proposed["action"];
    assert_eq!(
        (action["intent"].as_str(), action["risk"].as_str()),
        (Some("deploy"), Some("high")),
        "{proposed}"
    );
    let code = action["code"].as_str().unwrap().to_owned();
    let (_, confirmed) = app.say(&operator, &room, &format!("confirm {code}")).await;
    let done = &confirmed["action"];
    assert_eq!(done["state"], "succeeded", "{confirmed}");
    let number = done["run"]["runNumber"].as_u64().unwrap();
    let run: Value = app
        .get_json(&format!("/api/v1/projects/{PROJECT}/runs/{number}"), Some(&admin))
        .await;
    assert_eq!(run["definition"]["name"], "deploy", "{run}");
    assert_eq!(
        (run["environment"].as_str(), run["version"].as_str()),
        (Some("staging"), Some("2.5.0"))
    );
    assert_eq!(run["trigger"], "chat", "{run}");

    // A version with no release is refused by tasks when the action runs: the action fails with the reason.
    let (_, unreleased) = app.say(&operator, &room, "deploy api 9.9.9 to staging").await;
    let code = unreleased["action"]["code"].as_str().unwrap().to_owned();
    let (_, failed) = app.say(&operator, &room, &format!("confirm {code}")).await;
    assert_eq!(failed["action"]["state"], "failed", "{failed}");
    assert!(
        failed["action"]["outcome"].as_str().unwrap().contains("version"),
        "{failed}"
    );

    // The CI definition.
    let (_, ci) = app.say(&operator, &room, "run the ci pipeline of api").await;
    assert_eq!(ci["action"]["intent"], "run_pipeline", "{ci}");
    let code = ci["action"]["code"].as_str().unwrap().to_owned();
    let (_, started) = app.say(&operator, &room, &format!("confirm {code}")).await;
    assert_eq!(started["action"]["state"], "succeeded", "{started}");

    // A rollback of staging goes back to the previous good version of its history.
    deployed(&app, &admin, "d-1", "2.4.0", 1).await;
    deployed(&app, &admin, "d-2", "2.5.0", 2).await;
    let (_, rollback) = app.say(&operator, &room, "rollback staging").await;
    assert_eq!(rollback["action"]["intent"], "rollback", "{rollback}");
    let code = rollback["action"]["code"].as_str().unwrap().to_owned();
    let (_, rolled) = app.say(&operator, &room, &format!("confirm {code}")).await;
    let outcome = rolled["action"]["outcome"].as_str().unwrap_or_default().to_owned();
    assert_eq!(rolled["action"]["state"], "succeeded", "{rolled}");
    assert!(outcome.contains("from 2.5.0 to 2.4.0"), "{outcome}");
}
