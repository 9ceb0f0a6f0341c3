//! A gateway killed mid-execution left an action `executing`: the next gateway to start on that database ends it
//! (failed, saying what to check: nothing is run again), tells its room, and the audit trail records it by `system`.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use devopstrack_gateway::chat::domain::{ActionState, Decision, Intent, Params, Risk, RoomId};
use devopstrack_gateway::chat::store::{self, DecisionRequest, NewAction, Person, RequestMeta};
use devopstrack_platform::auth::Role;

use crate::helpers::{PROJECT, spawn_stack_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_left_executing_is_ended_on_start_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/chat.db", dir.path().display());
    // The database as the stopped gateway left it: a deploy confirmed ten minutes ago, never finished.
    let chat = store::connect(&url).await.expect("open the chat store");
    let asker = Person::new("u-gone", "Gone", Role::Operator).unwrap();
    let long_ago = Utc::now() - TimeDelta::minutes(10);
    let proposed = chat
        .propose_action(&NewAction {
            room: RoomId::project(PROJECT).unwrap(),
            asker: asker.clone(),
            intent: Intent::Deploy,
            params: Params {
                project: Some(PROJECT.into()),
                version: Some("2.5.0".into()),
                environment: Some("staging".into()),
                ..Params::default()
            },
            risk: Risk::High,
            target: "deploy api 2.5.0 to staging".into(),
            at: long_ago,
            meta: RequestMeta::default(),
        })
        .await
        .unwrap();
    let executing = chat
        .decide(&DecisionRequest {
            action_id: proposed.id,
            expected: ActionState::AwaitingConfirmation,
            decision: Decision::Confirm,
            by: asker,
            at: long_ago + TimeDelta::seconds(1),
            meta: RequestMeta::default(),
        })
        .await
        .unwrap();
    assert_eq!(executing.state, ActionState::Executing);

    let (app, _) = spawn_stack_with(|settings| settings.chat_database_url = Some(url.clone())).await;
    let admin = app.admin_token().await;
    let path = format!("/api/v1/chat/actions/{}", proposed.id);
    let mut action = Value::Null;
    for _ in 0..100 {
        action = app.get_json(&path, Some(&admin)).await;
        if action["state"] != "executing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert_eq!(action["state"], "failed", "{action}");
    let outcome = action["outcome"].as_str().unwrap();
    assert!(outcome.starts_with("interrupted"), "{outcome}");
    let audit: Value = app
        .get_json("/api/v1/audit?kind=chat.action.recover", Some(&admin))
        .await;
    let record = &audit["items"][0];
    assert_eq!(record["target"], format!("action:{}", proposed.id), "{audit}");
    assert_eq!(
        (&record["actor"]["subject"], &record["result"]),
        (&json!("system"), &json!("failed"))
    );
    let history: Value = app
        .get_json(&format!("/api/v1/chat/rooms/project:{PROJECT}/messages"), Some(&admin))
        .await;
    let said = history["items"].to_string();
    assert!(
        said.contains(proposed.code.as_str()) && said.contains("interrupted"),
        "{history}"
    );
}
