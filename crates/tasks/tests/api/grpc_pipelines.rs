//! The tasks service end to end over gRPC: real auth, projects and tasks, in-process workers running simulate jobs.

//!
//! This file runs a three-stage pipeline to the end while watching it; the other cases live in the submodules.

mod approvals;
mod failures;
mod hooks;
mod requests;

use std::time::Duration;

use tokio_stream::StreamExt;

use devopstrack_proto::tasks::v1 as pb;

use crate::helpers::{Backend, Options, PROJECT, job_named, jobs, spawn_app, three_stages, with_token};

const LONG: Duration = Duration::from_secs(20);

async fn a_three_stage_pipeline_runs_to_the_end_and_is_watched_live(backend: Backend) {
    let Some(app) = spawn_app(Options::on(backend)).await else {
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
    let mut events = app.watch(watch).await;
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
        .list(pb::ListPipelinesRequest {
            project: PROJECT.into(),
            status: pb::PipelineStatus::Succeeded.into(),
            ..Default::default()
        })
        .await;
    assert_eq!(listed.pipelines.len(), 1);
    assert_eq!(listed.pipelines[0].id, created.id);
}

on_both_backends!(
    a_three_stage_pipeline_runs_to_the_end_and_is_watched_live =>
    a_three_stage_pipeline_runs_to_the_end_on_sqlite,
    a_three_stage_pipeline_runs_to_the_end_on_redis
);
