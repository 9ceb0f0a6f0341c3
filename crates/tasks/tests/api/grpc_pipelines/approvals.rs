//! Approval gates: a production deploy waits for an admin other than its trigger and lands in projects; an operator
//! approves or rejects a gated job elsewhere.

use std::time::Duration;

use tonic::Code;

use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::tasks::v1 as pb;

use super::LONG;
use crate::helpers::{Options, PROJECT, job, job_named, spawn_app, stage, with_token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_deploy_waits_for_an_admin_other_than_its_trigger_and_is_recorded_in_projects() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let request = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        environment: "production".into(),
        version: "2.0.0".into(),
        stages: vec![
            stage("build", vec![job("compile", 10, 0.0)]),
            stage("deploy", vec![job("rollout", 10, 0.0)]),
        ],
        ..Default::default()
    };
    let p = app.create(&app.admin, request).await.expect("create");
    let waiting = app.wait_status(&p.id, pb::PipelineStatus::WaitingApproval, LONG).await;
    let rollout = job_named(&waiting, "rollout").id.clone();
    let approve = |token: &str| {
        let mut client = app.client.clone();
        let request = with_token(
            pb::ApproveJobRequest {
                job_id: rollout.clone(),
            },
            token,
        );
        async move { client.approve_job(request).await }
    };
    let status = approve(&app.operator)
        .await
        .expect_err("operators do not approve production");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = approve(&app.admin).await.expect_err("not by who triggered it");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(status.message().contains("other than"), "{}", status.message());

    // A second admin approves.
    let approved = approve(&app.admin2).await.expect("approve").into_inner();
    assert!(!job_named(&approved, "rollout").approved_by.is_empty());
    app.wait_status(&p.id, pb::PipelineStatus::Succeeded, LONG).await;

    // The outbox records the deployment: production's current version moves.
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let project = app
            .projects
            .clone()
            .get_project(with_token(
                projects_pb::GetProjectRequest {
                    project: PROJECT.into(),
                },
                &app.viewer,
            ))
            .await
            .expect("get the project")
            .into_inner();
        let production = project
            .environments
            .iter()
            .find(|e| e.name == "production")
            .expect("production");
        if production.current_version == "2.0.0" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the deployment was not recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_approves_or_rejects_a_gated_non_production_job() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let gated = || pb::Job {
        requires_approval: true,
        ..job("gate", 10, 0.0)
    };
    let create = |stages| pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages,
        ..Default::default()
    };
    let approved = app
        .create(&app.operator, create(vec![stage("s", vec![gated()])]))
        .await
        .expect("create");
    let rejected = app
        .create(&app.operator, create(vec![stage("s", vec![gated()])]))
        .await
        .expect("create");
    for p in [&approved, &rejected] {
        assert_eq!(p.status, i32::from(pb::PipelineStatus::WaitingApproval));
    }
    let job_id = job_named(&approved, "gate").id.clone();
    let status = app
        .client
        .clone()
        .approve_job(with_token(
            pb::ApproveJobRequest { job_id: job_id.clone() },
            &app.viewer,
        ))
        .await
        .expect_err("viewers do not approve");
    assert_eq!(status.code(), Code::PermissionDenied);
    app.client
        .clone()
        .approve_job(with_token(pb::ApproveJobRequest { job_id }, &app.operator2))
        .await
        .expect("an operator approves a non-production job");
    app.wait_status(&approved.id, pb::PipelineStatus::Succeeded, LONG).await;

    let job_id = job_named(&rejected, "gate").id.clone();
    let status = app
        .client
        .clone()
        .reject_job(with_token(
            pb::RejectJobRequest {
                job_id: job_id.clone(),
                reason: String::new(),
            },
            &app.operator2,
        ))
        .await
        .expect_err("a reason is required");
    assert_eq!(status.code(), Code::InvalidArgument);
    let done = app
        .client
        .clone()
        .reject_job(with_token(
            pb::RejectJobRequest {
                job_id,
                reason: "not today".into(),
            },
            &app.operator2,
        ))
        .await
        .expect("reject")
        .into_inner();
    assert_eq!(done.status, i32::from(pb::PipelineStatus::Failed));
    let gate = job_named(&done, "gate");
    assert!(gate.exit_reason.contains("not today") && !gate.rejected_by.is_empty());
}

/// The reproduction: a protected production deploy whose last stage holds an explicit `gate` beside an
/// ungated `rollout`. Before the fix the rollout was queued at once while the gate waited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_gate_holds_the_whole_deploy_stage_of_a_protected_production_deploy() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let request = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        environment: "production".into(),
        version: "2.1.0".into(),
        stages: vec![stage(
            "deploy",
            vec![
                pb::Job {
                    requires_approval: true,
                    ..job("gate", 10, 0.0)
                },
                job("rollout", 10, 0.0),
            ],
        )],
        ..Default::default()
    };

    let created = app.create(&app.admin, request).await.expect("create");

    assert_eq!(created.status, i32::from(pb::PipelineStatus::WaitingApproval));
    for name in ["gate", "rollout"] {
        let j = job_named(&created, name);
        assert_eq!(j.status, i32::from(pb::JobStatus::WaitingApproval), "{name}");
        assert!(j.requires_approval, "{name} reads back as gated");
    }
    let approve = |token: &str| {
        let mut client = app.client.clone();
        let request = with_token(
            pb::ApproveJobRequest {
                job_id: job_named(&created, "gate").id.clone(),
            },
            token,
        );
        async move { client.approve_job(request).await }
    };
    let denied = approve(&app.admin).await.expect_err("four eyes");
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(denied.message().contains("four eyes"), "{}", denied.message());
    let approved = approve(&app.admin2).await.expect("another admin approves").into_inner();
    for name in ["gate", "rollout"] {
        let j = job_named(&approved, name);
        assert!(!j.approved_by.is_empty() && j.approved_at.is_some(), "{name}: {j:?}");
    }
    app.wait_status(&created.id, pb::PipelineStatus::Succeeded, LONG).await;
}
