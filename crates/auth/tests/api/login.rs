//! Login: what a token looks like, bad credentials, input validation, throttling per (account, address), disabled
//! accounts, service credentials.

use jsonwebtoken::Algorithm;
use tonic::Code;

use devopstrack_auth::domain::Role;
use devopstrack_proto::auth::v1 as pb;

use crate::helpers::{
    ADMIN_EMAIL, PASSWORD, SERVICE_SECRET, TestApp, assert_status, claims, on_both_stores, spawn_app, with_token,
};

on_both_stores!(
    login_returns_an_eddsa_access_token_and_a_refresh_token,
    failed_logins_slow_down_the_address_they_come_from_not_the_account
);

async fn login_returns_an_eddsa_access_token_and_a_refresh_token(app: TestApp) {
    // Arrange
    let admin = app.create_admin().await;

    // Act
    let response = app.login(ADMIN_EMAIL, PASSWORD).await.expect("login");

    // Assert: the response
    assert_eq!(response.token_type, "Bearer");
    assert_eq!(response.expires_in, 900);
    assert!(response.refresh_token.starts_with("rt_"), "{}", response.refresh_token);
    assert_eq!(response.refresh_expires_in, 7 * 24 * 3600);
    let user = response.user.expect("the logged-in user");
    assert_eq!(
        (user.id.as_str(), user.email.as_str(), user.role),
        (admin.id.as_str(), ADMIN_EMAIL, pb::Role::Admin as i32)
    );
    assert!(user.last_login_at.is_some());

    // Assert: the header is EdDSA, with a kid the JWKS publishes
    let header = jsonwebtoken::decode_header(&response.access_token).expect("a JWT header");
    assert_eq!(header.alg, Algorithm::EdDSA);
    let kid = header.kid.expect("a kid");
    let jwks = app.jwks().await;
    let jwk = jwks.iter().find(|k| k.kid == kid).expect("the kid is in the JWKS");
    assert_eq!(
        (jwk.kty.as_str(), jwk.crv.as_str(), jwk.alg.as_str(), jwk.r#use.as_str()),
        ("OKP", "Ed25519", "EdDSA", "sig")
    );

    // Assert: the claims
    let claims = claims(&response.access_token);
    assert_eq!(claims["sub"], admin.id.as_str());
    assert_eq!(claims["role"], "admin");
    assert_eq!(claims["name"], "Ada Admin");
    assert_eq!(claims["iss"], "devopstrack");
    assert_eq!(claims["aud"], "devopstrack");
    let (iat, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert_eq!(exp - iat, 900);
    assert!((iat - chrono::Utc::now().timestamp()).abs() < 60, "iat {iat} is now");
    assert!(
        uuid::Uuid::parse_str(claims["jti"].as_str().expect("jti")).is_ok(),
        "{claims}"
    );

    // Assert: the token is accepted, and each login is a new token
    assert_eq!(app.who_am_i(&response.access_token).await.expect("WhoAmI").id, admin.id);
    let again = app.login(ADMIN_EMAIL, PASSWORD).await.expect("login again");
    assert_ne!(crate::helpers::claims(&again.access_token)["jti"], claims["jti"]);
    assert_ne!(again.refresh_token, response.refresh_token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_unauthenticated() {
    let app = spawn_app().await;
    app.create_admin().await;

    let result = app.login(ADMIN_EMAIL, "not the right password").await;

    assert_status(result, Code::Unauthenticated, "invalid email or password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_email_is_unauthenticated_with_the_same_message() {
    let app = spawn_app().await;
    app.create_admin().await;
    let wrong_password = app
        .login(ADMIN_EMAIL, "not the right password")
        .await
        .expect_err("wrong password");

    let unknown = app
        .login("nobody@example.com", PASSWORD)
        .await
        .expect_err("unknown email");

    assert_eq!(unknown.code(), Code::Unauthenticated);
    assert_eq!(unknown.message(), wrong_password.message());
    assert_eq!(unknown.message(), "invalid email or password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_email_is_invalid_argument_naming_the_field() {
    let app = spawn_app().await;

    for email in ["", "not-an-email", "a@b@c", "two words@example.com"] {
        let status = app.login(email, PASSWORD).await.expect_err(email);

        assert_eq!(status.code(), Code::InvalidArgument, "{email:?}: {}", status.message());
        assert!(
            status.message().starts_with("email: "),
            "{email:?}: {}",
            status.message()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_password_is_invalid_argument_naming_the_field() {
    let app = spawn_app().await;
    app.create_admin().await;

    let result = app.login(ADMIN_EMAIL, "").await;

    assert_status(result, Code::InvalidArgument, "password: ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_is_matched_case_insensitively() {
    let app = spawn_app().await;
    let admin = app.create_admin().await;

    let response = app.login("  ADMIN@Example.com ", PASSWORD).await.expect("login");

    assert_eq!(response.user.expect("user").id, admin.id);
}

/// Login as the gateway calls it: `client_address` and, when given, a service token vouching for it.
async fn login_from(app: &TestApp, password: &str, address: &str, vouching: Option<&str>) -> Result<(), tonic::Status> {
    let message = pb::LoginRequest {
        email: ADMIN_EMAIL.into(),
        password: password.into(),
        client_address: address.into(),
    };
    let request = match vouching {
        Some(token) => with_token(message, token),
        None => tonic::Request::new(message),
    };
    app.client.clone().login(request).await.map(drop)
}

async fn failed_logins_slow_down_the_address_they_come_from_not_the_account(app: TestApp) {
    // Arrange: the gateway's service token vouches for the addresses it forwards
    app.create_admin().await;
    let gateway = issue_service_token(&app, "gateway", SERVICE_SECRET)
        .await
        .expect("the gateway's token")
        .access_token;
    let stranger = "203.0.113.9";
    for attempt in 1..=5 {
        let status = login_from(&app, "wrong password!", stranger, Some(&gateway))
            .await
            .expect_err("wrong password");
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "attempt {attempt}: {}",
            status.message()
        );
    }

    // Act
    let sixth = login_from(&app, PASSWORD, stranger, Some(&gateway)).await;
    let the_user = login_from(&app, PASSWORD, "198.51.100.7", Some(&gateway)).await;

    // Assert: the stranger's address waits (even with the right password), with a Retry-After; the user does not
    let status = assert_status(sixth, Code::ResourceExhausted, "");
    assert!(status.message().starts_with("account_locked"), "{}", status.message());
    let retry_after = status.metadata().get("retry-after").expect("retry-after metadata");
    assert_eq!(retry_after.to_str().unwrap(), "1", "the first delay is a second");
    assert!(the_user.is_ok(), "{the_user:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_address_is_believed_only_from_a_login_forwarder() {
    // Arrange: five failures claiming one address, without a forwarder's token (they count under the peer)
    let app = spawn_app().await;
    app.create_admin().await;
    let tasks = issue_service_token(&app, "tasks", SERVICE_SECRET)
        .await
        .expect("a non-forwarder's token")
        .access_token;
    for _ in 1..=5 {
        login_from(&app, "wrong password!", "203.0.113.50", None)
            .await
            .expect_err("wrong password");
    }

    // Act: the right password, claiming other addresses, without a token and with a client that is not the gateway
    let unvouched = login_from(&app, PASSWORD, "198.51.100.7", None).await;
    let by_tasks = login_from(&app, PASSWORD, "198.51.100.8", Some(&tasks)).await;

    // Assert: both are the same peer as the failures, so both wait
    assert_status(unvouched, Code::ResourceExhausted, "account_locked");
    assert_status(by_tasks, Code::ResourceExhausted, "account_locked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_client_address_must_be_an_ip_address() {
    let app = spawn_app().await;
    app.create_admin().await;
    let gateway = issue_service_token(&app, "gateway", SERVICE_SECRET)
        .await
        .expect("the gateway's token")
        .access_token;

    let result = login_from(&app, PASSWORD, "not-an-address", Some(&gateway)).await;

    assert_status(result, Code::InvalidArgument, "client_address: ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_login_forgets_earlier_failures() {
    // Arrange: four failures, then a success
    let app = spawn_app().await;
    app.create_admin().await;
    for _ in 1..=4 {
        app.login(ADMIN_EMAIL, "wrong password!")
            .await
            .expect_err("wrong password");
    }
    app.login(ADMIN_EMAIL, PASSWORD).await.expect("login");

    // Act: four more failures
    for attempt in 1..=4 {
        let result = app.login(ADMIN_EMAIL, "wrong password!").await;

        // Assert: each is a plain failure, not a lock
        let status = result.expect_err("wrong password");
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "attempt {attempt}: {}",
            status.message()
        );
    }
    assert!(app.login(ADMIN_EMAIL, PASSWORD).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_cannot_log_in() {
    let app = spawn_app().await;
    let (_, admin_token) = app.admin_with_token().await;
    let viewer = app.bootstrap("viewer@example.com", "Viewer", Role::Viewer).await;
    let update = pb::UpdateUserRequest {
        id: viewer.id.clone(),
        disabled: Some(true),
        ..Default::default()
    };
    app.update_user_as(&admin_token, update)
        .await
        .expect("disable the viewer");

    let result = app.login(&viewer.email, PASSWORD).await;

    assert_status(result, Code::Unauthenticated, "account disabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_enabled_user_can_log_in_again() {
    let app = spawn_app().await;
    let (_, admin_token) = app.admin_with_token().await;
    let viewer = app.bootstrap("viewer@example.com", "Viewer", Role::Viewer).await;
    let disable = pb::UpdateUserRequest {
        id: viewer.id.clone(),
        disabled: Some(true),
        ..Default::default()
    };
    app.update_user_as(&admin_token, disable).await.expect("disable");
    let enable = pb::UpdateUserRequest {
        id: viewer.id.clone(),
        disabled: Some(false),
        ..Default::default()
    };
    app.update_user_as(&admin_token, enable).await.expect("enable");

    let response = app.login(&viewer.email, PASSWORD).await.expect("login");

    assert_eq!(response.user.expect("user").id, viewer.id);
}

async fn issue_service_token(app: &TestApp, client_id: &str, secret: &str) -> Result<pb::TokenResponse, tonic::Status> {
    let request = pb::IssueServiceTokenRequest {
        client_id: client_id.into(),
        client_secret: secret.into(),
    };
    app.client
        .clone()
        .issue_service_token(request)
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_service_with_the_secret_gets_a_service_token() {
    let app = spawn_app().await;

    let grant = issue_service_token(&app, "gateway", SERVICE_SECRET)
        .await
        .expect("service token");

    assert_eq!(
        (grant.expires_in, grant.refresh_token.as_str(), grant.refresh_expires_in),
        (900, "", 0)
    );
    assert!(grant.user.is_none());
    let claims = claims(&grant.access_token);
    assert_eq!(
        (claims["sub"].as_str(), claims["role"].as_str()),
        (Some("service:gateway"), Some("service"))
    );
    let me = app.who_am_i(&grant.access_token).await.expect("WhoAmI");
    assert_eq!(
        (me.id.as_str(), me.name.as_str(), me.role),
        ("service:gateway", "gateway", pb::Role::Service as i32)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_or_unknown_service_gets_no_token() {
    let app = spawn_app().await;

    let wrong_secret = issue_service_token(&app, "gateway", "guess").await;
    let another_clients = issue_service_token(&app, "gateway", "tasks-has-its-own-secret-0123456789").await;
    let unknown_client = issue_service_token(&app, "intruder", SERVICE_SECRET).await;

    assert_status(wrong_secret, Code::Unauthenticated, "invalid client credentials");
    assert_status(another_clients, Code::Unauthenticated, "invalid client credentials");
    assert_status(unknown_client, Code::Unauthenticated, "invalid client credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_token_cannot_act_as_a_user() {
    let app = spawn_app().await;
    let token = issue_service_token(&app, "projects", SERVICE_SECRET)
        .await
        .expect("service token")
        .access_token;

    let created = app.create_user_as(&token, "x@example.com", pb::Role::Viewer).await;
    let api_token = app.create_api_token_as(&token, "ci", pb::Role::Viewer).await;

    assert_status(created, Code::PermissionDenied, "this call needs a user");
    assert_status(api_token, Code::PermissionDenied, "this call needs a user");
}
