//! Deliveries whose processing died with a gateway: the test plays a gateway that verified a delivery (claiming it in
//! projects, with its event and payload) and died before finishing it, by calling projects' VerifyGithubWebhook as
//! the gateway does and never finishing; with projects' claim TTL at 1 s, the running gateway's recovery loop takes
//! the claim over and processes it like a delivery it received. A second gateway whose processing is stuck shows that
//! the route keeps the event with the claim. (The loop's survival of errors is unit-tested in
//! `src/webhooks/recovery.rs`.)

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;

use devopstrack_proto::auth::v1 as auth_pb;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;
use devopstrack_proto::projects::v1 as pb;
use devopstrack_proto::projects::v1::project_service_client::ProjectServiceClient;

use super::{Delivery, SECRET, counter, eventually, fixture, github_pipeline, set_secret, sign, status_and_body};
use crate::helpers::{
    Backends, GatewaySettings, PROJECT, SERVICE_SECRET, StackOptions, TestApp, gateway_settings, peers_at,
    spawn_gateway, spawn_stack,
};

const RECOVERED: &str = "devopstrack_webhook_recovered_total ";
const FINISHED: &str = "devopstrack_webhook_actions_total{action=\"projects.FinishGithubDelivery\",result=\"done\"}";
/// Projects' claim TTL in these tests.
const CLAIM_TTL: Duration = Duration::from_secs(1);

/// The stack with a claim TTL of [`CLAIM_TTL`] and recovery every 200 ms, [`SECRET`] set; the admin's token.
async fn recovering_app() -> (TestApp, Backends, String) {
    let (app, backends) = spawn_stack(StackOptions {
        claim_ttl_seconds: Some(CLAIM_TTL.as_secs()),
        recovery_interval_ms: Some(200),
    })
    .await;
    let admin = set_secret(&app).await;
    (app, backends, admin)
}

/// What a gateway does before its 202, and nothing after: VerifyGithubWebhook with a `service` token.
async fn verify_and_die(backends: &Backends, delivery_id: &str, event: &str, body: &[u8]) -> pb::WebhookVerification {
    let grant = AuthServiceClient::connect(backends.auth_url.clone())
        .await
        .expect("connect to auth")
        .issue_service_token(auth_pb::IssueServiceTokenRequest {
            client_id: "gateway".into(),
            client_secret: SERVICE_SECRET.into(),
        })
        .await
        .expect("a service token")
        .into_inner();
    let mut request = tonic::Request::new(pb::VerifyGithubWebhookRequest {
        project: PROJECT.into(),
        delivery_id: delivery_id.into(),
        signature_header: sign(SECRET, body),
        payload: body.to_vec(),
        event: event.into(),
    });
    let bearer = format!("Bearer {}", grant.access_token)
        .parse()
        .expect("ASCII metadata");
    request.metadata_mut().insert("authorization", bearer);
    let answer = ProjectServiceClient::connect(backends.projects_url.clone())
        .await
        .expect("connect to projects")
        .verify_github_webhook(request)
        .await
        .expect("VerifyGithubWebhook")
        .into_inner();
    pb::WebhookVerification::try_from(answer.result).expect("a known verification result")
}

async fn finished(app: &TestApp, n: u64) {
    eventually(Duration::from_secs(15), "the taken-over delivery finished", || async {
        (counter(app, FINISHED).await >= n).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_delivery_whose_gateway_died_after_verifying_is_taken_over_processed_and_finished() {
    // Arrange
    let (app, backends, admin) = recovering_app().await;
    let run = fixture("workflow_run.completed.json");

    // Act
    let verified = verify_and_die(&backends, "died-1", "workflow_run", &run).await;
    let pipeline = eventually(Duration::from_secs(15), "the run tracked by recovery", || {
        github_pipeline(&app, &admin, "289782451")
    })
    .await;
    finished(&app, 1).await;
    // Past the TTL (several recovery ticks): a claim left unfinished would be taken over again, and a redelivery
    // of a claim released (failed) would be accepted.
    tokio::time::sleep(CLAIM_TTL + Duration::from_millis(600)).await;
    let redelivered = status_and_body(Delivery::signed("workflow_run", "died-1", run).send(&app).await).await;

    // Assert
    assert_eq!(verified, pb::WebhookVerification::Valid);
    assert_eq!(pipeline["project"], PROJECT);
    assert_eq!(pipeline["source"], "github");
    assert_eq!(pipeline["status"], "succeeded");
    assert_eq!(
        redelivered,
        (200, json!({ "status": "duplicate" })),
        "the claim ended processed"
    );
    assert_eq!(counter(&app, RECOVERED).await, 1, "taken over once");
    assert_eq!(
        counter(
            &app,
            "devopstrack_webhook_deliveries_total{event=\"workflow_run\",result=\"accepted\"}"
        )
        .await,
        0,
        "recovery is not counted as an answer of the intake"
    );
}

#[tokio::test]
async fn a_taken_over_delivery_that_cannot_be_mapped_is_released_for_redelivery() {
    // Arrange
    let (app, backends, admin) = recovering_app().await;
    let truncated = b"{\"action\": \"completed\", \"workflow_run\": ".to_vec();

    // Act
    let verified = verify_and_die(&backends, "died-2", "workflow_run", &truncated).await;
    finished(&app, 1).await;
    let redelivered = status_and_body(
        Delivery::signed("workflow_run", "died-2", fixture("workflow_run.completed.json"))
            .send(&app)
            .await,
    )
    .await;
    let tracked = eventually(Duration::from_secs(15), "the redelivered run tracked", || {
        github_pipeline(&app, &admin, "289782451")
    })
    .await;

    // Assert
    assert_eq!(verified, pb::WebhookVerification::Valid);
    assert_eq!(
        redelivered,
        (202, json!({ "status": "accepted" })),
        "released, not a duplicate"
    );
    assert_eq!(tracked["source"], "github");
    assert_eq!(counter(&app, RECOVERED).await, 1);
}

#[tokio::test]
async fn a_delivery_stuck_in_another_gateway_is_taken_over_with_the_event_its_route_kept() {
    // Arrange: a second gateway on the same projects whose tasks and metrics are unreachable, so its processor is
    // still retrying (about 25 s) when the claim goes stale.
    let (app, backends, admin) = recovering_app().await;
    let unreachable = "http://127.0.0.1:1".to_owned();
    let stuck = spawn_gateway(GatewaySettings {
        peers: peers_at(&backends.auth_url),
        projects_url: backends.projects_url.clone(),
        tasks_url: unreachable.clone(),
        metrics_url: unreachable,
        client_secret: Some(SecretString::from(SERVICE_SECRET)),
        webhook_recovery_interval_ms: 600_000,
        ..gateway_settings()
    })
    .await;

    // Act
    let accepted = status_and_body(
        Delivery::signed("workflow_run", "stuck-1", fixture("workflow_run.completed.json"))
            .send_to(&stuck.http, &stuck.base_url)
            .await,
    )
    .await;
    let pipeline = eventually(Duration::from_secs(15), "the run tracked by the other gateway", || {
        github_pipeline(&app, &admin, "289782451")
    })
    .await;

    // Assert
    assert_eq!(accepted, (202, json!({ "status": "accepted" })));
    assert_eq!(pipeline["status"], "succeeded", "mapped as a workflow_run");
    assert_eq!(counter(&app, RECOVERED).await, 1);
}

#[tokio::test]
async fn a_taken_over_delivery_larger_than_tonics_default_answer_limit_is_processed() {
    // Arrange: the fixture padded with JSON whitespace past 4 MiB (tonic's default limit on an answer), within the
    // 5 MiB the route takes.
    let (app, backends, admin) = recovering_app().await;
    let mut run = fixture("workflow_run.completed.json");
    run.extend(std::iter::repeat_n(b' ', 9 * 512 * 1024));

    // Act
    let verified = verify_and_die(&backends, "died-large", "workflow_run", &run).await;
    let pipeline = eventually(Duration::from_secs(15), "the large run tracked by recovery", || {
        github_pipeline(&app, &admin, "289782451")
    })
    .await;

    // Assert
    assert_eq!(verified, pb::WebhookVerification::Valid);
    assert_eq!(pipeline["status"], "succeeded");
    assert_eq!(counter(&app, RECOVERED).await, 1);
}
