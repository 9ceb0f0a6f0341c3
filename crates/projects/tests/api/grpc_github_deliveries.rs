//! FinishGithubDelivery over gRPC: the claim VerifyGithubWebhook takes ends processed (later copies stay duplicates)
//! or failed (GitHub's redelivery is processed); only the service role finishes, and bad input names its field.

use tonic::Code;

use devopstrack_proto::projects::v1 as pb;
use pb::WebhookVerification::{Duplicate, Valid};

use crate::grpc_github::{SECRET, result, set, sign, verify};
use crate::helpers::{TestApp, assert_status, with_token};

async fn finish(
    app: &TestApp,
    token: &str,
    project: &str,
    delivery_id: &str,
    outcome: pb::DeliveryOutcome,
) -> Result<bool, tonic::Status> {
    let request = pb::FinishGithubDeliveryRequest {
        project: project.into(),
        delivery_id: delivery_id.into(),
        outcome: outcome.into(),
    };
    app.client()
        .finish_github_delivery(with_token(request, token))
        .await
        .map(|r| r.into_inner().found)
}

#[tokio::test]
async fn a_failed_delivery_is_processed_again_on_redelivery_and_a_processed_one_is_not() {
    // Arrange
    let app = crate::helpers::spawn_app().await;
    let project = app.create_sample("api").await;
    set(&mut app.client(), &app.admin, "api", SECRET).await.expect("set");
    let payload = br#"{"action":"completed","workflow_run":{"id":7}}"#;
    let signature = sign(SECRET, payload);
    let mut client = app.client();
    let mut deliver = async |id: &str| {
        let answer = verify(&mut client, &app.service, "api", id, &signature, payload).await;
        result(&answer.expect("verify"))
    };

    // Act
    let first = deliver("d-failed").await;
    let while_processing = deliver("d-failed").await;
    let released = finish(&app, &app.service, &project.id, "d-failed", pb::DeliveryOutcome::Failed).await;
    let redelivered = deliver("d-failed").await;
    let done = finish(&app, &app.service, "api", "d-failed", pb::DeliveryOutcome::Processed).await;
    let after_done = deliver("d-failed").await;
    let finished_twice = finish(&app, &app.service, "api", "d-failed", pb::DeliveryOutcome::Failed).await;

    // Assert
    assert_eq!((first, while_processing), (Valid, Duplicate));
    assert!(released.expect("release"), "the claim was found and released");
    assert_eq!(
        redelivered, Valid,
        "a released delivery is processed when GitHub redelivers it"
    );
    assert!(done.expect("finish by slug"));
    assert_eq!(after_done, Duplicate, "a processed delivery stays a duplicate");
    assert!(
        !finished_twice.expect("finish again"),
        "a finished claim is not found again"
    );
}

#[tokio::test]
async fn only_services_finish_and_bad_input_names_its_field() {
    // Arrange
    let app = crate::helpers::spawn_app().await;
    app.create_sample("api").await;
    let processed = pb::DeliveryOutcome::Processed;

    // Act and assert
    assert_status(
        finish(&app, &app.admin, "api", "d-1", processed).await,
        Code::PermissionDenied,
        "service",
    );
    assert_status(
        finish(&app, &app.service, "api", "bad id!", processed).await,
        Code::InvalidArgument,
        "deliveryId",
    );
    assert_status(
        finish(&app, &app.service, "api", "d-1", pb::DeliveryOutcome::Unspecified).await,
        Code::InvalidArgument,
        "outcome",
    );
    assert_status(
        finish(&app, &app.service, "", "d-1", processed).await,
        Code::InvalidArgument,
        "project",
    );
    let unknown_outcome = pb::FinishGithubDeliveryRequest {
        project: "api".into(),
        delivery_id: "d-1".into(),
        outcome: 42,
    };
    assert_status(
        app.client()
            .finish_github_delivery(with_token(unknown_outcome, &app.service))
            .await,
        Code::InvalidArgument,
        "outcome",
    );
    assert!(
        !finish(&app, &app.service, "missing", "d-1", processed)
            .await
            .expect("an unknown project"),
        "nothing to finish"
    );
    assert!(
        !finish(&app, &app.service, "api", "never-verified", processed)
            .await
            .expect("an unknown delivery"),
        "nothing to finish"
    );
}
