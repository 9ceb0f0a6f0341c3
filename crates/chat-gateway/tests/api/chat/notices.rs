//! The bot's notices (issue 17): a run that fails is told once in its project's room, with the retry offered to the
//! roles that may ask for it, however many replicas follow tasks' events and across a replica's restart.

use std::time::Duration;

use serde_json::{Value, json};

use super::TestApp;
use crate::helpers::{GatewaySettings, PROJECT, failing_build, spawn_gateway, start_backends};

/// The notices in the project's room about run `number`.
pub(crate) async fn notices_of(app: &TestApp, token: &str, number: u64) -> Vec<Value> {
    let messages = app
        .room_messages(token, &format!("project:{PROJECT}"), "limit=100")
        .await;
    messages
        .into_iter()
        .filter(|m| m["payload"]["kind"] == "notice" && m["payload"]["run"]["number"] == number)
        .collect()
}

/// Waits for the first notice about run `number` (at most 15 s), then long enough for a late second copy to have
/// arrived, and checks there is exactly one: it.
pub(crate) async fn exactly_one_notice(app: &TestApp, token: &str, number: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while notices_of(app, token, number).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no notice of run {number} within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let notices = notices_of(app, token, number).await;
    assert_eq!(notices.len(), 1, "once, however many replicas: {notices:?}");
    notices[0].clone()
}

/// Creates a run of one job that fails at once, and waits until it has failed: its number.
pub(crate) async fn failed_run(app: &TestApp, token: &str) -> u64 {
    let failed = app.pipeline_in(token, &failing_build(), "failed").await;
    failed["number"].as_u64().expect("a run number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_noticed_once_with_its_retry_across_replicas_and_a_restart() {
    let backing = start_backends().await;
    let chat_dir = tempfile::tempdir().expect("a temp dir for the chat database");
    let settings = GatewaySettings {
        chat_database_url: Some(format!("sqlite://{}/chat.db", chat_dir.path().display())),
        ..backing.gateway_settings()
    };
    let a = backing.into_app(spawn_gateway(settings.clone()).await).await;
    let b = a.beside(spawn_gateway(settings.clone()).await);
    a.create_test_project().await;
    let admin = a.admin_token().await;

    let number = failed_run(&a, &admin).await;
    let notice = exactly_one_notice(&b, &admin, number).await;
    let run = format!("{PROJECT}#{number}");
    assert_eq!(notice["sender"]["kind"], "system", "{notice}");
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{run} failed: build/flaky")),
        "{notice}"
    );
    assert_eq!(
        notice["payload"]["offer"],
        json!({"intent": "retry", "command": format!("retry {run}"), "risk": "medium", "roles": ["operator", "admin"]})
    );

    // Replica B stops and another starts on the same database: it resumes where they got to, doubling nothing.
    drop(b);
    let c = a.beside(spawn_gateway(settings).await);
    let again = failed_run(&c, &admin).await;
    exactly_one_notice(&c, &admin, again).await;
    assert_eq!(
        notices_of(&c, &admin, number).await.len(),
        1,
        "the first failure is not told again"
    );
}
