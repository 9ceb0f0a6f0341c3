//! Rooms, history, the dry-run parse, reads answered at once, resends and the rate limit.

use serde_json::{Value, json};

use super::reply;
use crate::helpers::{PROJECT, assert_error, spawn_app_with_tasks};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_history_and_reads_answered_in_the_askers_language() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (viewer_id, viewer) = app.user_with_token(&admin, "viewer@example.com", "viewer").await;

    let rooms: Value = app.get_json("/api/v1/chat/rooms", Some(&viewer)).await;
    let ids: Vec<&str> = rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "general".to_owned(),
            format!("project:{PROJECT}"),
            format!("dm:{viewer_id}")
        ]
    );

    let room = format!("project:{PROJECT}");
    let (status, posted) = app.say(&viewer, &room, "status of api").await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["message"]["sender"]["kind"], "user");
    assert_eq!(posted["replies"][0]["sender"]["kind"], "bot");
    let text = reply(&posted);
    assert!(text.contains("staging") && text.contains("production"), "{text}");
    assert!(posted.get("action").is_none(), "a read proposes nothing: {posted}");

    let (_, french) = app.say(&viewer, &room, "aide").await;
    assert!(reply(&french).contains("Vous pouvez demander"), "{french}");
    let intents = french["replies"][0]["payload"]["intents"].as_array().unwrap();
    assert!(intents.contains(&json!("dora_summary")), "{french}");
    for command in ["deploy", "rollback", "retry", "cancel", "approve", "run_pipeline"] {
        assert!(
            !intents.contains(&json!(command)),
            "help lists only what a viewer may do: {french}"
        );
    }

    // History: oldest first, cursor-paginated, the resume cursor is the event id.
    let page: Value = app
        .get_json(&format!("/api/v1/chat/rooms/{room}/messages?limit=2"), Some(&viewer))
        .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items[0]["eventId"].as_u64() < items[1]["eventId"].as_u64());
    let after: Value = app
        .get_json(&format!("/api/v1/chat/rooms/{room}/messages?after=1"), Some(&viewer))
        .await;
    assert_eq!(after["items"][0]["eventId"], 2);
    assert_eq!(after["items"].as_array().unwrap().len(), 3);

    // Someone else's private room does not exist for you.
    let foreign = app
        .get("/api/v1/chat/rooms/dm:someone-else/messages", Some(&viewer))
        .await;
    assert_error(foreign, 404, "not_found").await;
    let bad_room = app.get("/api/v1/chat/rooms/lobby/messages", Some(&viewer)).await;
    assert!(assert_error(bad_room, 400, "invalid_argument").await.contains("room"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_is_a_dry_run_and_input_is_checked() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let parsed: Value = app
        .post_json(
            "/api/v1/chat/parse",
            Some(&admin),
            &json!({"text": "deploy api 2.5.0 to prod"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(parsed["intent"], "deploy", "{parsed}");
    assert_eq!(parsed["params"]["environment"], "production");
    assert_eq!(parsed["risk"], "critical");
    assert_eq!(parsed["parsedBy"], "rules");
    let missing: Value = app
        .post_json(
            "/api/v1/chat/parse",
            Some(&admin),
            &json!({"text": "deploy api to prod"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(missing["missing"][0]["param"], "version", "{missing}");
    // Nothing was stored: the general room is still empty.
    let history: Value = app.get_json("/api/v1/chat/rooms/general/messages", Some(&admin)).await;
    assert_eq!(history["items"], json!([]));

    for (body, field) in [
        (json!({"text": ""}), "text"),
        (json!({"text": "\u{200b}\u{202e}"}), "text"),
        (json!({"text": "x".repeat(2_001)}), "text"),
        (json!({"text": "hi", "room": "nope"}), "room"),
    ] {
        let answer = app.post_json("/api/v1/chat/parse", Some(&admin), &body).await;
        let message = assert_error(answer, 400, "invalid_argument").await;
        assert!(message.contains(field), "{body} → {message}");
    }
    let anonymous = app
        .post_json("/api/v1/chat/parse", None, &json!({"text": "help"}))
        .await;
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_answers_the_stored_message_and_ten_a_minute_is_the_limit() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (first, posted) = app.say_as(&admin, "general", "msg-1", "help").await;
    assert_eq!(first, 201);
    let (again, resent) = app.say_as(&admin, "general", "msg-1", "help").await;
    assert_eq!(again, 200, "{resent}");
    assert_eq!(resent["created"], false);
    assert_eq!(resent["message"]["eventId"], posted["message"]["eventId"]);
    assert_eq!(resent["replies"], json!([]), "a resend does nothing again");
    let (reused, conflict) = app.say_as(&admin, "general", "msg-1", "status").await;
    assert_eq!(reused, 409, "{conflict}");

    // 2 messages counted so far (the resend and the conflict were refused before or after counting: at most 3).
    let mut statuses = Vec::new();
    for i in 0..12 {
        statuses.push(app.say_as(&admin, "general", &format!("m{i}"), "help").await.0);
    }
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited >= 4, "beyond 10 a minute the answer is 429: {statuses:?}");
    assert_eq!(statuses[0], 201);
    let response = app
        .post_json(
            "/api/v1/chat/rooms/general/messages",
            Some(&admin),
            &json!({"clientMsgId": "m99", "text": "help"}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().get("retry-after").is_some());
    let message = assert_error(response, 429, "rate_limited").await;
    assert!(message.contains("10 messages a minute"), "{message}");
}
