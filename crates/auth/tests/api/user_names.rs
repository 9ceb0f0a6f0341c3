//! LookupUsers over gRPC: every signed-in role (and services) may turn user ids into display names, and learns
//! nothing else about them; bad input names the field.

use tonic::{Code, Status};

use devopstrack_auth::domain::Role;
use devopstrack_proto::auth::v1 as pb;

use crate::helpers::{TestApp, assert_status, on_both_stores, spawn_app, with_token};

async fn lookup_as(app: &TestApp, token: &str, ids: &[&str]) -> Result<Vec<pb::UserName>, Status> {
    let request = pb::LookupUsersRequest {
        ids: ids.iter().map(|id| (*id).to_owned()).collect(),
    };
    let response = app.client.clone().lookup_users(with_token(request, token)).await?;
    Ok(response.into_inner().users)
}

fn named(id: &str, name: &str) -> pb::UserName {
    pb::UserName {
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

on_both_stores!(a_viewer_resolves_others_and_itself_in_the_order_asked);

async fn a_viewer_resolves_others_and_itself_in_the_order_asked(app: TestApp) {
    // Arrange
    let admin = app.create_admin().await;
    let (viewer, token) = app.user_with_token("vera@example.com", Role::Viewer).await;
    let unknown = uuid::Uuid::new_v4().to_string();

    // Act: the viewer's own id first, an unknown id, and the admin's twice.
    let names = lookup_as(&app, &token, &[&viewer.id, &unknown, &admin.id, &admin.id])
        .await
        .expect("LookupUsers as a viewer");

    // Assert
    assert_eq!(names, [named(&viewer.id, "vera"), named(&admin.id, "Ada Admin")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_admins_and_services_may_look_up_names() {
    // Arrange
    let app = spawn_app().await;
    let (admin, admin_token) = app.admin_with_token().await;
    let (_, operator_token) = app.user_with_token("otto@example.com", Role::Operator).await;
    let service_token = app
        .client
        .clone()
        .issue_service_token(pb::IssueServiceTokenRequest {
            client_id: "gateway".into(),
            client_secret: crate::helpers::SERVICE_SECRET.into(),
        })
        .await
        .expect("a service token")
        .into_inner()
        .access_token;

    for (who, token) in [
        ("admin", &admin_token),
        ("operator", &operator_token),
        ("service", &service_token),
    ] {
        // Act
        let names = lookup_as(&app, token, &[&admin.id]).await;

        // Assert
        let names = names.unwrap_or_else(|e| panic!("LookupUsers as {who}: {e:?}"));
        assert_eq!(names, [named(&admin.id, "Ada Admin")], "as {who}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_is_still_named_but_may_no_longer_ask() {
    // Arrange: the viewer logs in, then an admin disables them; the access token itself stays unexpired.
    let app = spawn_app().await;
    let (admin, admin_token) = app.admin_with_token().await;
    let (viewer, viewer_token) = app.user_with_token("dora@example.com", Role::Viewer).await;
    let disable = pb::UpdateUserRequest {
        id: viewer.id.clone(),
        disabled: Some(true),
        ..Default::default()
    };
    app.update_user_as(&admin_token, disable)
        .await
        .expect("disable the viewer");

    // Act
    let asked_by_admin = lookup_as(&app, &admin_token, &[&viewer.id]).await;
    let asked_by_disabled = lookup_as(&app, &viewer_token, &[&admin.id]).await;

    // Assert: what they did keeps a name; they themselves are refused.
    assert_eq!(
        asked_by_admin.expect("LookupUsers as the admin"),
        [named(&viewer.id, "dora")]
    );
    assert_status(asked_by_disabled, Code::Unauthenticated, "account disabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_are_invalid_argument_naming_the_field() {
    // Arrange
    let app = spawn_app().await;
    let (admin, token) = app.admin_with_token().await;
    let many: Vec<String> = (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();

    // Act
    let none = lookup_as(&app, &token, &[]).await;
    let too_many = lookup_as(&app, &token, &many).await;
    let malformed = lookup_as(&app, &token, &[&admin.id, "service:gateway"]).await;
    let at_the_limit = lookup_as(&app, &token, &many[..100]).await;

    // Assert
    assert_status(none, Code::InvalidArgument, "ids: give at least one user id");
    assert_status(
        too_many,
        Code::InvalidArgument,
        "ids: at most 100 ids per call, got 101",
    );
    assert_status(malformed, Code::InvalidArgument, "ids[1]: is not a UUID");
    assert_eq!(
        at_the_limit.expect("100 ids are allowed"),
        [],
        "none of the random ids exists"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_it_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.create_admin().await;
    let request = pb::LookupUsersRequest { ids: vec![admin.id] };

    // Act
    let result = app.client.clone().lookup_users(request).await;

    // Assert
    assert_status(result, Code::Unauthenticated, "missing bearer token");
}
