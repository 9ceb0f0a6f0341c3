//! Sessions: refresh rotation, reuse detection, logout, and what revokes a session.

use tonic::Code;

use devopstrack_auth::domain::Role;
use devopstrack_proto::auth::v1 as pb;

use crate::helpers::{ADMIN_EMAIL, PASSWORD, TestApp, assert_status, claims, on_both_stores, spawn_app, with_token};

on_both_stores!(
    refresh_rotates_the_token,
    reusing_a_rotated_refresh_token_revokes_the_family
);

async fn refresh_rotates_the_token(app: TestApp) {
    // Arrange
    let admin = app.create_admin().await;
    let first = app.login_as(&admin).await;

    // Act
    let second = app.refresh(&first.refresh_token).await.expect("refresh");

    // Assert: a new pair, for the same user
    assert!(second.refresh_token.starts_with("rt_"));
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    assert_eq!((second.expires_in, second.refresh_expires_in), (900, 7 * 24 * 3600));
    assert_eq!(second.user.expect("user").id, admin.id);
    let claims = claims(&second.access_token);
    assert_eq!(
        (claims["sub"].as_str(), claims["role"].as_str()),
        (Some(admin.id.as_str()), Some("admin"))
    );
    assert_eq!(app.who_am_i(&second.access_token).await.expect("WhoAmI").id, admin.id);

    // Assert: the new refresh token works, the old one does not
    assert_status(app.refresh(&first.refresh_token).await, Code::Unauthenticated, "");
    let garbage = app.refresh("rt_not-a-token").await;
    assert_status(garbage, Code::Unauthenticated, "invalid refresh token");
}

async fn reusing_a_rotated_refresh_token_revokes_the_family(app: TestApp) {
    // Arrange
    let admin = app.create_admin().await;
    let r1 = app.login_as(&admin).await.refresh_token;
    let r2 = app.refresh(&r1).await.expect("first rotation").refresh_token;
    let other_session = app.login_as(&admin).await.refresh_token;

    // Act
    let reuse = app.refresh(&r1).await;

    // Assert: the reuse is refused and named…
    assert_status(reuse, Code::Unauthenticated, "reuse");
    // …and the whole family is dead, even its newest token
    assert_status(app.refresh(&r2).await, Code::Unauthenticated, "");
    // …but only this family: another session of the same user lives on
    assert!(app.refresh(&other_session).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_chain_keeps_working() {
    let app = spawn_app().await;
    let admin = app.create_admin().await;
    let mut token = app.login_as(&admin).await.refresh_token;

    for round in 1..=3 {
        let next = app
            .refresh(&token)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e:?}"))
            .refresh_token;
        assert_ne!(next, token);
        token = next;
    }

    assert!(app.refresh(&token).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_session() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.create_admin().await;
    let tokens = app.login_as(&admin).await;
    let rotated = app.refresh(&tokens.refresh_token).await.expect("refresh").refresh_token;

    // Act
    app.logout(&rotated).await.expect("logout");

    // Assert
    assert_status(app.refresh(&rotated).await, Code::Unauthenticated, "");
    app.logout(&rotated).await.expect("logging out twice is fine");
    app.logout("rt_unknown")
        .await
        .expect("logging out an unknown token is fine");
    app.logout("").await.expect("logging out nothing is fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_with_an_older_token_of_the_family_revokes_the_session() {
    let app = spawn_app().await;
    let admin = app.create_admin().await;
    let r1 = app.login_as(&admin).await.refresh_token;
    let r2 = app.refresh(&r1).await.expect("refresh").refresh_token;

    app.logout(&r1).await.expect("logout");

    assert_status(app.refresh(&r2).await, Code::Unauthenticated, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_password_revokes_sessions() {
    // Arrange: two sessions
    let app = spawn_app().await;
    let (viewer, _) = app.user_with_token("viewer@example.com", Role::Viewer).await;
    let laptop = app.login_as(&viewer).await;
    let phone = app.login_as(&viewer).await;
    let new_password = "a brand new passphrase";
    let request = pb::ChangePasswordRequest {
        user_id: String::new(),
        current_password: PASSWORD.into(),
        new_password: new_password.into(),
    };

    // Act
    app.client
        .clone()
        .change_password(with_token(request, &laptop.access_token))
        .await
        .expect("change password");

    // Assert: every session is gone, the old password too; the new one works
    assert_status(app.refresh(&laptop.refresh_token).await, Code::Unauthenticated, "");
    assert_status(app.refresh(&phone.refresh_token).await, Code::Unauthenticated, "");
    assert_status(
        app.login(&viewer.email, PASSWORD).await,
        Code::Unauthenticated,
        "invalid email or password",
    );
    let fresh = app
        .login(&viewer.email, new_password)
        .await
        .expect("login with the new password");
    assert!(app.refresh(&fresh.refresh_token).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_setting_someones_password_revokes_their_sessions() {
    // Arrange
    let app = spawn_app().await;
    let (_, admin_token) = app.admin_with_token().await;
    let (viewer, _) = app.user_with_token("viewer@example.com", Role::Viewer).await;
    let session = app.login_as(&viewer).await;
    let request = pb::ChangePasswordRequest {
        user_id: viewer.id.clone(),
        current_password: String::new(),
        new_password: "set by the admin, 2024".into(),
    };

    // Act
    app.client
        .clone()
        .change_password(with_token(request, &admin_token))
        .await
        .expect("admin sets a password");

    // Assert
    assert_status(app.refresh(&session.refresh_token).await, Code::Unauthenticated, "");
    assert!(app.login(&viewer.email, "set by the admin, 2024").await.is_ok());
    assert!(
        app.login(ADMIN_EMAIL, PASSWORD).await.is_ok(),
        "the admin's own password is unchanged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_revokes_their_sessions() {
    // Arrange
    let app = spawn_app().await;
    let (_, admin_token) = app.admin_with_token().await;
    let (operator, _) = app.user_with_token("operator@example.com", Role::Operator).await;
    let session = app.login_as(&operator).await;
    let request = pb::UpdateUserRequest {
        id: operator.id.clone(),
        disabled: Some(true),
        ..Default::default()
    };

    // Act
    let updated = app.update_user_as(&admin_token, request).await.expect("disable");

    // Assert
    assert!(updated.disabled);
    assert_status(app.refresh(&session.refresh_token).await, Code::Unauthenticated, "");
    // The access token is still well-formed, but the account behind it is disabled.
    assert_status(
        app.who_am_i(&session.access_token).await,
        Code::Unauthenticated,
        "account disabled",
    );
    assert_status(
        app.login(&operator.email, PASSWORD).await,
        Code::Unauthenticated,
        "account disabled",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_picks_up_the_users_current_role() {
    // Arrange: an operator with a session, then promoted
    let app = spawn_app().await;
    let (_, admin_token) = app.admin_with_token().await;
    let (operator, _) = app.user_with_token("op@example.com", Role::Operator).await;
    let session = app.login_as(&operator).await;
    let promote = pb::UpdateUserRequest {
        id: operator.id.clone(),
        role: Some(pb::Role::Admin as i32),
        ..Default::default()
    };
    app.update_user_as(&admin_token, promote).await.expect("promote");

    // Act
    let refreshed = app.refresh(&session.refresh_token).await.expect("refresh");

    // Assert
    assert_eq!(claims(&session.access_token)["role"], "operator");
    assert_eq!(claims(&refreshed.access_token)["role"], "admin");
    assert_eq!(refreshed.user.expect("user").role, pb::Role::Admin as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_admins_unexpired_access_token_cannot_administer_users() {
    // Arrange: two admins; the first disables the second, whose access token has not expired yet
    let app = spawn_app().await;
    let (_, admin_token) = app.admin_with_token().await;
    let (second, second_token) = app.user_with_token("second-admin@example.com", Role::Admin).await;
    let disable = pb::UpdateUserRequest {
        id: second.id.clone(),
        disabled: Some(true),
        ..Default::default()
    };
    app.update_user_as(&admin_token, disable).await.expect("disable");

    // Act
    let list = pb::ListUsersRequest::default();
    let listed = app.client.clone().list_users(with_token(list, &second_token)).await;
    let created = app
        .create_user_as(&second_token, "backdoor@example.com", pb::Role::Admin)
        .await;

    // Assert
    assert_status(created, Code::Unauthenticated, "account disabled");
    assert_status(listed, Code::Unauthenticated, "account disabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_admins_unexpired_access_token_cannot_administer_users() {
    // Arrange: two admins; the first demotes the second to viewer, whose admin access token has not expired yet
    let app = spawn_app().await;
    let (_, admin_token) = app.admin_with_token().await;
    let (second, second_token) = app.user_with_token("second-admin@example.com", Role::Admin).await;
    let demote = pb::UpdateUserRequest {
        id: second.id.clone(),
        role: Some(pb::Role::Viewer as i32),
        ..Default::default()
    };
    app.update_user_as(&admin_token, demote).await.expect("demote");

    // Act
    let created = app
        .create_user_as(&second_token, "backdoor@example.com", pb::Role::Admin)
        .await;

    // Assert
    assert_status(created, Code::PermissionDenied, "you are viewer");
    assert_status(
        app.login("backdoor@example.com", PASSWORD).await,
        Code::Unauthenticated,
        "",
    );
}
