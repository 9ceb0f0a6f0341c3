//! User administration over gRPC: who may do what (RBAC), validation, pagination, WhoAmI, ChangePassword.

use tonic::{Code, Status};

use devopstrack_auth::domain::Role;
use devopstrack_proto::auth::v1 as pb;

use crate::helpers::{ADMIN_EMAIL, PASSWORD, TestApp, assert_status, spawn_app, with_token};

async fn list_users_as(
    app: &TestApp,
    token: &str,
    page_size: i32,
    page_token: &str,
) -> Result<pb::ListUsersResponse, Status> {
    let request = pb::ListUsersRequest {
        page_size,
        page_token: page_token.into(),
    };
    app.client
        .clone()
        .list_users(with_token(request, token))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_can_create_list_and_update_users() {
    // Arrange
    let app = spawn_app().await;
    let (admin, token) = app.admin_with_token().await;

    // Act: create
    let created = app
        .create_user_as(&token, "Grace@Example.com", pb::Role::Operator)
        .await
        .expect("create");

    // Assert: created, normalised, and able to log in
    assert_eq!(created.email, "grace@example.com");
    assert_eq!(created.name, "User Grace@Example.com");
    assert_eq!(created.role, pb::Role::Operator as i32);
    assert!(!created.disabled && created.created_at.is_some() && created.last_login_at.is_none());
    assert!(app.login("grace@example.com", PASSWORD).await.is_ok());

    // Act + assert: list
    let listed = list_users_as(&app, &token, 0, "").await.expect("list");
    let ids: Vec<_> = listed.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, [admin.id.as_str(), created.id.as_str()]);
    assert_eq!(listed.next_page_token, "");

    // Act + assert: update
    let request = pb::UpdateUserRequest {
        id: created.id.clone(),
        name: Some("Grace Hopper".into()),
        role: Some(pb::Role::Admin as i32),
        disabled: None,
    };
    let updated = app.update_user_as(&token, request).await.expect("update");
    assert_eq!(
        (updated.name.as_str(), updated.role, updated.disabled),
        ("Grace Hopper", pb::Role::Admin as i32, false)
    );
    let relogin = app.login("grace@example.com", PASSWORD).await.expect("login");
    assert_eq!(crate::helpers::claims(&relogin.access_token)["role"], "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_and_viewers_may_not_administer_users() {
    let app = spawn_app().await;
    let (admin, _) = app.admin_with_token().await;

    for (email, role, name) in [
        ("op@example.com", Role::Operator, "operator"),
        ("viewer@example.com", Role::Viewer, "viewer"),
    ] {
        let (_, token) = app.user_with_token(email, role).await;
        let needs_admin = format!("this needs the admin role; you are {name}");

        let create = app.create_user_as(&token, "new@example.com", pb::Role::Viewer).await;
        assert_status(create, Code::PermissionDenied, &needs_admin);
        assert_status(
            list_users_as(&app, &token, 0, "").await,
            Code::PermissionDenied,
            &needs_admin,
        );
        let update = pb::UpdateUserRequest {
            id: admin.id.clone(),
            disabled: Some(true),
            ..Default::default()
        };
        assert_status(
            app.update_user_as(&token, update).await,
            Code::PermissionDenied,
            &needs_admin,
        );
        let set_password = pb::ChangePasswordRequest {
            user_id: admin.id.clone(),
            current_password: String::new(),
            new_password: "taking over the admin".into(),
        };
        let result = app
            .client
            .clone()
            .change_password(with_token(set_password, &token))
            .await;
        assert_status(result, Code::PermissionDenied, &needs_admin);
    }
    assert!(
        app.login("new@example.com", PASSWORD).await.is_err(),
        "nobody was created"
    );
    assert!(app.login(ADMIN_EMAIL, PASSWORD).await.is_ok(), "the admin is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_a_token_are_unauthenticated() {
    let app = spawn_app().await;
    let mut client = app.client.clone();

    let create = client.create_user(pb::CreateUserRequest::default()).await;
    let list = client.list_users(pb::ListUsersRequest::default()).await;
    let who = client.who_am_i(pb::WhoAmIRequest {}).await;
    let not_bearer = {
        let mut request = tonic::Request::new(pb::WhoAmIRequest {});
        request
            .metadata_mut()
            .insert("authorization", "Basic YWRtaW46YWRtaW4=".parse().unwrap());
        client.who_am_i(request).await
    };

    assert_status(create, Code::Unauthenticated, "missing bearer token");
    assert_status(list, Code::Unauthenticated, "missing bearer token");
    assert_status(who, Code::Unauthenticated, "missing bearer token");
    assert_status(not_bearer, Code::Unauthenticated, "missing bearer token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_email_in_another_case_already_exists() {
    let app = spawn_app().await;
    let (_, token) = app.admin_with_token().await;
    app.create_user_as(&token, "grace@example.com", pb::Role::Viewer)
        .await
        .expect("create");

    let duplicate = app.create_user_as(&token, "GRACE@example.COM", pb::Role::Admin).await;

    assert_status(duplicate, Code::AlreadyExists, "grace@example.com already exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_missing_role_is_invalid_argument() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_with_token().await;
    let create = |role: i32| pb::CreateUserRequest {
        email: "x@example.com".into(),
        name: "X".into(),
        role,
        password: PASSWORD.into(),
    };
    let mut client = app.client.clone();

    let unknown = client.create_user(with_token(create(42), &token)).await;
    let missing = client
        .create_user(with_token(create(pb::Role::Unspecified as i32), &token))
        .await;
    let service = client
        .create_user(with_token(create(pb::Role::Service as i32), &token))
        .await;
    let update = pb::UpdateUserRequest {
        id: admin.id.clone(),
        role: Some(42),
        ..Default::default()
    };
    let unknown_update = app.update_user_as(&token, update).await;

    assert_status(unknown, Code::InvalidArgument, "role: unknown role 42");
    assert_status(missing, Code::InvalidArgument, "role: is required");
    assert_status(service, Code::InvalidArgument, "role: service is not a user role");
    assert_status(unknown_update, Code::InvalidArgument, "role: unknown role 42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_password_is_invalid_argument_naming_the_field() {
    let app = spawn_app().await;
    let (_, token) = app.admin_with_token().await;
    let request = pb::CreateUserRequest {
        email: "weak@example.com".into(),
        name: "Weak".into(),
        role: pb::Role::Viewer as i32,
        password: "short".into(),
    };

    let result = app.client.clone().create_user(with_token(request, &token)).await;

    assert_status(
        result,
        Code::InvalidArgument,
        "password: password must be at least 10 characters",
    );
    assert_status(app.login("weak@example.com", "short").await, Code::Unauthenticated, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_users_pages_through_everyone_once() {
    // Arrange: the admin and six more users, seven in all
    let app = spawn_app().await;
    let (admin, token) = app.admin_with_token().await;
    let mut expected = vec![admin.id.clone()];
    for n in 1..=6 {
        let user = app
            .create_user_as(&token, &format!("user{n}@example.com"), pb::Role::Viewer)
            .await
            .expect("create");
        expected.push(user.id);
    }

    // Act: pages of three
    let mut seen = Vec::new();
    let mut page_sizes = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = list_users_as(&app, &token, 3, &page_token).await.expect("a page");
        page_sizes.push(page.users.len());
        seen.extend(page.users.into_iter().map(|u| u.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
        assert!(page_sizes.len() < 10, "pagination does not end");
    }

    // Assert: oldest first, no duplicates, no gaps
    assert_eq!(page_sizes, [3, 3, 1]);
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_page_token_or_negative_page_size_is_invalid_argument() {
    let app = spawn_app().await;
    let (_, token) = app.admin_with_token().await;

    let garbage = list_users_as(&app, &token, 3, "not-a-page-token!").await;
    let negative = list_users_as(&app, &token, -1, "").await;

    assert_status(garbage, Code::InvalidArgument, "pageToken");
    assert_status(negative, Code::InvalidArgument, "pageSize");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cannot_demote_or_disable_themselves() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_with_token().await;
    let demote = pb::UpdateUserRequest {
        id: admin.id.clone(),
        role: Some(pb::Role::Viewer as i32),
        ..Default::default()
    };
    let disable = pb::UpdateUserRequest {
        id: admin.id.clone(),
        disabled: Some(true),
        ..Default::default()
    };
    let rename = pb::UpdateUserRequest {
        id: admin.id.clone(),
        name: Some("Ada L.".into()),
        ..Default::default()
    };

    let demoted = app.update_user_as(&token, demote).await;
    let disabled = app.update_user_as(&token, disable).await;
    let renamed = app.update_user_as(&token, rename).await;

    assert_status(
        demoted,
        Code::FailedPrecondition,
        "you cannot demote or disable yourself",
    );
    assert_status(
        disabled,
        Code::FailedPrecondition,
        "you cannot demote or disable yourself",
    );
    let me = app.who_am_i(&token).await.expect("WhoAmI");
    assert_eq!((me.role, me.disabled), (pb::Role::Admin as i32, false));
    assert_eq!(renamed.expect("renaming oneself is fine").name, "Ada L.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updating_nothing_or_nobody_is_refused() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_with_token().await;
    let nobody = uuid::Uuid::now_v7().to_string();

    let empty = app
        .update_user_as(
            &token,
            pb::UpdateUserRequest {
                id: admin.id.clone(),
                ..Default::default()
            },
        )
        .await;
    let missing = app.update_user_as(
        &token,
        pb::UpdateUserRequest {
            id: nobody.clone(),
            disabled: Some(true),
            ..Default::default()
        },
    );
    let not_a_uuid = app.update_user_as(
        &token,
        pb::UpdateUserRequest {
            id: "42".into(),
            disabled: Some(true),
            ..Default::default()
        },
    );

    assert_status(empty, Code::InvalidArgument, "nothing to update");
    assert_status(missing.await, Code::NotFound, &format!("no user with id {nobody}"));
    assert_status(not_a_uuid.await, Code::InvalidArgument, "id: is not a UUID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_am_i_returns_the_caller() {
    let app = spawn_app().await;
    app.create_admin().await;
    let (viewer, token) = app.user_with_token("viewer@example.com", Role::Viewer).await;

    let me = app.who_am_i(&token).await.expect("WhoAmI");

    assert_eq!(me.id, viewer.id);
    assert_eq!(me.email, "viewer@example.com");
    assert_eq!(me.name, "viewer");
    assert_eq!(me.role, pb::Role::Viewer as i32);
    assert!(!me.disabled);
    assert!(me.last_login_at.is_some(), "the login was recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_password_with_a_wrong_current_password_is_invalid_argument() {
    let app = spawn_app().await;
    let (viewer, token) = app.user_with_token("viewer@example.com", Role::Viewer).await;
    let request = pb::ChangePasswordRequest {
        user_id: String::new(),
        current_password: "not my password".into(),
        new_password: "a brand new passphrase".into(),
    };

    let result = app.client.clone().change_password(with_token(request, &token)).await;

    assert_status(result, Code::InvalidArgument, "currentPassword: is incorrect");
    assert!(
        app.login(&viewer.email, PASSWORD).await.is_ok(),
        "the old password still works"
    );
    assert_status(
        app.login(&viewer.email, "a brand new passphrase").await,
        Code::Unauthenticated,
        "",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_password_to_a_weak_one_is_invalid_argument() {
    let app = spawn_app().await;
    let (viewer, token) = app.user_with_token("viewer@example.com", Role::Viewer).await;
    let request = pb::ChangePasswordRequest {
        user_id: viewer.id.clone(),
        current_password: PASSWORD.into(),
        new_password: "short".into(),
    };

    let result = app.client.clone().change_password(with_token(request, &token)).await;

    assert_status(
        result,
        Code::InvalidArgument,
        "newPassword: password must be at least 10 characters",
    );
    assert!(app.login(&viewer.email, PASSWORD).await.is_ok());
}
