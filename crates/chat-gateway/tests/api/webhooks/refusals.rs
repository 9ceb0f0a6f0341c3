//! Deliveries refused or ignored: signatures, headers, bodies, unknown projects, missing credentials.

use serde_json::{Value, json};

/// The route's `MAX_IN_FLIGHT_PER_SOURCE`.
const MAX_IN_FLIGHT_PER_SOURCE: u32 = 8;

use super::set_secret;
use super::{Delivery, configured_app, deliveries_counted, fixture, sign, status_and_body};
use crate::helpers::{
    GatewaySettings, assert_error, gateway_settings, peers_at, spawn_app_with_tasks, spawn_gateway, spawn_stack,
};

#[tokio::test]
async fn a_wrong_signature_is_refused_and_records_nothing() {
    // Arrange
    let (app, _admin) = configured_app().await;
    let body = fixture("workflow_run.completed.json");
    let mut forged = Delivery::signed("workflow_run", "d-1", body.clone());
    forged.signature = Some(sign("not the project's secret!", &body));
    let mut tampered = Delivery::signed("workflow_run", "d-1", body.clone());
    tampered.body = String::from_utf8(body.clone())
        .expect("UTF-8")
        .replace("success", "failure")
        .into_bytes();

    // Act
    let forged = forged.send(&app).await;
    let tampered = tampered.send(&app).await;
    let genuine = status_and_body(Delivery::signed("workflow_run", "d-1", body).send(&app).await).await;

    // Assert
    assert!(
        assert_error(forged, 401, "unauthenticated")
            .await
            .contains("X-Hub-Signature-256")
    );
    assert_error(tampered, 401, "unauthenticated").await;
    assert_eq!(
        genuine.0, 202,
        "the refused attempts did not use up the delivery id: {genuine:?}"
    );
    assert_eq!(deliveries_counted(&app, "workflow_run", "invalid_signature").await, 2);
}

#[tokio::test]
async fn missing_headers_are_refused() {
    // Arrange
    let (app, _admin) = configured_app().await;
    let body = fixture("ping.json");
    let mut unsigned = Delivery::signed("ping", "d-1", body.clone());
    unsigned.signature = None;
    let mut no_id = Delivery::signed("ping", "d-2", body.clone());
    no_id.id = None;
    let mut no_event = Delivery::signed("ping", "d-3", body.clone());
    no_event.event = None;
    let not_an_event = Delivery::signed("Workflow-Run", "d-4", body);

    // Act / Assert
    assert!(
        assert_error(unsigned.send(&app).await, 401, "unauthenticated")
            .await
            .contains("X-Hub-Signature-256")
    );
    assert!(
        assert_error(no_id.send(&app).await, 400, "invalid_argument")
            .await
            .contains("X-GitHub-Delivery")
    );
    assert!(
        assert_error(no_event.send(&app).await, 400, "invalid_argument")
            .await
            .contains("X-GitHub-Event")
    );
    assert!(
        assert_error(not_an_event.send(&app).await, 400, "invalid_argument")
            .await
            .contains("X-GitHub-Event")
    );
}

#[tokio::test]
async fn a_malformed_body_of_a_handled_event_is_a_bad_request() {
    // Arrange
    let (app, _admin) = configured_app().await;
    let not_json = Delivery::signed("workflow_run", "d-1", b"{\"action\": \"completed\", ".to_vec());
    let no_run_id = Delivery::signed(
        "workflow_run",
        "d-2",
        serde_json::to_vec(&json!({
            "action": "completed", "repository": {"full_name": "octo-org/octo-repo"},
            "workflow_run": {"name": "CI", "created_at": "2020-10-05T16:33:24Z"},
        }))
        .expect("JSON"),
    );

    // Act / Assert
    assert_error(not_json.send(&app).await, 400, "invalid_json").await;
    let message = assert_error(no_run_id.send(&app).await, 400, "invalid_argument").await;
    assert!(message.contains("workflow_run") && message.contains("id"), "{message}");
}

#[tokio::test]
async fn events_that_map_to_nothing_are_ignored_once_verified() {
    // Arrange
    let (app, _admin) = configured_app().await;
    let star = serde_json::to_vec(&json!({"action": "created", "starred_at": "2019-05-15T15:20:40Z"})).expect("JSON");
    let mut side_branch = serde_json::from_slice::<Value>(&fixture("push.default_branch.json")).expect("JSON");
    side_branch["ref"] = json!("refs/heads/feature");
    let mut unlabelled = serde_json::from_slice::<Value>(&fixture("issues.labeled.json")).expect("JSON");
    unlabelled["issue"]["labels"] = json!([{"name": "bug"}]);
    let mut forged_star = Delivery::signed("star", "d-0", star.clone());
    forged_star.signature = Some(sign("wrong secret, 16+ chars", &star));

    // Act
    let answers = [
        Delivery::signed("ping", "d-1", fixture("ping.json")),
        Delivery::signed("star", "d-2", star),
        Delivery::signed("push", "d-3", serde_json::to_vec(&side_branch).expect("JSON")),
        Delivery::signed("issues", "d-4", serde_json::to_vec(&unlabelled).expect("JSON")),
    ];
    let mut statuses = Vec::new();
    for delivery in answers {
        let (status, body) = status_and_body(delivery.send(&app).await).await;
        statuses.push((status, body["status"].clone()));
    }

    // Assert
    assert_eq!(statuses, vec![(202, json!("ignored")); 4]);
    assert_error(forged_star.send(&app).await, 401, "unauthenticated").await;
    assert_eq!(deliveries_counted(&app, "other", "ignored").await, 1);
}

#[tokio::test]
async fn a_project_without_a_secret_or_unknown_is_not_found() {
    // Arrange
    let app = spawn_app_with_tasks().await;
    let body = fixture("ping.json");
    let mut unknown = Delivery::signed("ping", "d-2", body.clone());
    unknown.project = "nope";

    // Act
    let unconfigured = Delivery::signed("ping", "d-1", body).send(&app).await;
    let unknown = unknown.send(&app).await;

    // Assert
    let first = assert_error(unconfigured, 404, "not_found").await;
    let second = assert_error(unknown, 404, "not_found").await;
    assert!(first.contains("no GitHub webhook is configured") && second.contains("no GitHub webhook is configured"));
}

#[tokio::test]
async fn a_body_over_five_mebibytes_is_too_large() {
    // Arrange
    let (app, _admin) = configured_app().await;
    let body = vec![b' '; 5 * 1024 * 1024 + 1];

    // Act
    let response = Delivery::signed("push", "d-1", body).send(&app).await;

    // Assert
    assert_error(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn the_gateway_needs_no_service_credentials_for_webhooks() {
    // Arrange: the stack, and a second gateway in front of it with no client secret.
    let (app, backends) = spawn_stack().await;
    set_secret(&app).await;
    let bare = spawn_gateway(GatewaySettings {
        peers: peers_at(&backends.auth_url),
        projects_url: backends.projects_url.clone(),
        tasks_url: backends.tasks_url.clone(),
        client_secret: None,
        ..gateway_settings()
    })
    .await;

    // Act
    let response = Delivery::signed("ping", "d-1", fixture("ping.json"))
        .send_to(&bare.http, &bare.base_url)
        .await;

    // Assert
    assert_eq!(status_and_body(response).await.0, 202);
}

#[tokio::test]
async fn a_source_with_too_many_deliveries_in_flight_is_told_to_slow_down() {
    // Arrange: deliveries whose bodies never finish arriving hold their places.
    let (app, _admin) = configured_app().await;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for n in 0..MAX_IN_FLIGHT_PER_SOURCE {
        let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
        let head = format!(
            "POST /api/v1/webhooks/github/api HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
             x-github-event: ping\r\nx-github-delivery: slow-{n}\r\nx-hub-signature-256: sha256=00\r\n\
             content-length: 1000\r\n\r\n{{"
        );
        tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes())
            .await
            .expect("send the head");
        held.push(stream);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // Act
    let refused = Delivery::signed("ping", "d-429", fixture("ping.json")).send(&app).await;
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let later = Delivery::signed("ping", "d-after", fixture("ping.json"))
        .send(&app)
        .await;

    // Assert
    assert_error(refused, 429, "rate_limited").await;
    assert_eq!(later.status().as_u16(), 202, "the places were freed");
}
