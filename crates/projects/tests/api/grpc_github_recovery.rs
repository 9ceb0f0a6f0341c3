//! ClaimStaleGithubDeliveries over gRPC, with a claim TTL of one second: a delivery verified with its event and then
//! left unfinished (the gateway died after answering GitHub) is handed out once stale, exactly as it was verified,
//! and not again once taken over or finished; only services take deliveries over, and bad input names its field.

use std::time::Duration;

use tonic::Code;

use devopstrack_proto::projects::v1 as pb;
use pb::WebhookVerification::{Duplicate, Valid};

use crate::grpc_github::{SECRET, result, set, sign};
use crate::helpers::{TestApp, assert_status, spawn_app, spawn_app_with, with_token};

/// A little longer than the one-second claim TTL of [`spawn_short_ttl`].
const PAST_THE_TTL: Duration = Duration::from_millis(1_300);

async fn spawn_short_ttl() -> TestApp {
    spawn_app_with(|settings| settings.webhook_claim_ttl_seconds = 1).await
}

/// VerifyGithubWebhook of `payload`, correctly signed, as `X-GitHub-Event: event`, for project `api`.
async fn verify_event(
    app: &TestApp,
    token: &str,
    delivery_id: &str,
    event: &str,
    payload: &[u8],
) -> Result<pb::VerifyGithubWebhookResponse, tonic::Status> {
    let request = pb::VerifyGithubWebhookRequest {
        project: "api".into(),
        delivery_id: delivery_id.into(),
        signature_header: sign(SECRET, payload),
        payload: payload.to_vec(),
        event: event.into(),
    };
    app.client()
        .verify_github_webhook(with_token(request, token))
        .await
        .map(tonic::Response::into_inner)
}

async fn claim_stale(app: &TestApp, token: &str, limit: i32) -> Result<Vec<pb::StaleGithubDelivery>, tonic::Status> {
    let request = pb::ClaimStaleGithubDeliveriesRequest { limit };
    app.client()
        .claim_stale_github_deliveries(with_token(request, token))
        .await
        .map(|r| r.into_inner().deliveries)
}

#[tokio::test]
async fn a_delivery_left_unfinished_is_handed_out_once_stale_exactly_as_verified() {
    // Arrange
    let app = spawn_short_ttl().await;
    let project = app.create_sample("api").await;
    set(&mut app.client(), &app.admin, "api", SECRET).await.expect("set");
    // Not UTF-8, so a payload kept as text would not come back the same.
    let payload = b"{\"action\":\"completed\",\"raw\":\"\xff\x00\xfe\"}".to_vec();
    let verified = verify_event(&app, &app.service, "d-1", "workflow_run", &payload).await;
    let without_event = verify_event(&app, &app.service, "d-legacy", "", b"{}").await;

    // Act
    let before_the_ttl = claim_stale(&app, &app.service, 0).await;
    tokio::time::sleep(PAST_THE_TTL).await;
    let after_the_ttl = claim_stale(&app, &app.service, 0).await;
    let at_once_again = claim_stale(&app, &app.service, 0).await;
    let redelivered = verify_event(&app, &app.service, "d-1", "workflow_run", &payload).await;
    let finish = pb::FinishGithubDeliveryRequest {
        project: project.id.clone(),
        delivery_id: "d-1".into(),
        outcome: pb::DeliveryOutcome::Processed.into(),
    };
    let finished = app
        .client()
        .finish_github_delivery(with_token(finish, &app.service))
        .await;
    tokio::time::sleep(PAST_THE_TTL).await;
    let after_finishing = claim_stale(&app, &app.service, 0).await;

    // Assert
    assert_eq!(result(&verified.expect("verify")), Valid);
    assert_eq!(result(&without_event.expect("verify without an event")), Valid);
    assert!(
        before_the_ttl.expect("claim before the TTL").is_empty(),
        "a fresh claim is still being processed"
    );
    assert_eq!(
        after_the_ttl.expect("claim after the TTL"),
        [pb::StaleGithubDelivery {
            project_id: project.id.clone(),
            project_slug: "api".into(),
            delivery_id: "d-1".into(),
            event: "workflow_run".into(),
            payload,
        }],
        "the evented delivery as verified; the one verified without an event kept nothing"
    );
    assert!(
        at_once_again.expect("claim again").is_empty(),
        "a delivery taken over is not handed out again while its new claim is fresh"
    );
    assert_eq!(
        result(&redelivered.expect("redeliver")),
        Duplicate,
        "nor claimed by a redelivery"
    );
    assert!(
        finished.expect("finish").into_inner().found,
        "the takeover's claim is finished as usual"
    );
    assert!(
        after_finishing.expect("claim after finishing").is_empty(),
        "a processed delivery is never handed out again"
    );
}

#[tokio::test]
async fn only_services_take_deliveries_over() {
    // Arrange
    let app = spawn_app().await;

    // Act and assert
    for token in [&app.admin, &app.operator, &app.viewer] {
        assert_status(claim_stale(&app, token, 0).await, Code::PermissionDenied, "service");
    }
    assert_status(claim_stale(&app, "", 0).await, Code::Unauthenticated, "");
    assert!(
        claim_stale(&app, &app.service, 0)
            .await
            .expect("a service may")
            .is_empty()
    );
}

#[tokio::test]
async fn a_bad_limit_or_event_names_its_field() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;
    set(&mut app.client(), &app.admin, "api", SECRET).await.expect("set");

    // Act and assert
    for limit in [-1, 101, i32::MAX, i32::MIN] {
        assert_status(
            claim_stale(&app, &app.service, limit).await,
            Code::InvalidArgument,
            "limit",
        );
    }
    for limit in [1, 100] {
        assert!(
            claim_stale(&app, &app.service, limit)
                .await
                .expect("a limit in range")
                .is_empty()
        );
    }
    let too_long = "a".repeat(65);
    for event in ["Push", "workflow-run", "check run", "push\n", too_long.as_str()] {
        assert_status(
            verify_event(&app, &app.service, "d-1", event, b"{}").await,
            Code::InvalidArgument,
            "event",
        );
    }
    let after_refusals = verify_event(&app, &app.service, "d-1", "push", b"{}").await;
    assert_eq!(
        result(&after_refusals.expect("verify")),
        Valid,
        "a refused event claimed nothing"
    );
}
