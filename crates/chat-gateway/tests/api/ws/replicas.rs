//! Two gateway replicas behave as one (issue 17): two processes of the real `devopstrack-gateway` binary on one
//! PostgreSQL chat database, in front of the same services. A message posted through one reaches a socket on the
//! other, a decision made on one is seen live on the other, a socket that moves to the other replica resumes from its
//! last event id with nothing lost or doubled, past the replay cap it is told to resync, and the 10-commands-a-minute
//! limit holds for the two together.

use chrono::Utc;
use serde_json::{Value, json};

use devopstrack_gateway::chat::domain::MessageText;
use devopstrack_gateway::chat::domain::RoomId;
use devopstrack_gateway::chat::store::{self, NewMessage, REPLAY_CAP};

use super::{WsClient, until};
use crate::chat::notices::{exactly_one_notice, failed_run};
use crate::helpers::{GatewaySettings, PROJECT, TestApp, spawn_gateway_process, start_backends};

/// Replicas A and B (each its own process) on a fresh PostgreSQL database, and that database's URL; `None` when
/// PostgreSQL is unavailable (and not required).
async fn two_replicas() -> Option<(TestApp, TestApp, String)> {
    let pg = devopstrack_testkit::postgres().await?;
    let backing = start_backends().await;
    let settings = GatewaySettings {
        chat_database_url: Some(pg.url.clone()),
        ..backing.gateway_settings()
    };
    // Started together: both migrate the one database at once, as two pods rolling out do.
    let (a, b) = tokio::join!(spawn_gateway_process(&settings), spawn_gateway_process(&settings));
    let a = backing.into_app(a).await;
    let b = a.beside(b);
    a.create_test_project().await;
    Some((a, b, pg.url))
}

fn room() -> String {
    format!("project:{PROJECT}")
}

/// A socket on `app`, authenticated as `token`.
async fn socket(app: &TestApp, token: &str) -> WsClient {
    let mut client = WsClient::connect(app).await;
    client.authenticate(token).await;
    client
}

/// The next `chat.message` on the room's topic: its event id and text.
async fn next_message(client: &mut WsClient) -> (u64, String) {
    message_of(&until(client, "chat.message").await)
}

/// A `chat.message`'s event id and text.
fn message_of(message: &Value) -> (u64, String) {
    assert_eq!(message["topic"], format!("room:{}", room()), "{message}");
    let event_id = message["message"]["eventId"].as_u64().expect("an event id");
    (
        event_id,
        message["message"]["text"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The room's event ids after `after`, over REST on `app`.
async fn history_after(app: &TestApp, token: &str, after: u64) -> Vec<(u64, String)> {
    let messages = app
        .room_messages(token, &room(), &format!("after={after}&limit=100"))
        .await;
    messages
        .iter()
        .map(|m| (m["eventId"].as_u64().unwrap(), m["text"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_on_one_replica_reaches_the_other_and_a_decision_there_is_seen_back() {
    let Some((a, b, _)) = two_replicas().await else { return };
    let admin = a.admin_token().await;
    let (_, operator) = a.user_with_token(&admin, "op@example.com", "operator").await;
    let topic = format!("room:{}", room());
    let mut on_a = socket(&a, &admin).await;
    on_a.subscribe(&topic).await;
    let mut on_b = socket(&b, &admin).await;
    on_b.subscribe(&topic).await;

    // Posted through A: B's socket gets the question and the bot's answer, in order.
    let (status, posted) = a.say(&operator, &room(), "status of api").await;
    assert_eq!(status, 201, "{posted}");
    let question = next_message(&mut on_b).await;
    let answer = next_message(&mut on_b).await;
    assert_eq!(
        question,
        (posted["message"]["eventId"].as_u64().unwrap(), "status of api".into())
    );
    assert_eq!(answer.0, question.0 + 1, "the bot's answer follows the question");

    // A retry proposed through A and confirmed through B: A's socket sees the action change live.
    let number = failed_run(&a, &admin).await;
    // Both replicas' notifiers saw the failure: the room was told once.
    exactly_one_notice(&b, &admin, number).await;
    let (status, proposed) = a.say(&operator, &room(), &format!("retry #{number}")).await;
    assert_eq!(status, 201, "{proposed}");
    let action_id = proposed["action"]["id"].as_str().expect("a proposed action").to_owned();
    let (status, decided) = b.decide(&operator, &action_id, "confirm").await;
    assert_eq!(
        (status, decided["state"].as_str()),
        (200, Some("succeeded")),
        "{decided}"
    );
    // A's socket saw the confirmation live, and every message of the room once and in order.
    let history = history_after(&b, &admin, 0).await;
    let (mut states, mut seen_on_a) = (Vec::<String>::new(), Vec::new());
    while states.last().map(String::as_str) != Some("succeeded") || seen_on_a.len() < history.len() {
        let event = on_a.message().await;
        if event["type"] == "chat.action" {
            assert_eq!(event["action"]["id"], action_id.as_str(), "{event}");
            states.push(event["action"]["state"].as_str().unwrap().to_owned());
        } else if event["type"] == "chat.message" {
            seen_on_a.push(message_of(&event));
        }
    }
    assert!(
        states.contains(&"executing".to_owned()),
        "A saw the confirmation: {states:?}"
    );
    assert_eq!(
        seen_on_a[..history.len()],
        history[..],
        "A's socket: every message once, in order"
    );

    // Both replicas' audit writers appended to the one chain: it is intact.
    let report: Value = b.get_json("/api/v1/audit/verify", Some(&admin)).await;
    assert_eq!(report["intact"], true, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_moves_to_the_other_replica_resumes_exactly_and_past_the_cap_must_resync() {
    let Some((a, b, url)) = two_replicas().await else {
        return;
    };
    let admin = a.admin_token().await;
    let topic = format!("room:{}", room());

    // On A: two exchanges, read up to the last event.
    let mut on_a = socket(&a, &admin).await;
    on_a.subscribe(&topic).await;
    for text in ["status of api", "help"] {
        assert_eq!(a.say(&admin, &room(), text).await.0, 201);
    }
    let mut seen = Vec::new();
    while seen.len() < 4 {
        seen.push(next_message(&mut on_a).await);
    }
    let cursor = seen.last().unwrap().0;
    drop(on_a);

    // Meanwhile, through both replicas: more messages the client has not seen.
    assert_eq!(b.say(&admin, &room(), "failing pipelines").await.0, 201);
    assert_eq!(a.say(&admin, &room(), "who deployed api").await.0, 201);

    // Back on B from its cursor: exactly what it missed, then live, with nothing doubled.
    let mut on_b = socket(&b, &admin).await;
    on_b.send(&json!({"type": "subscribe", "topics": [topic], "after": {topic.clone(): cursor}}))
        .await;
    let missed = history_after(&a, &admin, cursor).await;
    assert_eq!(missed.len(), 4, "two questions, two answers: {missed:?}");
    let mut replayed = Vec::new();
    loop {
        let message = on_b.message().await;
        if message["type"] == "subscribed" {
            break;
        }
        assert_eq!(message["type"], "chat.message", "{message}");
        replayed.push(message_of(&message));
    }
    assert_eq!(replayed, missed, "nothing lost, nothing doubled");
    assert_eq!(a.say(&admin, &room(), "help").await.0, 201);
    let live = next_message(&mut on_b).await;
    assert_eq!(
        live.0,
        missed.last().unwrap().0 + 1,
        "the next live message follows the replay"
    );
    drop(on_b);

    // A third writer on the same database (as a replica) appends more than the replay cap.
    let writer = store::connect(&url).await.expect("open the chat store");
    let room_id = RoomId::parse(&room()).unwrap();
    for n in 0..=REPLAY_CAP {
        let text = MessageText::parse(&format!("filler {n}")).unwrap();
        writer
            .append_message(&NewMessage::from_bot(room_id.clone(), true, text, Utc::now()))
            .await
            .expect("append a filler message");
    }
    // A client coming back to A from before all that must refetch over REST; the socket then carries on live.
    let mut back = socket(&a, &admin).await;
    back.send(&json!({"type": "subscribe", "topics": [topic], "after": {topic.clone(): live.0}}))
        .await;
    assert_eq!(back.message().await, json!({"type": "resync_required", "topic": topic}));
    assert_eq!(back.message().await, json!({"type": "subscribed", "topic": topic}));
    assert_eq!(b.say(&admin, &room(), "help").await.0, 201);
    let (after_resync, text) = next_message(&mut back).await;
    assert_eq!(text, "help");
    // After the live question: its answer, the fillers, then this question.
    assert_eq!(
        after_resync,
        live.0 + 1 + (REPLAY_CAP + 1) + 1,
        "live again right after the room's end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_together_allow_ten_commands_a_minute_not_twenty() {
    let Some((a, b, _)) = two_replicas().await else {
        return;
    };
    let admin = a.admin_token().await;

    // Twenty messages in a few seconds, alternating replicas (each used to count ten of its own).
    let mut statuses = Vec::new();
    let mut refusal = Value::Null;
    for n in 0..20 {
        let replica = if n % 2 == 0 { &a } else { &b };
        let (status, answer) = replica.say(&admin, &room(), "help").await;
        if status == 429 {
            refusal = answer;
        }
        statuses.push(status);
    }

    let admitted = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(admitted, 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 10, "{statuses:?}");
    assert_eq!(refusal["error"]["code"], "rate_limited", "{refusal}");
    let message = refusal["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("at most 10 messages a minute: wait"), "{message}");
}
