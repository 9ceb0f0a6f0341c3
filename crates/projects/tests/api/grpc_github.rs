//! SetGithubIntegration, GetGithubIntegration and VerifyGithubWebhook over gRPC: roles, the secret never answered
//! back nor stored in clear, signatures checked, replays caught, and a changed key failing closed.

use std::net::SocketAddr;

use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;
use sqlx::Row;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic::transport::Channel;

use devopstrack_proto::projects::v1 as pb;
use devopstrack_proto::projects::v1::project_service_client::ProjectServiceClient;
use pb::WebhookVerification::{InvalidSignature, NotConfigured, Valid};

use crate::helpers::{TestApp, assert_status, spawn_app, with_token};

pub const SECRET: &str = "It's a Secret to Everybody";

pub fn sign(secret: &str, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(payload);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub async fn set(
    client: &mut ProjectServiceClient<Channel>,
    token: &str,
    project: &str,
    secret: &str,
) -> Result<pb::GithubIntegration, tonic::Status> {
    let request = pb::SetGithubIntegrationRequest {
        project: project.into(),
        webhook_secret: secret.into(),
    };
    client
        .set_github_integration(with_token(request, token))
        .await
        .map(tonic::Response::into_inner)
}

async fn get(app: &TestApp, token: &str, project: &str) -> Result<pb::GithubIntegration, tonic::Status> {
    let request = pb::GetGithubIntegrationRequest {
        project: project.into(),
    };
    app.client()
        .get_github_integration(with_token(request, token))
        .await
        .map(tonic::Response::into_inner)
}

/// VerifyGithubWebhook as a caller that predates `event` sends it (so nothing is kept with the claim); see
/// `grpc_github_recovery` for one with an event.
pub async fn verify(
    client: &mut ProjectServiceClient<Channel>,
    token: &str,
    project: &str,
    delivery_id: &str,
    signature: &str,
    payload: &[u8],
) -> Result<pb::VerifyGithubWebhookResponse, tonic::Status> {
    let request = pb::VerifyGithubWebhookRequest {
        project: project.into(),
        delivery_id: delivery_id.into(),
        signature_header: signature.into(),
        payload: payload.to_vec(),
        event: String::new(),
    };
    client
        .verify_github_webhook(with_token(request, token))
        .await
        .map(tonic::Response::into_inner)
}

pub fn result(response: &pb::VerifyGithubWebhookResponse) -> pb::WebhookVerification {
    pb::WebhookVerification::try_from(response.result).expect("a known result")
}

#[tokio::test]
async fn an_admin_sets_the_secret_and_readers_see_only_that_it_is_configured() {
    // Arrange
    let app = spawn_app().await;
    let project = app.create_sample("api").await;
    let before = get(&app, &app.viewer, "api").await.expect("get before");

    // Act
    let set_answer = set(&mut app.client(), &app.admin, "api", SECRET).await.expect("set");
    let read = get(&app, &app.viewer, &project.id).await.expect("get as viewer");

    // Assert
    assert!(!before.configured && before.updated_at.is_none(), "{before:?}");
    assert!(
        set_answer.configured && set_answer.updated_at.is_some(),
        "{set_answer:?}"
    );
    assert_eq!(
        (read.project_id.as_str(), read.project_slug.as_str()),
        (project.id.as_str(), "api")
    );
    assert_eq!((read.configured, read.updated_at), (true, set_answer.updated_at));
    assert!(
        !format!("{set_answer:?}{read:?}").contains("Secret to"),
        "never answered back"
    );
}

#[tokio::test]
async fn only_an_admin_sets_it_and_only_a_valid_secret() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;
    let mut client = app.client();

    // Act / Assert
    assert_status(
        set(&mut client, &app.operator, "api", SECRET).await,
        Code::PermissionDenied,
        "admin",
    );
    assert_status(
        set(&mut client, &app.service, "api", SECRET).await,
        Code::PermissionDenied,
        "admin",
    );
    assert_status(set(&mut client, "", "api", SECRET).await, Code::Unauthenticated, "");
    assert_status(
        set(&mut client, &app.admin, "api", "short").await,
        Code::InvalidArgument,
        "webhookSecret",
    );
    assert_status(
        set(&mut client, &app.admin, "api", "sixteen chars\u{7}ok").await,
        Code::InvalidArgument,
        "webhookSecret",
    );
    assert_status(
        set(&mut client, &app.admin, "nope", SECRET).await,
        Code::NotFound,
        "nope",
    );
    assert_status(get(&app, "", "api").await, Code::Unauthenticated, "");
}

#[tokio::test]
async fn a_signed_delivery_is_valid_every_time_and_nothing_is_recorded() {
    // Arrange
    let app = spawn_app().await;
    let project = app.create_sample("api").await;
    set(&mut app.client(), &app.admin, "api", SECRET).await.expect("set");
    let payload = br#"{"action":"completed","workflow_run":{"id":1}}"#;
    let signature = sign(SECRET, payload);
    let mut client = app.client();

    // Act
    let first = verify(&mut client, &app.service, "api", "d-1", &signature, payload)
        .await
        .expect("first");
    let replay = verify(&mut client, &app.service, "api", "d-1", &signature, payload)
        .await
        .expect("replay");
    let by_id = verify(&mut client, &app.service, &project.id, "d-2", &signature, payload)
        .await
        .expect("by id");

    // Assert
    assert_eq!((result(&first), first.project_slug.as_str()), (Valid, "api"));
    assert_eq!(first.project_id, project.id);
    assert_eq!(result(&replay), Valid, "deduplicating is tasks' inbox's job");
    assert_eq!(result(&by_id), Valid);
}

#[tokio::test]
async fn a_bad_signature_is_invalid_and_records_nothing() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;
    set(&mut app.client(), &app.admin, "api", SECRET).await.expect("set");
    let payload = b"{\"zen\":\"Design for failure.\"}";
    let mut client = app.client();

    // Act
    let mut answers = Vec::new();
    for signature in [
        sign("another secret, same length!", payload),
        sign(SECRET, b"{\"zen\":\"Design for failure!\"}"),
        String::new(),
        "sha256=not-hex".into(),
        sign(SECRET, payload).replace("sha256=", "sha1="),
    ] {
        let answer = verify(&mut client, &app.service, "api", "d-1", &signature, payload).await;
        answers.push(result(&answer.expect("verify")));
    }
    let good = verify(&mut client, &app.service, "api", "d-1", &sign(SECRET, payload), payload).await;

    // Assert
    assert_eq!(answers, vec![InvalidSignature; 5]);
    assert_eq!(
        result(&good.expect("verify")),
        Valid,
        "the failed attempts recorded nothing"
    );
}

#[tokio::test]
async fn an_unknown_or_unconfigured_project_is_not_configured_and_only_services_verify() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("bare").await;
    app.create_sample("api").await;
    set(&mut app.client(), &app.admin, "api", SECRET).await.expect("set");
    let payload = b"{}";
    let signature = sign(SECRET, payload);
    let mut client = app.client();

    // Act
    let bare = verify(&mut client, &app.service, "bare", "d-1", &signature, payload)
        .await
        .expect("bare");
    let missing = verify(&mut client, &app.service, "missing", "d-1", &signature, payload)
        .await
        .expect("missing");
    let garbage = verify(&mut client, &app.service, "Not A Slug!", "d-1", &signature, payload)
        .await
        .expect("garbage");

    // Assert
    for answer in [&bare, &missing, &garbage] {
        assert_eq!(result(answer), NotConfigured);
        assert!(
            answer.project_id.is_empty() && answer.project_slug.is_empty(),
            "{answer:?}"
        );
    }
    assert_status(
        verify(&mut client, &app.admin, "api", "d-1", &signature, payload).await,
        Code::PermissionDenied,
        "service",
    );
    assert_status(
        verify(&mut client, &app.service, "api", "bad id!", &signature, payload).await,
        Code::InvalidArgument,
        "deliveryId",
    );
}

#[tokio::test]
async fn a_five_mebibyte_payload_is_verified() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;
    set(&mut app.client(), &app.admin, "api", SECRET).await.expect("set");
    let payload = vec![b'x'; 5 * 1024 * 1024];

    // Act
    let answer = verify(
        &mut app.client(),
        &app.service,
        "api",
        "big",
        &sign(SECRET, &payload),
        &payload,
    )
    .await;

    // Assert
    assert_eq!(result(&answer.expect("verify a large payload")), Valid);
}

#[tokio::test]
async fn the_database_holds_ciphertext_not_the_secret() {
    // Arrange
    let app = spawn_app().await;
    let project = app.create_sample("api").await;

    // Act
    set(&mut app.client(), &app.admin, "api", SECRET).await.expect("set");

    // Assert
    let pool = sqlx::SqlitePool::connect(&app.database_url)
        .await
        .expect("open the database");
    let row = sqlx::query("SELECT sealed_secret FROM github_integrations WHERE project_id = ?1")
        .bind(&project.id)
        .fetch_one(&pool)
        .await
        .expect("the stored integration");
    let sealed: Vec<u8> = row.get("sealed_secret");
    assert_eq!(
        sealed.len(),
        1 + 24 + SECRET.len() + 16,
        "format, nonce, ciphertext, tag"
    );
    assert!(!sealed.windows(6).any(|w| w == b"Secret"), "no plaintext in {sealed:?}");
}

/// A second projects service on the same database, with `secrets_key` (auth's keys still verify its callers).
async fn projects_with_key(app: &TestApp, key: Option<&str>) -> (ProjectServiceClient<Channel>, CancellationToken) {
    let settings = devopstrack_projects::config::Settings {
        grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: app.database_url.clone(),
        peers: devopstrack_peers::ServiceSettings {
            auth_url: app.auth_url.clone(),
            ..Default::default()
        },
        secrets_key: key.map(|k| SecretString::from(k.to_owned())),
        ..devopstrack_projects::config::Settings::default()
    };
    let projects = devopstrack_projects::startup::Application::build(&settings)
        .await
        .expect("build a second projects service");
    let url = format!("http://127.0.0.1:{}", projects.grpc_port());
    let shutdown = CancellationToken::new();
    tokio::spawn(projects.run_until_stopped(shutdown.clone()));
    let client = ProjectServiceClient::connect(url).await.expect("connect");
    (client, shutdown)
}

#[tokio::test]
async fn a_changed_key_fails_closed_and_no_key_refuses_to_store() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;
    set(&mut app.client(), &app.admin, "api", SECRET).await.expect("set");
    let (mut other_key, stop_other) =
        projects_with_key(&app, Some("//////////////////////////////////////////8=")).await;
    let (mut no_key, stop_none) = projects_with_key(&app, None).await;
    let payload = b"{}";
    let signature = sign(SECRET, payload);

    // Act
    let with_other_key = verify(&mut other_key, &app.service, "api", "d-1", &signature, payload).await;
    let without_key = verify(&mut no_key, &app.service, "api", "d-1", &signature, payload).await;
    let set_without_key = set(&mut no_key, &app.admin, "api", SECRET).await;

    // Assert
    assert_status(
        with_other_key,
        Code::FailedPrecondition,
        "DEVOPSTRACK_PROJECTS__SECRETS_KEY",
    );
    assert_status(
        without_key,
        Code::FailedPrecondition,
        "DEVOPSTRACK_PROJECTS__SECRETS_KEY",
    );
    assert_status(
        set_without_key,
        Code::FailedPrecondition,
        "DEVOPSTRACK_PROJECTS__SECRETS_KEY",
    );
    let still = verify(&mut app.client(), &app.service, "api", "d-1", &signature, payload).await;
    assert_eq!(
        result(&still.expect("verify")),
        Valid,
        "nothing was recorded by the refusals"
    );
    stop_other.cancel();
    stop_none.cancel();
}
