//! Live events of real pipelines run by the real tasks service, to a project's and to a pipeline's subscribers.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use super::WsClient;
use crate::helpers::{PROJECT, pipeline_jobs, spawn_app_with_tasks, three_stage_pipeline};

/// Messages until `done` holds for one (included), within 30 s.
async fn messages_until(socket: &mut WsClient, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let message = tokio::time::timeout_at(deadline, socket.message())
            .await
            .unwrap_or_else(|_| panic!("not done within 30 s; saw {seen:#?}"));
        let finished = done(&message);
        seen.push(message);
        if finished {
            return seen;
        }
    }
}

fn succeeded(id: &str) -> impl Fn(&Value) -> bool + '_ {
    move |m| m["type"] == "pipeline.updated" && m["pipeline"]["id"] == id && m["pipeline"]["status"] == "succeeded"
}

/// Every event carries a unique `eventId` and the topic it came for.
fn assert_events_are_identified(events: &[Value], topic: &str) {
    let mut ids = HashSet::new();
    for event in events {
        let id = event["eventId"]
            .as_str()
            .unwrap_or_else(|| panic!("no eventId: {event}"));
        assert!(ids.insert(id.to_owned()), "eventId {id} twice");
        assert_eq!(event["topic"], topic, "{event}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_subscriber_sees_a_pipeline_run_live_until_it_succeeds() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, viewer) = app.user_with_token(&admin, "viewer@example.com", "viewer").await;
    let mut socket = WsClient::connect(&app).await;
    socket.authenticate(&viewer).await;
    let topic = format!("project:{PROJECT}");
    socket.subscribe(&topic).await;

    let (status, created) = app.create_pipeline(&admin, &three_stage_pipeline(100)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let events = messages_until(&mut socket, succeeded(id)).await;

    assert_events_are_identified(&events, &topic);
    assert!(
        events
            .iter()
            .all(|e| e["pipeline"]["id"] == id || e["pipelineId"] == id)
    );
    let finished_jobs: HashSet<&str> = events
        .iter()
        .filter(|e| e["type"] == "job.updated" && e["job"]["status"] == "succeeded")
        .filter_map(|e| e["job"]["name"].as_str())
        .collect();
    assert_eq!(finished_jobs, HashSet::from(["compile", "unit", "lint", "rollout"]));
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "job.updated" && e["job"]["status"] == "running"),
        "jobs are seen running"
    );
    let logged: usize = events
        .iter()
        .filter(|e| e["type"] == "job.log")
        .map(|e| e["lines"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(logged, 4 * 3, "three log lines from each of the four jobs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_subscriber_follows_it_through_an_approval() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, viewer) = app.user_with_token(&admin, "viewer@example.com", "viewer").await;
    let gated = json!({"project": PROJECT, "environment": "staging", "version": "1.4.0", "stages": [
        {"name": "build", "jobs": [{"name": "compile", "params": {"durationMs": 100}}]},
        {"name": "deploy", "jobs": [{"name": "rollout", "requiresApproval": true, "params": {"durationMs": 100}}]}]});
    let (status, created) = app.create_pipeline(&admin, &gated).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let topic = format!("pipeline:{id}");
    let mut socket = WsClient::connect(&app).await;
    socket.authenticate(&viewer).await;
    socket.subscribe(&topic).await;
    // An open topic is acknowledged again, and followed once. The pipeline is running already, so its events may
    // come before the second acknowledgement: they are kept, to check below that none comes twice.
    socket.send(&json!({"type": "subscribe", "topics": [topic]})).await;
    let mut events = messages_until(&mut socket, |m| m["type"] == "subscribed").await;
    assert_eq!(events.pop(), Some(json!({"type": "subscribed", "topic": topic})));

    let waiting = app
        .wait_for_pipeline(&admin, &id, Duration::from_secs(20), |p| {
            p["status"] == "waiting_approval"
        })
        .await;
    let rollout = pipeline_jobs(&waiting)
        .into_iter()
        .find(|j| j["name"] == "rollout")
        .expect("a rollout job")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let approved = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/jobs/{rollout}/approve"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status().as_u16(), 200);
    events.extend(messages_until(&mut socket, succeeded(&id)).await);

    assert_events_are_identified(&events, &topic);
    let rollout_updates: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "job.updated" && e["job"]["id"] == rollout.as_str())
        .collect();
    assert!(
        rollout_updates
            .iter()
            .any(|e| e["job"]["status"] == "succeeded" && e["job"]["approvedBy"].is_string()),
        "{rollout_updates:#?}"
    );
    socket.send(&json!({"type": "unsubscribe", "topics": [topic]})).await;
    let unsubscribed = messages_until(&mut socket, |m| m["type"] == "unsubscribed").await;
    assert_eq!(
        unsubscribed.last(),
        Some(&json!({"type": "unsubscribed", "topics": [topic]}))
    );
}
