//! Login, the refresh cookie, rotation with reuse detection, logout, API tokens and password changes, end to end
//! through the edge.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, cookie_value, refresh_set_cookie, spawn_app};

/// `POST /api/v1/auth/refresh` with the token in the body.
async fn refresh_with(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/refresh", None, &json!({ "refreshToken": refresh_token }))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_a_bearer_token_and_sets_an_http_only_refresh_cookie() {
    let app = spawn_app().await;

    let response = app.login(&app.admin_email, &app.admin_password).await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let cookie = refresh_set_cookie(&response).expect("a refresh cookie");
    assert!(!cookie_value(&cookie).is_empty(), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(cookie.contains(attribute), "{cookie} should have {attribute}");
    }
    assert!(!cookie.contains("Secure"), "no Secure on a loopback address: {cookie}");
    let body: Value = response.json().await.unwrap();
    assert!(
        body["accessToken"].as_str().is_some_and(|t| t.split('.').count() == 3),
        "{body}"
    );
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], 900);
    assert!(
        body.get("refreshToken").is_none(),
        "the refresh token stays in the cookie: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_the_refresh_token_in_the_body_only_when_asked() {
    let app = spawn_app().await;
    let body = json!({ "email": app.admin_email, "password": app.admin_password, "returnRefreshToken": true });

    let response = app.post_json("/api/v1/auth/login", None, &body).await;

    assert_eq!(response.status().as_u16(), 200);
    let cookie = refresh_set_cookie(&response).expect("a refresh cookie");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["refreshToken"].as_str(), Some(cookie_value(&cookie)), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_reports_the_role_of_the_token() {
    let app = spawn_app().await;
    let token = app.admin_token().await;

    let response = app.get("/api/v1/auth/me", Some(&token)).await;

    assert_eq!(response.status().as_u16(), 200);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["name"], "Ada Admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_gets_the_same_401_as_a_wrong_password() {
    let app = spawn_app().await;

    let wrong_password = app.login(&app.admin_email, "not the password at all").await;
    let unknown_user = app.login("nobody@example.com", PASSWORD).await;

    let wrong_password = assert_error(wrong_password, 401, "unauthenticated").await;
    let unknown_user = assert_error(unknown_user, 401, "unauthenticated").await;
    assert_eq!(
        wrong_password, unknown_user,
        "the answer must not reveal which accounts exist"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_slow_down_the_address_even_against_the_right_one() {
    // Arrange: five free failures, then more until one must wait (the waits double: 1 s, 2 s, 4 s, …)
    let app = spawn_app().await;
    for attempt in 1..=5 {
        let response = app.login(&app.admin_email, "wrong password!").await;
        assert_eq!(response.status().as_u16(), 401, "attempt {attempt}");
    }
    let mut waited = None;
    for _ in 0..10 {
        let response = app.login(&app.admin_email, "wrong password!").await;
        if response.status() == 429 {
            waited = Some(response);
            break;
        }
    }

    // Act
    let right = app.login(&app.admin_email, &app.admin_password).await;

    // Assert: the wait says how long, and the right password waits too
    let waited = waited.expect("a wait within ten more failures");
    let retry_after = waited
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(retry_after.parse::<u64>().is_ok_and(|s| s > 0), "{retry_after}");
    assert_error(waited, 429, "account_locked").await;
    assert!(right.headers().contains_key("retry-after"));
    assert_error(right, 429, "account_locked").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_with_the_cookie_rotates_it_and_returns_a_new_access_token() {
    let app = spawn_app().await;
    let login = app.login(&app.admin_email, &app.admin_password).await;
    let first_cookie = refresh_set_cookie(&login).expect("a refresh cookie");
    let first: Value = login.json().await.unwrap();

    let response = app.post("/api/v1/auth/refresh", None).await;

    assert_eq!(response.status().as_u16(), 200);
    let second_cookie = refresh_set_cookie(&response).expect("a rotated cookie");
    assert_ne!(cookie_value(&first_cookie), cookie_value(&second_cookie));
    let second: Value = response.json().await.unwrap();
    assert!(second.get("refreshToken").is_none(), "{second}");
    let token = second["accessToken"].as_str().expect("an access token");
    assert_ne!(Some(token), first["accessToken"].as_str());
    assert_eq!(app.get("/api/v1/auth/me", Some(token)).await.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let body = json!({ "email": app.admin_email, "password": app.admin_password, "returnRefreshToken": true });
    let login: Value = app
        .post_json("/api/v1/auth/login", None, &body)
        .await
        .json()
        .await
        .unwrap();
    let r1 = login["refreshToken"].as_str().expect("r1").to_owned();
    let rotated = refresh_with(&app, &r1).await;
    assert_eq!(rotated.status().as_u16(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let r2 = rotated["refreshToken"]
        .as_str()
        .expect("r2 in the body, where r1 came from")
        .to_owned();
    assert_ne!(r1, r2);

    let reused = refresh_with(&app, &r1).await;
    let after_reuse = refresh_with(&app, &r2).await;

    let message = assert_error(reused, 401, "unauthenticated").await;
    assert!(message.contains("reuse"), "{message}");
    assert_error(after_reuse, 401, "unauthenticated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_clears_the_cookie_and_ends_the_session() {
    let app = spawn_app().await;
    let login = app.login(&app.admin_email, &app.admin_password).await;
    let refresh_token = cookie_value(&refresh_set_cookie(&login).expect("a refresh cookie")).to_owned();

    let logout = app.post("/api/v1/auth/logout", None).await;

    assert_eq!(logout.status().as_u16(), 204);
    let cleared = refresh_set_cookie(&logout).expect("a removal cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(cookie_value(&cleared), "");
    let from_jar = app.post("/api/v1/auth/refresh", None).await;
    assert_error(from_jar, 401, "unauthenticated").await;
    let replayed = refresh_with(&app, &refresh_token).await;
    assert_error(replayed, 401, "unauthenticated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_token_is_exchanged_listed_without_its_secret_and_revoked() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    let created = app
        .post_json(
            "/api/v1/tokens",
            Some(&admin),
            &json!({ "name": "ci", "role": "operator" }),
        )
        .await;
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    let id = created["token"]["id"].as_str().expect("an id").to_owned();
    assert!(secret.starts_with("dtk_"), "{secret}");

    let exchanged = app
        .post_json("/api/v1/auth/token", None, &json!({ "token": secret }))
        .await;
    assert_eq!(exchanged.status().as_u16(), 200);
    assert!(
        refresh_set_cookie(&exchanged).is_none(),
        "an API token grant has no refresh token"
    );
    let exchanged: Value = exchanged.json().await.unwrap();
    let access = exchanged["accessToken"].as_str().expect("an access token");
    let me: Value = app.get_json("/api/v1/auth/me", Some(access)).await;
    assert_eq!(me["role"], "operator");

    let listed = app.get("/api/v1/tokens", Some(&admin)).await;
    assert_eq!(listed.status().as_u16(), 200);
    let listed = listed.text().await.unwrap();
    assert!(!listed.contains(&secret), "the secret is shown once: {listed}");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let items = listed["items"].as_array().expect("items");
    assert!(
        items
            .iter()
            .any(|t| t["id"] == id.as_str() && t["name"] == "ci" && t["role"] == "operator"),
        "{listed}"
    );
    assert!(items.iter().all(|t| t.get("secret").is_none()), "{listed}");

    let revoked = app
        .request(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 204);
    let after = app
        .post_json("/api/v1/auth/token", None, &json!({ "token": secret }))
        .await;
    assert_error(after, 401, "unauthenticated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_your_password_retires_the_old_one() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let new_password = "a brand new passphrase";
    let body = json!({ "currentPassword": app.admin_password, "newPassword": new_password });

    let changed = app
        .send_json(Method::PUT, "/api/v1/auth/password", Some(&token), &body)
        .await;

    assert_eq!(changed.status().as_u16(), 204);
    assert_error(
        app.login(&app.admin_email, &app.admin_password).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(app.login(&app.admin_email, new_password).await.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_your_password_needs_the_current_one() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let body = json!({ "currentPassword": "not my password", "newPassword": "a brand new passphrase" });

    let refused = app
        .send_json(Method::PUT, "/api/v1/auth/password", Some(&token), &body)
        .await;

    let message = assert_error(refused, 400, "invalid_argument").await;
    assert!(message.starts_with("currentPassword:"), "{message}");
    assert_eq!(
        app.login(&app.admin_email, &app.admin_password).await.status().as_u16(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_and_logout_take_a_null_body_as_none_and_refuse_an_array() {
    let app = spawn_app().await;
    let send = |path: &'static str, body: &'static str| {
        app.http
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let logout = send("/api/v1/auth/logout", "null").await.unwrap();
    let refresh = send("/api/v1/auth/refresh", "null").await.unwrap();
    let array = send("/api/v1/auth/logout", "[]").await.unwrap();

    assert_eq!(logout.status().as_u16(), 204, "null is the document's no-body");
    assert_error(refresh, 401, "unauthenticated").await;
    let message = assert_error(array, 400, "invalid_argument").await;
    assert!(message.contains("must be a JSON object"), "{message}");
}
