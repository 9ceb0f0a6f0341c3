//! Caps on open sockets, over real TCP connections: one more than `ws_max_per_address` from one address is refused
//! before the upgrade (429), one more than `ws_max_per_user` for one user is closed after its `auth` (4429), and
//! closing a socket frees its place.

use std::time::Duration;

use serde_json::{Value, json};

use super::{CLOSE, WsClient};
use crate::helpers::{TestApp, spawn_app_with};

/// Closes `socket` from the client side and waits for the server's answer.
async fn close(mut socket: WsClient) {
    socket.send_frame(CLOSE, &1000u16.to_be_bytes()).await;
    assert_eq!(socket.closed().await.0, 1000, "the close is answered");
}

/// Polls `attempt` until it succeeds (the server frees a place when the socket's task has ended).
async fn within_5_s<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(done) = attempt().await {
            return done;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within 5 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A socket authenticated with `token`, or the close code and reason it got instead.
async fn open_as(app: &TestApp, token: &str) -> Result<WsClient, (u16, String)> {
    let mut socket = WsClient::connect(app).await;
    socket.send(&json!({"type": "auth", "token": token})).await;
    match socket.next(Duration::from_secs(10)).await {
        super::Frame::Text(text) => {
            let answer: Value = serde_json::from_str(&text).expect("a JSON message");
            assert_eq!(answer["type"], "authenticated", "{answer}");
            Ok(socket)
        }
        super::Frame::Close(code, reason) => Err((code, reason)),
        other => panic!("expected an answer to auth, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_socket_over_the_per_address_cap_is_refused_with_429_and_closing_one_frees_a_place() {
    let app = spawn_app_with(|_, gateway| gateway.ws_max_per_address = 2).await;
    let token = app.admin_token().await;
    let first = open_as(&app, &token).await.expect("the 1st socket");
    let _second = open_as(&app, &token).await.expect("the 2nd socket");

    let refusal = match WsClient::try_connect(&app).await {
        Ok(_) => panic!("a 3rd socket from one address was let in"),
        Err(refusal) => refusal,
    };

    assert!(refusal.starts_with("HTTP/1.1 429"), "{refusal}");
    assert!(refusal.to_ascii_lowercase().contains("retry-after: "), "{refusal}");
    assert!(refusal.contains(r#""code":"too_many_sockets""#), "{refusal}");
    close(first).await;
    let third = within_5_s("a place after a close", || async {
        WsClient::try_connect(&app).await.ok()
    })
    .await;
    drop(third);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_socket_over_the_per_user_cap_is_closed_with_4429_and_closing_one_frees_a_place() {
    let app = spawn_app_with(|_, gateway| gateway.ws_max_per_user = 2).await;
    let admin = app.admin_token().await;
    let (_, viewer) = app.user_with_token(&admin, "viewer@example.com", "viewer").await;
    let first = open_as(&app, &admin).await.expect("the 1st socket");
    let _second = open_as(&app, &admin).await.expect("the 2nd socket");

    let refused = open_as(&app, &admin).await;

    let (code, reason) = refused.err().expect("a 3rd socket of one user was let in");
    assert_eq!(code, 4429, "{reason}");
    assert!(reason.contains("2 WebSockets"), "{reason}");
    let _other_user = open_as(&app, &viewer)
        .await
        .expect("another user has places of their own");
    close(first).await;
    let _third = within_5_s("a place after a close", || async { open_as(&app, &admin).await.ok() }).await;
}
