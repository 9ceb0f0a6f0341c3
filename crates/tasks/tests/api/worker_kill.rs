//! Crash safety: a worker process killed with SIGKILL in the middle of a job. Its lease lapses, another worker
//! process reclaims the delivery, records the lost attempt and runs the job again; the job completes exactly once.

use std::time::Duration;

use tokio::process::Child;
use tokio_stream::StreamExt;

use devopstrack_proto::tasks::v1 as pb;

use crate::helpers::{Backend, Options, PROJECT, TestApp, job, job_named, spawn_app, stage, tasks_binary};

const LEASE_MS: u64 = 1_000;

fn spawn_worker(app: &TestApp) -> Child {
    tasks_binary(app, &["--role", "worker", "--workers", "1"], &app.database_url)
        .env("DEVOPSTRACK_TASKS__KEY_PREFIX", &app.key_prefix)
        .env("DEVOPSTRACK_TASKS__LEASE_MS", LEASE_MS.to_string())
        .spawn()
        .expect("start a worker process")
}

async fn a_killed_worker_s_job_is_reclaimed_and_completed_exactly_once(backend: Backend) {
    let Some(app) = spawn_app(Options {
        backend,
        workers: 0,
        lease_ms: LEASE_MS,
    })
    .await
    else {
        return;
    };
    let request = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![stage("deploy", vec![job("rollout", 3_000, 0.0)])],
        ..Default::default()
    };
    let p = app.create(&app.operator, request).await.expect("create");

    let mut first = spawn_worker(&app);
    let running = app
        .wait_for(&p.id, Duration::from_secs(30), |p| {
            job_named(p, "rollout").status == i32::from(pb::JobStatus::Running)
        })
        .await;
    let first_worker = job_named(&running, "rollout").worker.clone();
    assert!(!first_worker.is_empty());
    first.kill().await.expect("SIGKILL the worker");

    let _second = spawn_worker(&app);
    let done = app
        .wait_status(&p.id, pb::PipelineStatus::Succeeded, Duration::from_secs(40))
        .await;
    let rollout = job_named(&done, "rollout");
    assert_eq!(rollout.attempt, 2, "the lost attempt is followed by a new one");
    assert_ne!(rollout.worker, first_worker, "another worker finished it");

    // Exactly once: one `succeeded` transition for the job in the whole event history.
    let after = if backend == Backend::Redis { "0-0" } else { "0" };
    let watch = pb::WatchEventsRequest {
        pipeline_id: p.id.clone(),
        after_event_id: after.into(),
        ..Default::default()
    };
    let mut events = app.watch(watch).await;
    let (mut running_events, mut succeeded_events) = (0, 0);
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("the history arrives")
            .expect("the stream stays open")
            .expect("an event");
        if let Some(job) = event.job {
            running_events += usize::from(job.status == i32::from(pb::JobStatus::Running));
            succeeded_events += usize::from(job.status == i32::from(pb::JobStatus::Succeeded));
        }
        let pipeline = event.pipeline.expect("a pipeline");
        if event.r#type == i32::from(pb::EventType::PipelineUpdated)
            && pipeline.status == i32::from(pb::PipelineStatus::Succeeded)
        {
            break;
        }
    }
    assert_eq!(
        running_events, 2,
        "started twice: the killed attempt and the reclaimed one"
    );
    assert_eq!(succeeded_events, 1, "completed exactly once");
}

on_both_backends!(
    a_killed_worker_s_job_is_reclaimed_and_completed_exactly_once =>
    a_killed_worker_s_job_is_reclaimed_on_sqlite,
    a_killed_worker_s_job_is_reclaimed_on_redis
);
