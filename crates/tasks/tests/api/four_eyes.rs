//! The chat's four eyes on CreateRun and Rollback (`asked_by`): a production deploy asked for by one person and
//! approved by another in the chat starts with its environment's gate approved by the approver and is triggered by
//! the asker. Only the gateway's service token (beside the approver's own token) may name the asker, and the approver
//! is never the asker.

use std::time::Duration;

use tonic::{Code, Request, Status};

use devopstrack_platform::auth::SERVICE_AUTHORIZATION;
use devopstrack_proto::tasks::v1 as pb;

use crate::helpers::{Options, PROJECT, TestApp, jobs, spawn_app, with_token};

const LONG: Duration = Duration::from_secs(30);

/// A request as `token`, with `service`'s token vouching in `x-service-authorization` when given.
fn vouched<T>(message: T, token: &str, service: Option<&str>) -> Request<T> {
    let mut request = with_token(message, token);
    if let Some(service) = service {
        let value = format!("Bearer {service}").parse().expect("a valid header value");
        request.metadata_mut().insert(SERVICE_AUTHORIZATION, value);
    }
    request
}

fn production_deploy(asked_by: &str, key: &str) -> pb::CreateRunRequest {
    pb::CreateRunRequest {
        project: PROJECT.into(),
        definition: "deploy".into(),
        environment: "production".into(),
        version: "2.0".into(),
        idempotency_key: key.into(),
        trigger: pb::Trigger::Chat as i32,
        asked_by: asked_by.into(),
        ..Default::default()
    }
}

impl TestApp {
    /// The subject of `token`'s user, as tasks records it (the trigger-er of a run they create).
    async fn subject_of(&self, token: &str) -> String {
        let request = pb::CreateRunRequest {
            project: PROJECT.into(),
            definition: "ci".into(),
            ..Default::default()
        };
        let created = self.client.clone().create_run(with_token(request, token)).await;
        created.expect("a ci run").into_inner().pipeline.unwrap().triggered_by
    }

    async fn four_eyes_run(
        &self,
        request: Request<pb::CreateRunRequest>,
    ) -> Result<pb::CreatePipelineResponse, Status> {
        self.client
            .clone()
            .create_run(request)
            .await
            .map(tonic::Response::into_inner)
    }
}

#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, contains: &str) {
    let status = result.expect_err("the call should have been refused");
    assert_eq!(status.code(), code, "{:?}", status.message());
    assert!(
        status.message().contains(contains),
        "{:?} should contain {contains:?}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_asked_in_the_chat_starts_with_its_gate_approved_by_the_approver() {
    // Arrange
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    app.release("2.0").await;
    let operator = app.subject_of(&app.operator).await;
    let admin = app.subject_of(&app.admin).await;
    let gateway = app.service_token().await;

    // Act: the admin approved what the operator asked for; the gateway vouches for it.
    let created = app
        .four_eyes_run(vouched(
            production_deploy(&operator, "chat-1"),
            &app.admin,
            Some(&gateway),
        ))
        .await
        .expect("the chat's four-eyes deploy")
        .pipeline
        .unwrap();

    // Assert: triggered by the asker, approved by the approver, and it runs with no second approval.
    assert_eq!(created.triggered_by, operator);
    assert_eq!(created.trigger, pb::Trigger::Chat as i32);
    let done = app
        .wait_for(&created.id, LONG, |p| p.status == pb::PipelineStatus::Succeeded as i32)
        .await;
    let last_stage = done.stages.last().expect("a deploy stage");
    assert!(!last_stage.jobs.is_empty());
    for job in &last_stage.jobs {
        assert_eq!(job.approved_by, admin, "{}", job.name);
    }
    assert!(jobs(&done).all(|j| j.approved_by != operator));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_gateway_names_the_asker_and_the_asker_never_approves_their_own_deploy() {
    // Arrange
    let app = spawn_app(Options {
        workers: 0,
        ..Options::default()
    })
    .await
    .expect("sqlite needs no server");
    app.release("2.0").await;
    let operator = app.subject_of(&app.operator).await;
    let admin = app.subject_of(&app.admin).await;
    let gateway = app.service_token().await;
    let tasks = app.service_token_of("tasks").await;

    // Act and assert: an admin alone, another service vouching, the gateway as the caller, the approver naming
    // themself, an operator approving production, and a run with no gate are all refused.
    let alone = app
        .four_eyes_run(vouched(production_deploy(&operator, "a"), &app.admin, None))
        .await;
    assert_refused(alone, Code::PermissionDenied, "askedBy: only the gateway's chat");
    let other_service = app
        .four_eyes_run(vouched(production_deploy(&operator, "b"), &app.admin, Some(&tasks)))
        .await;
    assert_refused(other_service, Code::PermissionDenied, "\"tasks\"");
    let a_user_vouching = app
        .four_eyes_run(vouched(
            production_deploy(&operator, "c"),
            &app.admin,
            Some(&app.admin2),
        ))
        .await;
    assert_refused(a_user_vouching, Code::PermissionDenied, "must carry a service token");
    let gateway_alone = app
        .four_eyes_run(vouched(production_deploy(&operator, "d"), &gateway, Some(&gateway)))
        .await;
    assert_refused(gateway_alone, Code::PermissionDenied, "not a service");
    let own = app
        .four_eyes_run(vouched(production_deploy(&admin, "e"), &app.admin, Some(&gateway)))
        .await;
    assert_refused(own, Code::PermissionDenied, "four eyes");
    let operator_approves = app
        .four_eyes_run(vouched(production_deploy(&admin, "f"), &app.operator, Some(&gateway)))
        .await;
    assert_refused(
        operator_approves,
        Code::PermissionDenied,
        "only an admin approves a production deploy",
    );
    let staging = pb::CreateRunRequest {
        environment: "staging".into(),
        ..production_deploy(&operator, "g")
    };
    let ungated = app.four_eyes_run(vouched(staging, &app.admin, Some(&gateway))).await;
    assert_refused(ungated, Code::InvalidArgument, "askedBy:");
    let rollback = pb::RollbackRequest {
        project: PROJECT.into(),
        environment: "production".into(),
        asked_by: operator.clone(),
        ..Default::default()
    };
    let rollback = app.client.clone().rollback(vouched(rollback, &app.admin, None)).await;
    assert_refused(rollback, Code::PermissionDenied, "askedBy:");

    // Nothing but the two ci runs (from `subject_of`) was created.
    let listed = app
        .client
        .clone()
        .list_pipelines(with_token(
            pb::ListPipelinesRequest {
                project: PROJECT.into(),
                ..Default::default()
            },
            &app.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.pipelines.len(), 2, "{:?}", listed.pipelines);
}
