//! The holes issue 12 reproduced through the edge, closed: an API token minting a broader one, and a stranger's
//! failed logins from another address locking a real user out.

use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, SERVICE_SECRET, assert_error, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_api_token_cannot_mint_an_admin_token() {
    // Arrange: the reproduction of issue 12: an admin's viewer API token, exchanged for an access token
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created: Value = app
        .post_json(
            "/api/v1/tokens",
            Some(&admin),
            &json!({ "name": "ci", "role": "viewer" }),
        )
        .await
        .json()
        .await
        .expect("the created token");
    let secret = created["secret"].as_str().expect("the secret, once");
    let exchanged: Value = app
        .post_json("/api/v1/auth/token", None, &json!({ "token": secret }))
        .await
        .json()
        .await
        .expect("an access token");
    let viewer = exchanged["accessToken"].as_str().expect("accessToken");

    // Act
    let unspecified = app
        .post_json("/api/v1/tokens", Some(viewer), &json!({ "name": "x" }))
        .await;
    let admin_role = app
        .post_json("/api/v1/tokens", Some(viewer), &json!({ "name": "y", "role": "admin" }))
        .await;

    // Assert
    let message = assert_error(unspecified, 403, "forbidden").await;
    assert!(message.contains("viewer"), "{message}");
    assert_error(admin_role, 403, "forbidden").await;
    let users = app.get("/api/v1/users", Some(viewer)).await;
    assert_error(users, 403, "forbidden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_failed_logins_from_another_address_do_not_lock_the_user_out() {
    // Arrange: the edge trusts X-Forwarded-For (it sits behind a proxy); a stranger fails ten times from 203.0.113.9
    let app = spawn_app_behind_a_proxy().await;
    let login = |from: &'static str, password: &'static str| {
        let request = app
            .request(reqwest::Method::POST, "/api/v1/auth/login", None)
            .header("x-forwarded-for", from)
            .json(&json!({ "email": app.admin_email, "password": password }));
        async move { request.send().await.expect("send a login") }
    };
    let mut stranger = Vec::new();
    for _ in 0..10 {
        stranger.push(login("203.0.113.9", "a wrong guess").await.status().as_u16());
    }

    // Act: the real user, from their own address
    let real = login("198.51.100.7", PASSWORD).await;

    // Assert: the stranger is slowed down (each wait doubles, so some of the last five come too soon however slow
    // this machine is), the user is not
    assert_eq!(stranger[..5], [401; 5], "the first failures are plain failures");
    assert!(stranger[5..].contains(&429), "the stranger waits: {stranger:?}");
    assert_eq!(real.status(), 200, "{}", real.text().await.unwrap_or_default());
}

/// Auth and the gateway with the gateway's service credentials (so auth believes the client addresses it forwards),
/// the gateway trusting `X-Forwarded-For` from the test client's address (the proxy, on loopback).
async fn spawn_app_behind_a_proxy() -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(|auth, gateway| {
        auth.service_clients
            .insert("gateway".into(), SecretString::from(SERVICE_SECRET));
        gateway.client_secret = Some(SecretString::from(SERVICE_SECRET));
        gateway.trust_forwarded_for = true;
        gateway.trusted_proxies = vec![devopstrack_gateway::extract::forwarded::Cidr::parse("127.0.0.0/8").unwrap()];
    })
    .await
}
