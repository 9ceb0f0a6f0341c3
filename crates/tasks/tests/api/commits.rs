//! Pipelines carry the commit they build or deploy: CreatePipeline and TrackExternalRun store it (the sha in lower
//! case, with its time when given), every read shows it, a finished deploy reports it to projects, and a bad one is
//! INVALID_ARGUMENT naming the field.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use prost_types::Timestamp;
use tonic::Code;

use devopstrack_proto::tasks::v1 as pb;

use crate::external_runs::{delivery, gh_job};
use crate::helpers::{Backend, Options, PROJECT, TestApp, job, spawn_app, stage};

const LONG: Duration = Duration::from_secs(20);
/// A SHA-1 as a client may send it, in upper case.
const SHA: &str = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B";
const STORED_SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";

fn committed() -> Option<Timestamp> {
    Some(Timestamp {
        seconds: 1_750_000_000,
        nanos: 250_000_000,
    })
}

/// `offset` from now, as a proto timestamp.
fn from_now(offset: TimeDelta) -> Option<Timestamp> {
    let t = Utc::now() + offset;
    Some(Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    })
}

fn deploy(commit_sha: &str, commit_time: Option<Timestamp>) -> pb::CreatePipelineRequest {
    pb::CreatePipelineRequest {
        project: PROJECT.into(),
        environment: "staging".into(),
        version: "4.2.0".into(),
        stages: vec![stage("deploy", vec![job("rollout", 20, 0.0)])],
        commit_sha: commit_sha.into(),
        commit_time,
        ..Default::default()
    }
}

async fn listed(app: &TestApp, id: &str) -> pb::Pipeline {
    app.list(pb::ListPipelinesRequest {
        project: PROJECT.into(),
        ..Default::default()
    })
    .await
    .pipelines
    .into_iter()
    .find(|p| p.id == id)
    .expect("the pipeline is listed")
}

async fn a_created_pipeline_keeps_its_commit_and_shows_it_in_every_read(backend: Backend) {
    let Some(app) = spawn_app(Options::on(backend)).await else {
        return;
    };
    let request = pb::CreatePipelineRequest {
        idempotency_key: "deploy-with-commit".into(),
        ..deploy(SHA, committed())
    };

    let created = app.create(&app.operator, request.clone()).await.expect("create");

    assert_eq!(
        (created.commit_sha.as_str(), created.commit_time),
        (STORED_SHA, committed())
    );
    let got = app.get(&created.id).await;
    assert_eq!((got.commit_sha.as_str(), got.commit_time), (STORED_SHA, committed()));
    let row = listed(&app, &created.id).await;
    assert_eq!((row.commit_sha.as_str(), row.commit_time), (STORED_SHA, committed()));
    // A replay answers the pipeline as stored, whatever commit it names.
    let replay = pb::CreatePipelineRequest {
        commit_sha: "0123abc".into(),
        commit_time: None,
        ..request
    };
    let again = app.create(&app.operator, replay).await.expect("replay");
    assert_eq!(again.id, created.id);
    assert_eq!(
        (again.commit_sha.as_str(), again.commit_time),
        (STORED_SHA, committed())
    );
    // Every transition keeps it, up to the end.
    let done = app.wait_status(&created.id, pb::PipelineStatus::Succeeded, LONG).await;
    assert_eq!((done.commit_sha.as_str(), done.commit_time), (STORED_SHA, committed()));
    // A commit without its time is a commit too; none is empty.
    let bare = app
        .create(&app.operator, deploy("ABCDEF1", None))
        .await
        .expect("create");
    assert_eq!((bare.commit_sha.as_str(), bare.commit_time), ("abcdef1", None));
    let none = app.create(&app.operator, deploy("", None)).await.expect("create");
    assert_eq!((none.commit_sha.as_str(), none.commit_time), ("", None));
    assert_eq!(app.get(&none.id).await.commit_sha, "");
}

on_both_backends!(
    a_created_pipeline_keeps_its_commit_and_shows_it_in_every_read =>
    a_created_pipeline_keeps_its_commit_and_shows_it_in_every_read_sqlite,
    a_created_pipeline_keeps_its_commit_and_shows_it_in_every_read_redis
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_deploy_reports_its_commit_to_projects() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let p = app
        .create(&app.operator, deploy(SHA, committed()))
        .await
        .expect("create");
    app.wait_status(&p.id, pb::PipelineStatus::Succeeded, LONG).await;

    let recorded = app.recorded_deployment(&p.id, LONG).await;

    assert_eq!(recorded.commit_sha, STORED_SHA);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_commits_are_invalid_arguments_naming_the_field() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let too_long = "a".repeat(65);
    let cases: Vec<(&str, Option<Timestamp>, &str)> = vec![
        ("xyz1234", None, "commitSha:"),
        ("abc12", None, "commitSha:"),
        (&too_long, None, "commitSha:"),
        ("", committed(), "commitTime:"),
        (SHA, from_now(TimeDelta::minutes(10)), "commitTime:"),
        (
            SHA,
            Some(Timestamp {
                seconds: 946_684_799,
                nanos: 0,
            }),
            "commitTime:",
        ),
        (
            SHA,
            Some(Timestamp {
                seconds: 1_750_000_000,
                nanos: -1,
            }),
            "commitTime:",
        ),
    ];
    for (sha, time, field) in &cases {
        let status = app
            .create(&app.operator, deploy(sha, *time))
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {}", status.message());
        assert!(status.message().starts_with(field), "{field}: {}", status.message());

        let tracked = pb::TrackExternalRunRequest {
            commit_sha: (*sha).to_owned(),
            commit_time: *time,
            ..delivery(pb::PipelineStatus::Queued, vec![])
        };
        let status = app.track(&app.admin, tracked).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {}", status.message());
        assert!(status.message().starts_with(field), "{field}: {}", status.message());
    }
    // A time a little ahead of this service's clock is a committer's clock running fast, not an error.
    let skewed = app
        .create(&app.operator, deploy(SHA, from_now(TimeDelta::minutes(2))))
        .await
        .expect("within five minutes");
    assert_eq!(skewed.commit_sha, STORED_SHA);
}

async fn a_tracked_run_gains_its_commit_from_a_later_delivery_and_keeps_it(backend: Backend) {
    let Some(app) = spawn_app(Options::on(backend)).await else {
        return;
    };
    let service = app.service_token().await;
    let queued = || {
        delivery(
            pb::PipelineStatus::Queued,
            vec![gh_job("501", "Build", pb::JobStatus::Queued, None, None)],
        )
    };

    let first = app.track(&service, queued()).await.expect("created without a commit");
    let second = app
        .track(
            &service,
            pb::TrackExternalRunRequest {
                commit_sha: SHA.into(),
                commit_time: committed(),
                ..delivery(
                    pb::PipelineStatus::Running,
                    vec![gh_job("501", "Build", pb::JobStatus::Running, Some(5), None)],
                )
            },
        )
        .await
        .expect("a delivery with the commit");
    let third = app
        .track(
            &service,
            delivery(
                pb::PipelineStatus::Succeeded,
                vec![gh_job("501", "Build", pb::JobStatus::Succeeded, Some(5), Some(30))],
            ),
        )
        .await
        .expect("a delivery without it");

    assert_eq!((first.commit_sha.as_str(), first.commit_time), ("", None));
    assert_eq!(second.id, first.id);
    assert_eq!(
        (second.commit_sha.as_str(), second.commit_time),
        (STORED_SHA, committed())
    );
    assert_eq!(third.status, i32::from(pb::PipelineStatus::Succeeded));
    assert_eq!(
        (third.commit_sha.as_str(), third.commit_time),
        (STORED_SHA, committed())
    );
    let stored = app.get(&first.id).await;
    assert_eq!(
        (stored.commit_sha.as_str(), stored.commit_time),
        (STORED_SHA, committed())
    );
}

on_both_backends!(
    a_tracked_run_gains_its_commit_from_a_later_delivery_and_keeps_it =>
    a_tracked_run_gains_its_commit_from_a_later_delivery_and_keeps_it_sqlite,
    a_tracked_run_gains_its_commit_from_a_later_delivery_and_keeps_it_redis
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracked_run_created_with_its_commit_shows_it() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let request = pb::TrackExternalRunRequest {
        commit_sha: SHA.into(),
        commit_time: committed(),
        ..delivery(pb::PipelineStatus::Queued, vec![])
    };

    let run = app.track(&app.admin, request).await.expect("tracked");

    assert_eq!((run.commit_sha.as_str(), run.commit_time), (STORED_SHA, committed()));
    let row = listed(&app, &run.id).await;
    assert_eq!((row.commit_sha.as_str(), row.commit_time), (STORED_SHA, committed()));
}
