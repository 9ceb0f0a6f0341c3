//! Pipelines that do not simply succeed: cancelled while running, failing through their retries with backoff (and
//! resumed by RetryJob), and timing out.

use std::time::Duration;

use tonic::Code;

use devopstrack_proto::tasks::v1 as pb;

use super::LONG;
use crate::helpers::{Options, PROJECT, job, job_named, jobs, spawn_app, stage, with_token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_running_and_queued_jobs() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let request = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![
            stage("build", vec![job("slow", 60_000, 0.0)]),
            stage("after", vec![job("next", 1, 0.0)]),
        ],
        ..Default::default()
    };
    let p = app.create(&app.operator, request).await.expect("create");
    app.wait_for(&p.id, LONG, |p| {
        job_named(p, "slow").status == i32::from(pb::JobStatus::Running)
    })
    .await;
    let status = app
        .client
        .clone()
        .cancel_pipeline(with_token(pb::CancelPipelineRequest { id: p.id.clone() }, &app.viewer))
        .await
        .expect_err("viewers do not cancel");
    assert_eq!(status.code(), Code::PermissionDenied);
    app.client
        .clone()
        .cancel_pipeline(with_token(
            pb::CancelPipelineRequest { id: p.id.clone() },
            &app.operator,
        ))
        .await
        .expect("cancel");
    let done = app
        .wait_for(&p.id, Duration::from_secs(10), |p| {
            jobs(p).all(|j| j.status == i32::from(pb::JobStatus::Cancelled))
        })
        .await;
    assert_eq!(done.status, i32::from(pb::PipelineStatus::Cancelled));
    assert!(!done.cancelled_by.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_with_backoff_then_fail_the_pipeline_and_retry_job_resumes_it() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let flaky = pb::Job {
        retry: Some(pb::RetryPolicy {
            max_attempts: 2,
            initial_backoff_ms: 100,
            max_backoff_ms: 100,
        }),
        ..job("flaky", 10, 1.0)
    };
    let request = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![stage("build", vec![flaky]), stage("after", vec![job("next", 1, 0.0)])],
        ..Default::default()
    };
    let p = app.create(&app.operator, request).await.expect("create");
    let failed = app.wait_status(&p.id, pb::PipelineStatus::Failed, LONG).await;
    let flaky = job_named(&failed, "flaky");
    assert_eq!(flaky.attempt, 2, "one retry after the first failure");
    assert_eq!(flaky.status, i32::from(pb::JobStatus::Failed));
    assert_eq!(job_named(&failed, "next").status, i32::from(pb::JobStatus::Cancelled));

    let resumed = app
        .client
        .clone()
        .retry_job(with_token(
            pb::RetryJobRequest {
                job_id: flaky.id.clone(),
            },
            &app.operator,
        ))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(job_named(&resumed, "flaky").attempt, 3);
    assert_ne!(resumed.status, i32::from(pb::PipelineStatus::Failed));
    let failed_again = app.wait_status(&p.id, pb::PipelineStatus::Failed, LONG).await;
    assert_eq!(
        job_named(&failed_again, "flaky").attempt,
        3,
        "a manual retry is one attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_runs_too_long_times_out() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let slow = pb::Job {
        timeout_s: 1,
        ..job("slow", 30_000, 0.0)
    };
    let request = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![stage("build", vec![slow])],
        ..Default::default()
    };
    let p = app.create(&app.operator, request).await.expect("create");
    let failed = app.wait_status(&p.id, pb::PipelineStatus::Failed, LONG).await;
    assert_eq!(job_named(&failed, "slow").status, i32::from(pb::JobStatus::TimedOut));
}
