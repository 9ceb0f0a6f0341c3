//! One socket's rules: the auth-first rule (4401), pings, bad messages and limits (1003, 1009), the plain GET, and the
//! connection gauge.

use std::time::Duration;

use serde_json::json;

use super::{BINARY, CLOSE, Frame, PING, PONG, TEXT, WsClient};
use crate::helpers::{assert_error, sign_eddsa, spawn_app, unix_now, valid_claims};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_message_must_be_a_valid_auth_or_the_socket_closes_with_4401() {
    let app = spawn_app().await;
    let mut expired = valid_claims("viewer");
    expired["exp"] = json!(unix_now() - 3600);
    let stranger = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let forged = sign_eddsa(&stranger, &app.kid, &valid_claims("admin"));
    let firsts = [
        ("a ping first", json!({"type": "ping"})),
        (
            "a subscribe first",
            json!({"type": "subscribe", "topics": ["project:api"]}),
        ),
        ("a garbage token", json!({"type": "auth", "token": "garbage"})),
        ("an expired token", json!({"type": "auth", "token": app.sign(&expired)})),
        (
            "a token signed by another key",
            json!({"type": "auth", "token": forged}),
        ),
    ];

    for (name, first) in firsts {
        let mut socket = WsClient::connect(&app).await;
        socket.send(&first).await;

        let (code, reason) = socket.closed().await;

        assert_eq!(code, 4401, "{name}: {reason}");
        assert!(!reason.is_empty(), "{name}");
    }
    let mut socket = WsClient::connect(&app).await;
    let answer = socket.authenticate(&app.sign(&valid_claims("viewer"))).await;
    assert_eq!(
        answer["user"]["role"], "viewer",
        "the same socket rules let a valid token in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_answers_pings_and_bad_messages_and_closes_on_what_it_cannot_read() {
    let app = spawn_app().await;
    let token = app.admin_token().await;

    let mut socket = WsClient::connect(&app).await;
    let me = socket.authenticate(&token).await;
    assert_eq!(
        (&me["user"]["name"], &me["user"]["role"]),
        (&json!("Ada Admin"), &json!("admin"))
    );
    socket.send(&json!({"type": "ping"})).await;
    assert_eq!(socket.message().await, json!({"type": "pong"}));
    socket.send_frame(PING, b"are you there").await;
    match socket.read_frame().await {
        Frame::Other(PONG, payload) => assert_eq!(payload, b"are you there"),
        other => panic!("expected a pong frame, got {other:?}"),
    }
    socket.send(&json!({"type": "subscribe", "topics": ["builds"]})).await;
    let error = socket.message().await;
    assert_eq!((&error["type"], &error["topic"]), (&json!("error"), &json!("builds")));
    socket.send(&json!({"type": "chat.send", "text": "deploy"})).await;
    assert_eq!(socket.message().await["type"], "error");
    socket
        .send(&json!({"type": "ping", "pad": "x".repeat(70 * 1024)}))
        .await;
    assert_eq!(socket.closed().await.0, 1009, "over 64 KiB");

    for (name, opcode, payload) in [("not JSON", TEXT, &b"hello"[..]), ("binary", BINARY, &[1, 2, 3][..])] {
        let mut socket = WsClient::connect(&app).await;
        socket.authenticate(&token).await;

        socket.send_frame(opcode, payload).await;

        assert_eq!(socket.closed().await.0, 1003, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_get_of_the_socket_is_a_json_400() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/ws", None).await;

    let message = assert_error(response, 400, "invalid_argument").await;
    assert!(message.contains("WebSocket"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gauge_counts_open_sockets() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let gauge = || async {
        let metrics = app.admin_metrics().await;
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("devopstrack_websocket_connections "))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no devopstrack_websocket_connections in\n{metrics}"))
    };
    let mut first = WsClient::connect(&app).await;
    let mut second = WsClient::connect(&app).await;
    first.authenticate(&token).await;
    second.authenticate(&token).await;

    assert_eq!(gauge().await, "2");

    second.send_frame(CLOSE, &1000u16.to_be_bytes()).await;
    assert_eq!(second.closed().await.0, 1000, "the close is answered");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while gauge().await != "1" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gauge stays at {}",
            gauge().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
