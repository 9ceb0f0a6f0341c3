//! Deduplication: processed and ignored deliveries stay duplicates for the window; a delivery refused for its body
//! records nothing, so GitHub's redelivery of a fixed one is processed.

use std::time::Duration;

use serde_json::json;

use super::{Delivery, configured_app, eventually, fixture, github_pipeline, status_and_body};

#[tokio::test]
async fn processed_and_ignored_deliveries_stay_duplicates() {
    // Arrange
    let (app, admin) = configured_app().await;
    let run = fixture("workflow_run.completed.json");

    // Act
    let accepted = status_and_body(Delivery::signed("workflow_run", "run-1", run.clone()).send(&app).await).await;
    let ignored = status_and_body(
        Delivery::signed("ping", "ping-1", fixture("ping.json"))
            .send(&app)
            .await,
    )
    .await;
    eventually(Duration::from_secs(10), "the run tracked", || {
        github_pipeline(&app, &admin, "289782451")
    })
    .await;
    let run_again = status_and_body(Delivery::signed("workflow_run", "run-1", run).send(&app).await).await;
    let ping_again = status_and_body(
        Delivery::signed("ping", "ping-1", fixture("ping.json"))
            .send(&app)
            .await,
    )
    .await;

    // Assert
    assert_eq!(accepted, (202, json!({ "status": "accepted" })));
    assert_eq!(ignored.0, 202);
    assert_eq!(run_again, (200, json!({ "status": "duplicate" })));
    assert_eq!(ping_again, (200, json!({ "status": "duplicate" })));
}

#[tokio::test]
async fn a_delivery_refused_for_its_body_records_nothing_and_its_redelivery_is_processed() {
    // Arrange
    let (app, admin) = configured_app().await;
    let truncated = b"{\"action\": \"completed\", \"workflow_run\": ".to_vec();

    // Act
    let refused = Delivery::signed("workflow_run", "d-fixed", truncated).send(&app).await;
    let refused_status = refused.status().as_u16();
    let redelivered = status_and_body(
        Delivery::signed("workflow_run", "d-fixed", fixture("workflow_run.completed.json"))
            .send(&app)
            .await,
    )
    .await;
    let tracked = eventually(Duration::from_secs(10), "the redelivered run tracked", || async {
        github_pipeline(&app, &admin, "289782451").await
    })
    .await;

    // Assert
    assert_eq!(refused_status, 400);
    assert_eq!(redelivered, (202, json!({ "status": "accepted" })), "not a duplicate");
    assert_eq!(tracked["source"], "github");
}
