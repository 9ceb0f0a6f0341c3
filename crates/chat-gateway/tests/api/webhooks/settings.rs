//! The webhook secret's configuration: who may set it, and that nobody reads it back.

use reqwest::Method;
use serde_json::{Value, json};

use super::{SECRET, status_and_body};
use crate::helpers::{assert_error, spawn_app_with_tasks};

#[tokio::test]
async fn an_admin_sets_the_secret_and_nobody_ever_reads_it_back() {
    // Arrange
    let app = spawn_app_with_tasks().await;
    let (admin, viewer, operator) = app.admin_viewer_operator().await;
    let path = "/api/v1/projects/api/integrations/github";
    let before = app.get(path, Some(&viewer)).await;
    let before = status_and_body(before).await;

    // Act
    let set = app
        .send_json(Method::PUT, path, Some(&admin), &json!({ "webhookSecret": SECRET }))
        .await;
    let set_status = set.status().as_u16();
    let set_text = set.text().await.expect("the answer");
    let read = status_and_body(app.get(path, Some(&viewer)).await).await;

    // Assert
    assert_eq!(before, (200, json!({ "configured": false })));
    assert_eq!(set_status, 200, "{set_text}");
    assert!(!set_text.contains("Secret to"), "never echoed: {set_text}");
    let set_body: Value = serde_json::from_str(&set_text).expect("JSON");
    assert_eq!(set_body["configured"], true);
    assert_eq!(read.0, 200);
    assert_eq!(read.1, set_body, "readers see the same: configured and when");
    assert!(read.1["updatedAt"].is_string(), "{}", read.1);
    let denied = app
        .send_json(Method::PUT, path, Some(&operator), &json!({ "webhookSecret": SECRET }))
        .await;
    assert_error(denied, 403, "forbidden").await;
    let short = app
        .send_json(Method::PUT, path, Some(&admin), &json!({ "webhookSecret": "short" }))
        .await;
    assert!(
        assert_error(short, 400, "invalid_argument")
            .await
            .contains("webhookSecret")
    );
    let unknown_field = app
        .send_json(Method::PUT, path, Some(&admin), &json!({ "secret": SECRET }))
        .await;
    assert_eq!(unknown_field.status().as_u16(), 400);
    assert_error(app.get(path, None).await, 401, "unauthenticated").await;
    let missing = app
        .get("/api/v1/projects/nope/integrations/github", Some(&viewer))
        .await;
    assert_error(missing, 404, "not_found").await;
}
