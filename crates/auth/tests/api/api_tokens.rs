//! API tokens: created once, listed without secrets, capped at the creator's role, exchanged, revoked.

use tonic::Code;

use devopstrack_auth::domain::Role;
use devopstrack_proto::auth::v1 as pb;

use crate::helpers::{assert_status, claims, spawn_app, with_token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_token_shows_its_secret_once_and_only_its_prefix_afterwards() {
    // Arrange
    let app = spawn_app().await;
    let (operator, token) = app.user_with_token("op@example.com", Role::Operator).await;

    // Act
    let created = app
        .create_api_token_as(&token, "ci", pb::Role::Unspecified)
        .await
        .expect("create");
    let listed = app.list_api_tokens_as(&token).await.expect("list");

    // Assert: the secret, once
    let secret = created.secret;
    assert!(secret.starts_with("dtk_") && secret.len() > 40, "{secret}");
    let record = created.token.expect("the token's record");
    assert_eq!(record.name, "ci");
    assert_eq!(
        record.role,
        pb::Role::Operator as i32,
        "unspecified: the creator's role"
    );
    assert_eq!(record.user_id, operator.id);
    assert_eq!(record.prefix, secret[..12]);
    assert!(record.expires_at.is_none() && record.last_used_at.is_none() && record.revoked_at.is_none());

    // Assert: the listing has the prefix, never the secret
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id.as_str(), listed[0].prefix.as_str()),
        (record.id.as_str(), &secret[..12])
    );
    assert!(
        !format!("{listed:?}").contains(&secret[12..]),
        "the listing leaks the secret: {listed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokens_role_is_capped_at_its_creators() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("op@example.com", Role::Operator).await;

    let admin_token = app.create_api_token_as(&token, "too much", pb::Role::Admin).await;
    let service_token = app.create_api_token_as(&token, "service", pb::Role::Service).await;
    let viewer_token = app.create_api_token_as(&token, "less", pb::Role::Viewer).await;

    assert_status(
        admin_token,
        Code::PermissionDenied,
        "a token's role cannot exceed yours (operator)",
    );
    assert_status(service_token, Code::InvalidArgument, "role: ");
    assert_eq!(
        viewer_token.expect("a lower role is fine").token.expect("record").role,
        pb::Role::Viewer as i32
    );
    let listed = app.list_api_tokens_as(&token).await.expect("list");
    assert_eq!(listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["less"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchanging_a_token_gives_an_access_token_with_the_tokens_role() {
    // Arrange: an admin's viewer-role token
    let app = spawn_app().await;
    let (admin, token) = app.admin_with_token().await;
    let secret = app
        .create_api_token_as(&token, "read-only", pb::Role::Viewer)
        .await
        .expect("create")
        .secret;

    // Act
    let grant = app.exchange(&secret).await.expect("exchange");

    // Assert: an access token of the owner, with the token's role, and no refresh token
    assert_eq!(grant.token_type, "Bearer");
    assert_eq!(
        (grant.expires_in, grant.refresh_token.as_str(), grant.refresh_expires_in),
        (900, "", 0)
    );
    let claims = claims(&grant.access_token);
    assert_eq!(claims["sub"], admin.id.as_str());
    assert_eq!(claims["role"], "viewer");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    assert_eq!(app.who_am_i(&grant.access_token).await.expect("WhoAmI").id, admin.id);
    let list = pb::ListUsersRequest::default();
    let denied = app
        .client
        .clone()
        .list_users(with_token(list, &grant.access_token))
        .await;
    assert_status(denied, Code::PermissionDenied, "you are viewer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchanging_sets_last_used_at() {
    let app = spawn_app().await;
    let (_, token) = app.admin_with_token().await;
    let secret = app
        .create_api_token_as(&token, "ci", pb::Role::Unspecified)
        .await
        .expect("create")
        .secret;
    let before = app.list_api_tokens_as(&token).await.expect("list");

    app.exchange(&secret).await.expect("exchange");

    let after = app.list_api_tokens_as(&token).await.expect("list");
    assert!(before[0].last_used_at.is_none());
    let used = after[0].last_used_at.expect("last_used_at is set");
    assert!((used.seconds - chrono::Utc::now().timestamp()).abs() < 60, "{used:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_cannot_be_exchanged() {
    // Arrange
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("op@example.com", Role::Operator).await;
    let created = app
        .create_api_token_as(&token, "ci", pb::Role::Unspecified)
        .await
        .expect("create");
    let id = created.token.expect("record").id;
    assert!(app.exchange(&created.secret).await.is_ok());

    // Act
    let request = pb::RevokeApiTokenRequest { id: id.clone() };
    app.client
        .clone()
        .revoke_api_token(with_token(request, &token))
        .await
        .expect("revoke");

    // Assert
    assert_status(
        app.exchange(&created.secret).await,
        Code::Unauthenticated,
        "API token revoked",
    );
    let listed = app.list_api_tokens_as(&token).await.expect("list");
    assert_eq!(listed[0].id, id);
    assert!(listed[0].revoked_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_tokens_cannot_be_exchanged() {
    let app = spawn_app().await;

    for garbage in [
        "",
        "garbage",
        "dtk_",
        "dtk_not-a-real-token",
        &format!("dtk_{}", "a".repeat(200)),
    ] {
        let result = app.exchange(garbage).await;

        assert_status(result, Code::Unauthenticated, "invalid API token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_cannot_revoke_someone_elses_token() {
    // Arrange
    let app = spawn_app().await;
    let (_, admin_token) = app.admin_with_token().await;
    let (_, viewer_token) = app.user_with_token("viewer@example.com", Role::Viewer).await;
    let created = app
        .create_api_token_as(&admin_token, "admin's", pb::Role::Unspecified)
        .await
        .expect("create");
    let id = created.token.expect("record").id;

    // Act
    let request = pb::RevokeApiTokenRequest { id: id.clone() };
    let result = app
        .client
        .clone()
        .revoke_api_token(with_token(request, &viewer_token))
        .await;

    // Assert: indistinguishable from a token that does not exist, and still working
    assert_status(result, Code::NotFound, &format!("no API token with id {id}"));
    assert!(app.exchange(&created.secret).await.is_ok());
    assert!(
        app.list_api_tokens_as(&viewer_token).await.expect("list").is_empty(),
        "a viewer sees only their own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_can_list_and_revoke_everyones_tokens() {
    let app = spawn_app().await;
    let (_, admin_token) = app.admin_with_token().await;
    let (_, viewer_token) = app.user_with_token("viewer@example.com", Role::Viewer).await;
    let created = app
        .create_api_token_as(&viewer_token, "viewer's", pb::Role::Unspecified)
        .await
        .expect("create");
    let id = created.token.expect("record").id;

    let all = pb::ListApiTokensRequest {
        all_users: true,
        ..Default::default()
    };
    let everyone = app
        .client
        .clone()
        .list_api_tokens(with_token(all.clone(), &admin_token))
        .await
        .expect("list");
    let viewer_asks = app.client.clone().list_api_tokens(with_token(all, &viewer_token)).await;
    let request = pb::RevokeApiTokenRequest { id: id.clone() };
    app.client
        .clone()
        .revoke_api_token(with_token(request, &admin_token))
        .await
        .expect("revoke");

    assert_eq!(
        everyone
            .into_inner()
            .tokens
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        [id.as_str()]
    );
    assert_status(viewer_asks, Code::PermissionDenied, "admin");
    assert_status(
        app.exchange(&created.secret).await,
        Code::Unauthenticated,
        "API token revoked",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_owners_token_is_capped_at_the_owners_current_role() {
    // Arrange: a second admin creates an admin-role token, then is demoted to viewer
    let app = spawn_app().await;
    let (_, admin_token) = app.admin_with_token().await;
    let (owner, owner_token) = app.user_with_token("second-admin@example.com", Role::Admin).await;
    let secret = app
        .create_api_token_as(&owner_token, "deploys", pb::Role::Admin)
        .await
        .expect("create")
        .secret;
    assert_eq!(
        claims(&app.exchange(&secret).await.expect("exchange").access_token)["role"],
        "admin"
    );
    let demote = pb::UpdateUserRequest {
        id: owner.id.clone(),
        role: Some(pb::Role::Viewer as i32),
        ..Default::default()
    };
    app.update_user_as(&admin_token, demote).await.expect("demote");

    // Act
    let grant = app.exchange(&secret).await.expect("exchange");

    // Assert
    assert_eq!(claims(&grant.access_token)["role"], "viewer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_owners_token_cannot_be_exchanged() {
    let app = spawn_app().await;
    let (_, admin_token) = app.admin_with_token().await;
    let (owner, owner_token) = app.user_with_token("op@example.com", Role::Operator).await;
    let secret = app
        .create_api_token_as(&owner_token, "ci", pb::Role::Unspecified)
        .await
        .expect("create")
        .secret;
    let disable = pb::UpdateUserRequest {
        id: owner.id.clone(),
        disabled: Some(true),
        ..Default::default()
    };
    app.update_user_as(&admin_token, disable).await.expect("disable");

    let result = app.exchange(&secret).await;

    assert_status(result, Code::Unauthenticated, "account disabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_token_cannot_mint_a_token_broader_than_itself() {
    // Arrange: an admin's viewer token, exchanged for an access token (issue 12's reproduction, over gRPC)
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token().await;
    let secret = app
        .create_api_token_as(&admin, "ci", pb::Role::Viewer)
        .await
        .expect("create")
        .secret;
    let viewer = app.exchange(&secret).await.expect("exchange").access_token;

    // Act
    let unspecified = app.create_api_token_as(&viewer, "x", pb::Role::Unspecified).await;
    let admin_role = app.create_api_token_as(&viewer, "y", pb::Role::Admin).await;
    let viewer_role = app.create_api_token_as(&viewer, "z", pb::Role::Viewer).await;

    // Assert: refused beyond viewer (the account's admin role is not what is calling), allowed at viewer
    assert_status(unspecified, Code::PermissionDenied, "cannot exceed");
    assert_status(admin_role, Code::PermissionDenied, "(viewer)");
    let child = viewer_role
        .expect("a viewer token from a viewer token")
        .token
        .expect("record");
    assert_eq!(child.role, pb::Role::Viewer as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_made_with_an_api_token_never_outlives_it() {
    // Arrange: an admin's 10-day admin token, exchanged
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token().await;
    let create = |token: &str, name: &str, days: u32| {
        let request = pb::CreateApiTokenRequest {
            name: name.into(),
            role: pb::Role::Unspecified as i32,
            expires_in_days: days,
        };
        let mut client = app.client.clone();
        let request = with_token(request, token);
        async move { client.create_api_token(request).await.map(tonic::Response::into_inner) }
    };
    let parent = create(&admin, "ci", 10).await.expect("create");
    let parent_expiry = parent.token.as_ref().and_then(|t| t.expires_at).expect("an expiry");
    let access = app.exchange(&parent.secret).await.expect("exchange").access_token;

    // Act
    let never = create(&access, "never", 0)
        .await
        .expect("0 days: as long as the parent");
    let too_long = create(&access, "too long", 11).await;
    let child_access = app.exchange(&never.secret).await.expect("the child works").access_token;
    let revoke = pb::RevokeApiTokenRequest {
        id: parent.token.expect("record").id,
    };
    app.client
        .clone()
        .revoke_api_token(with_token(revoke, &admin))
        .await
        .expect("revoke the parent");
    let child_after = app.exchange(&never.secret).await;
    let mint_after = create(&access, "after", 1).await;

    // Assert
    assert_eq!(never.token.expect("record").expires_at, Some(parent_expiry));
    assert_status(too_long, Code::InvalidArgument, "expiresInDays: must end by");
    assert!(claims(&child_access)["exp"].as_i64().unwrap() <= parent_expiry.seconds);
    assert_status(child_after, Code::Unauthenticated, "revoked");
    assert_status(mint_after, Code::Unauthenticated, "revoked");
}
