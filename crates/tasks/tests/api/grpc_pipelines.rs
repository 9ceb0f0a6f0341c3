//! The tasks service end to end over gRPC: real auth, projects and tasks, in-process workers running simulate jobs.

use std::time::Duration;

use tokio_stream::StreamExt;
use tonic::Code;

use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::tasks::v1 as pb;

use crate::helpers::{Backend, Options, PROJECT, job, job_named, jobs, spawn_app, stage, three_stages, with_token};

const LONG: Duration = Duration::from_secs(20);

async fn a_three_stage_pipeline_runs_to_the_end_and_is_watched_live(backend: Backend) {
    let Some(app) = spawn_app(Options {
        backend,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let request = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: three_stages(100),
        ..Default::default()
    };
    let created = app.create(&app.operator, request).await.expect("create");
    assert_eq!(created.status, i32::from(pb::PipelineStatus::Queued));
    assert_eq!(job_named(&created, "compile").status, i32::from(pb::JobStatus::Queued));
    assert_eq!(job_named(&created, "unit").status, i32::from(pb::JobStatus::Pending));

    // Resume from before the creation: history first, then live, with nothing missed.
    let watch = pb::WatchEventsRequest {
        pipeline_id: created.id.clone(),
        after_event_id: "0".into(),
        include_logs: true,
        ..Default::default()
    };
    let watch = if backend == Backend::Redis {
        pb::WatchEventsRequest {
            after_event_id: "0-0".into(),
            ..watch
        }
    } else {
        watch
    };
    let mut events = app
        .client
        .clone()
        .watch_events(with_token(watch, &app.viewer))
        .await
        .expect("watch")
        .into_inner();
    let mut succeeded_jobs = Vec::new();
    let mut log_lines = 0;
    let mut last_id = String::new();
    let finished = tokio::time::timeout(LONG, async {
        while let Some(event) = events.next().await {
            let event = event.expect("an event");
            assert!(event.id > last_id || event.id.len() > last_id.len(), "ids increase");
            last_id = event.id.clone();
            let pipeline = event.pipeline.as_ref().expect("every event carries the pipeline");
            assert_eq!(pipeline.id, created.id);
            match pb::EventType::try_from(event.r#type) {
                Ok(pb::EventType::JobUpdated) => {
                    let job = event.job.expect("a job event carries the job");
                    if job.status == i32::from(pb::JobStatus::Succeeded) {
                        succeeded_jobs.push(job.name);
                    }
                }
                Ok(pb::EventType::JobLog) => log_lines += event.log_lines.len(),
                Ok(pb::EventType::PipelineUpdated) => {
                    if pipeline.status == i32::from(pb::PipelineStatus::Succeeded) {
                        return;
                    }
                }
                _ => panic!("unexpected event type {}", event.r#type),
            }
        }
        panic!("the event stream ended early");
    })
    .await;
    assert!(finished.is_ok(), "the pipeline did not succeed in time");
    succeeded_jobs.sort();
    assert_eq!(succeeded_jobs, ["compile", "lint", "rollout", "unit"]);
    assert_eq!(log_lines, 4 * 3, "three log lines per job");

    let done = app.get(&created.id).await;
    assert_eq!(done.status, i32::from(pb::PipelineStatus::Succeeded));
    assert!(jobs(&done).all(|j| j.status == i32::from(pb::JobStatus::Succeeded) && j.attempt == 1));
    assert!(done.finished_at.is_some() && done.started_at.is_some());

    let compile = job_named(&done, "compile").id.clone();
    let log = app
        .client
        .clone()
        .get_job_log(with_token(
            pb::GetJobLogRequest {
                job_id: compile,
                ..Default::default()
            },
            &app.viewer,
        ))
        .await
        .expect("read the log")
        .into_inner();
    assert_eq!(log.lines.len(), 3);
    assert!(log.eof);
    assert_eq!(log.next_offset, 3);

    let listed = app
        .client
        .clone()
        .list_pipelines(with_token(
            pb::ListPipelinesRequest {
                project: PROJECT.into(),
                status: pb::PipelineStatus::Succeeded.into(),
                ..Default::default()
            },
            &app.viewer,
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.pipelines.len(), 1);
    assert_eq!(listed.pipelines[0].id, created.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_stage_pipeline_runs_to_the_end_on_sqlite() {
    a_three_stage_pipeline_runs_to_the_end_and_is_watched_live(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_stage_pipeline_runs_to_the_end_on_redis() {
    a_three_stage_pipeline_runs_to_the_end_and_is_watched_live(Backend::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_is_idempotent_by_key() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let request = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![stage("build", vec![job("compile", 10, 0.0)])],
        idempotency_key: "deploy-42".into(),
        ..Default::default()
    };
    let mut client = app.client.clone();
    let first = client
        .create_pipeline(with_token(request.clone(), &app.operator))
        .await
        .expect("create")
        .into_inner();
    let second = client
        .create_pipeline(with_token(request, &app.operator))
        .await
        .expect("create again")
        .into_inner();
    assert!(first.created && !second.created);
    assert_eq!(
        first.pipeline.expect("a pipeline").id,
        second.pipeline.expect("a pipeline").id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_the_right_code_and_field() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let base = || pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![stage("build", vec![job("compile", 10, 0.0)])],
        ..Default::default()
    };
    let too_many_stages = (0..21)
        .map(|i| stage(&format!("s{i}"), vec![job("j", 1, 0.0)]))
        .collect();
    let too_many_jobs = vec![stage("big", (0..51).map(|i| job(&format!("j{i}"), 1, 0.0)).collect())];
    let cases: Vec<(pb::CreatePipelineRequest, Code, &str)> = vec![
        (
            pb::CreatePipelineRequest {
                stages: vec![],
                ..base()
            },
            Code::InvalidArgument,
            "stages",
        ),
        (
            pb::CreatePipelineRequest {
                stages: too_many_stages,
                ..base()
            },
            Code::InvalidArgument,
            "stages",
        ),
        (
            pb::CreatePipelineRequest {
                stages: too_many_jobs,
                ..base()
            },
            Code::InvalidArgument,
            "stages[0].jobs",
        ),
        (
            pb::CreatePipelineRequest {
                stages: vec![stage(
                    "build",
                    vec![pb::Job {
                        executor: 9,
                        ..job("x", 1, 0.0)
                    }],
                )],
                ..base()
            },
            Code::InvalidArgument,
            "stages[0].jobs[0].executor",
        ),
        (
            pb::CreatePipelineRequest {
                stages: vec![stage("Build!", vec![job("x", 1, 0.0)])],
                ..base()
            },
            Code::InvalidArgument,
            "stages[0].name",
        ),
        (
            pb::CreatePipelineRequest {
                stages: vec![stage("b", vec![job("x", 1, 2.0)])],
                ..base()
            },
            Code::InvalidArgument,
            "stages[0].jobs[0].params.failRate",
        ),
        (
            pb::CreatePipelineRequest {
                environment: "staging".into(),
                ..base()
            },
            Code::InvalidArgument,
            "version",
        ),
        (
            pb::CreatePipelineRequest {
                idempotency_key: "no spaces".into(),
                ..base()
            },
            Code::InvalidArgument,
            "idempotencyKey",
        ),
        (
            pb::CreatePipelineRequest {
                project: "nope".into(),
                ..base()
            },
            Code::NotFound,
            "project",
        ),
        (
            pb::CreatePipelineRequest {
                environment: "qa".into(),
                version: "1.0".into(),
                ..base()
            },
            Code::NotFound,
            "environment",
        ),
    ];
    for (request, code, field) in cases {
        let status = app.create(&app.operator, request).await.expect_err("refused");
        assert_eq!(status.code(), code, "{field}: {}", status.message());
        assert!(status.message().starts_with(field), "{field}: {}", status.message());
    }
    let status = app
        .create(&app.viewer, base())
        .await
        .expect_err("viewers do not create");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = app
        .client
        .clone()
        .create_pipeline(base())
        .await
        .expect_err("anonymous callers do not create");
    assert_eq!(status.code(), Code::Unauthenticated);
    for bad in ["", "not-a-uuid"] {
        let status = app
            .client
            .clone()
            .get_pipeline(with_token(pb::GetPipelineRequest { id: bad.into() }, &app.viewer))
            .await
            .expect_err("a bad id");
        assert_eq!(status.code(), Code::InvalidArgument);
    }
}

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
