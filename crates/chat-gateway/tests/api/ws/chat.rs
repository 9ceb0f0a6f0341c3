//! The chat over the socket: `room:<id>` topics deliver every message (a person's and the bot's) and every action
//! change to each follower once and in order, `chat.send` / `chat.decide` work like the REST routes, and a socket that
//! comes back with its last event id gets exactly what it missed.

use serde_json::json;

use super::{WsClient, until};
use crate::helpers::{PROJECT, spawn_app_with_tasks};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_reaches_every_follower_in_order_and_a_returning_socket_gets_what_it_missed() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, operator) = app.user_with_token(&admin, "op@example.com", "operator").await;
    let topic = format!("room:project:{PROJECT}");

    let mut watcher = WsClient::connect(&app).await;
    watcher.authenticate(&admin).await;
    watcher.subscribe(&topic).await;
    let mut talker = WsClient::connect(&app).await;
    talker.authenticate(&operator).await;
    talker.subscribe(&topic).await;

    talker
        .send(&json!({"type": "chat.send", "room": format!("project:{PROJECT}"), "clientMsgId": "w1", "text": "status of api"}))
        .await;
    let sent = until(&mut talker, "chat.sent").await;
    assert_eq!(sent["clientMsgId"], "w1");
    assert_eq!(sent["created"], true, "{sent}");

    // The watcher sees the question and the bot's answer, in event-id order.
    let first = until(&mut watcher, "chat.message").await;
    let second = until(&mut watcher, "chat.message").await;
    assert_eq!(first["topic"], topic);
    assert_eq!(first["message"]["text"], "status of api");
    assert_eq!(second["message"]["sender"]["kind"], "bot");
    let first_id = first["message"]["eventId"].as_u64().unwrap();
    assert_eq!(second["message"]["eventId"].as_u64().unwrap(), first_id + 1);

    // A proposal over REST reaches the socket as a message, and the confirmation as an action change.
    let failing = json!({"project": PROJECT, "stages": [{"name": "build", "jobs": [
        {"name": "flaky", "params": {"durationMs": 20, "failRate": 1}}]}]});
    let (_, created) = app.create_pipeline(&admin, &failing).await;
    let id = created["id"].as_str().unwrap();
    app.wait_for_pipeline(&admin, id, std::time::Duration::from_secs(20), |p| {
        p["status"] == "failed"
    })
    .await;
    let number = created["number"].as_u64().unwrap();
    talker
        .send(
            &json!({"type": "chat.send", "room": format!("project:{PROJECT}"), "clientMsgId": "w2",
            "text": format!("retry #{number}")}),
        )
        .await;
    let proposed = until(&mut talker, "chat.sent").await;
    let action_id = proposed["action"]["id"].as_str().unwrap().to_owned();
    talker
        .send(&json!({"type": "chat.decide", "actionId": action_id, "decision": "confirm"}))
        .await;
    let decided = until(&mut talker, "chat.decided").await;
    assert_eq!(decided["action"]["state"], "succeeded", "{decided}");
    let change = until(&mut watcher, "chat.action").await;
    assert_eq!(change["action"]["id"], action_id.as_str());

    // A socket coming back after the first message gets everything after it, then `subscribed`.
    let mut returning = WsClient::connect(&app).await;
    returning.authenticate(&admin).await;
    returning
        .send(&json!({"type": "subscribe", "topics": [topic], "after": {topic.clone(): first_id}}))
        .await;
    let mut replayed = Vec::new();
    loop {
        let message = returning.message().await;
        if message["type"] == "subscribed" {
            break;
        }
        assert_eq!(message["type"], "chat.message", "{message}");
        replayed.push(message["message"]["eventId"].as_u64().unwrap());
    }
    assert!(
        replayed.len() >= 4,
        "question, answer, proposal, decision notes: {replayed:?}"
    );
    let expected: Vec<u64> = (first_id + 1..first_id + 1 + replayed.len() as u64).collect();
    assert_eq!(replayed, expected, "in order, no gap, no duplicate");

    // Bad room topics and someone else's private room are refused on the topic, and the socket stays open.
    returning
        .send(&json!({"type": "subscribe", "topics": ["room:lobby", "room:dm:someone-else"]}))
        .await;
    let refused_a = until(&mut returning, "error").await;
    let refused_b = until(&mut returning, "error").await;
    let topics = [refused_a["topic"].clone(), refused_b["topic"].clone()];
    assert!(
        topics.contains(&json!("room:lobby")) && topics.contains(&json!("room:dm:someone-else")),
        "{topics:?}"
    );
    returning.send(&json!({"type": "ping"})).await;
    assert_eq!(until(&mut returning, "pong").await["type"], "pong");
}
