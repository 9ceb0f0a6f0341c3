//! `GET /api/v1/users/names`: any signed-in user turns user ids into display names (and nothing more), through the
//! real auth service; bad input is a 400 naming `id`, no token a 401.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, spawn_app};

/// `/api/v1/users/names?id=…&id=…`.
fn names_path(ids: &[&str]) -> String {
    let query: Vec<String> = ids.iter().map(|id| format!("id={id}")).collect();
    format!("/api/v1/users/names?{}", query.join("&"))
}

async fn my_id(app: &TestApp, token: &str) -> String {
    let me: Value = app.get_json("/api/v1/auth/me", Some(token)).await;
    me["id"].as_str().expect("an id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_resolves_an_admins_name_and_its_own() {
    // Arrange
    let app = spawn_app().await;
    let admin_token = app.admin_token().await;
    let admin_id = my_id(&app, &admin_token).await;
    let (viewer_id, viewer_token) = app.user_with_token(&admin_token, "vera@example.com", "viewer").await;
    let unknown = uuid::Uuid::new_v4().to_string();

    // Act: an unknown id, the admin's twice (once upper-cased), and the viewer's own.
    let upper = admin_id.to_uppercase();
    let response = app
        .get(
            &names_path(&[&unknown, &admin_id, &viewer_id, &upper]),
            Some(&viewer_token),
        )
        .await;

    // Assert: known users once each in the order first asked, with nothing but id and name.
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(
        body,
        json!({ "users": [
            { "id": admin_id, "name": "Ada Admin" },
            { "id": viewer_id, "name": "vera" },
        ] })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_unknown_ids_answer_an_empty_list() {
    // Arrange
    let app = spawn_app().await;
    let admin_token = app.admin_token().await;
    let (_, operator_token) = app.user_with_token(&admin_token, "otto@example.com", "operator").await;
    let unknown = uuid::Uuid::new_v4().to_string();

    // Act
    let response = app.get(&names_path(&[&unknown]), Some(&operator_token)).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body, json!({ "users": [] }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_are_a_400_naming_id() {
    // Arrange
    let app = spawn_app().await;
    let admin_token = app.admin_token().await;
    let (viewer_id, viewer_token) = app.user_with_token(&admin_token, "vera@example.com", "viewer").await;
    let too_many = vec![viewer_id.as_str(); 101];
    let cases = [
        ("/api/v1/users/names".to_owned(), "id: give 1 to 100 user ids"),
        (names_path(&too_many), "id: at most 100 user ids per request, got 101"),
        (
            names_path(&[&viewer_id, "not-a-uuid"]),
            r#"id: "not-a-uuid" is not a user id"#,
        ),
        (
            format!("/api/v1/users/names?ids={viewer_id}"),
            "ids: unknown query parameter",
        ),
    ];

    for (path, want) in cases {
        // Act
        let response = app.get(&path, Some(&viewer_token)).await;

        // Assert
        let message = assert_error(response, 400, "invalid_argument").await;
        assert!(message.contains(want), "{path}: {message:?} should contain {want:?}");
    }
    let at_the_limit = app.get(&names_path(&too_many[..100]), Some(&viewer_token)).await;
    assert_eq!(at_the_limit.status().as_u16(), 200, "100 ids are allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_it_is_a_401() {
    // Arrange
    let app = spawn_app().await;
    let admin_token = app.admin_token().await;
    let admin_id = my_id(&app, &admin_token).await;

    // Act
    let response = app.get(&names_path(&[&admin_id]), None).await;

    // Assert
    assert_error(response, 401, "unauthenticated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_repeated_id_parameters() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let doc: Value = app.get_json("/api/v1/openapi.json", None).await;

    // Assert
    let operation = &doc["paths"]["/api/v1/users/names"]["get"];
    assert_eq!(operation["operationId"], "lookupUserNames");
    let param = &operation["parameters"][0];
    assert_eq!(
        (
            &param["name"],
            &param["in"],
            &param["explode"],
            &param["schema"]["type"]
        ),
        (&json!("id"), &json!("query"), &json!(true), &json!("array"))
    );
    let user_name = &doc["components"]["schemas"]["UserName"]["properties"];
    let mut fields: Vec<&str> = user_name
        .as_object()
        .expect("UserName has properties")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["id", "name"],
        "a name lookup answers nothing else about a user"
    );
}
