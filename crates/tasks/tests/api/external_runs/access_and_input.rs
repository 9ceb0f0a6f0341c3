//! TrackExternalRun's gate and checks: who may call it, and every malformed delivery answered INVALID_ARGUMENT
//! naming the field.

use prost_types::Timestamp;
use tonic::Code;

use devopstrack_proto::tasks::v1 as pb;

use super::{RUN, delivery, gh_job};
use crate::helpers::{Options, PROJECT, spawn_app, three_stages};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_service_role_and_admins_track_runs() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    for token in [&app.viewer, &app.operator] {
        let err = app
            .track(token, delivery(pb::PipelineStatus::Queued, vec![]))
            .await
            .expect_err("refused");
        assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
        assert!(err.message().contains("service or admin"), "{err:?}");
    }
    let bad_but_unauthorised = pb::TrackExternalRunRequest {
        source: 0,
        ..delivery(pb::PipelineStatus::Queued, vec![])
    };
    let err = app.track(&app.viewer, bad_but_unauthorised).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "the role is checked first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_intake_tracks_runs_with_its_service_token() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let service = app.service_token().await;

    let run = app
        .track(&service, delivery(pb::PipelineStatus::Queued, vec![]))
        .await
        .expect("a service token tracks runs");

    assert_eq!(run.source, i32::from(pb::Source::Github));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deliveries_are_invalid_arguments_naming_the_field() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let ok = || {
        delivery(
            pb::PipelineStatus::Running,
            vec![gh_job("1", "b", pb::JobStatus::Queued, None, None)],
        )
    };
    let with_job = |j: pb::ExternalJob| pb::TrackExternalRunRequest { jobs: vec![j], ..ok() };
    let cases: Vec<(pb::TrackExternalRunRequest, &str)> = vec![
        (
            pb::TrackExternalRunRequest {
                source: pb::Source::Devopstrack.into(),
                ..ok()
            },
            "source:",
        ),
        (
            pb::TrackExternalRunRequest {
                external_id: String::new(),
                ..ok()
            },
            "externalId:",
        ),
        (
            pb::TrackExternalRunRequest {
                external_id: "9".repeat(129),
                ..ok()
            },
            "externalId:",
        ),
        (
            pb::TrackExternalRunRequest {
                name: String::new(),
                ..ok()
            },
            "name:",
        ),
        (
            pb::TrackExternalRunRequest {
                name: "n".repeat(201),
                ..ok()
            },
            "name:",
        ),
        (pb::TrackExternalRunRequest { status: 42, ..ok() }, "status:"),
        (
            pb::TrackExternalRunRequest {
                status: pb::PipelineStatus::WaitingApproval.into(),
                ..ok()
            },
            "status:",
        ),
        (
            pb::TrackExternalRunRequest {
                version: "1.0".into(),
                ..ok()
            },
            "environment:",
        ),
        (
            pb::TrackExternalRunRequest {
                commit_sha: "not-a-sha".into(),
                ..ok()
            },
            "commitSha:",
        ),
        (
            pb::TrackExternalRunRequest {
                project: String::new(),
                ..ok()
            },
            "project:",
        ),
        (
            pb::TrackExternalRunRequest {
                created_at: Some(Timestamp { seconds: 0, nanos: -1 }),
                ..ok()
            },
            "createdAt:",
        ),
        (
            with_job(gh_job("1", "b", pb::JobStatus::Pending, None, None)),
            "jobs[0].status:",
        ),
        (
            with_job(pb::ExternalJob {
                status: 99,
                ..gh_job("1", "b", pb::JobStatus::Queued, None, None)
            }),
            "jobs[0].status:",
        ),
        (
            with_job(gh_job("", "b", pb::JobStatus::Queued, None, None)),
            "jobs[0].externalId:",
        ),
        (
            with_job(gh_job("1", "", pb::JobStatus::Queued, None, None)),
            "jobs[0].name:",
        ),
        (
            pb::TrackExternalRunRequest {
                jobs: (0..201)
                    .map(|i| gh_job(&i.to_string(), "m", pb::JobStatus::Queued, None, None))
                    .collect(),
                ..ok()
            },
            "jobs:",
        ),
    ];
    for (request, field) in cases {
        let err = app.track(&app.admin, request).await.expect_err(field);
        assert_eq!(err.code(), Code::InvalidArgument, "{field} {err:?}");
        assert!(err.message().starts_with(field), "{field} {err:?}");
    }

    let missing = pb::TrackExternalRunRequest {
        project: "no-such-project".into(),
        ..ok()
    };
    let err = app.track(&app.admin, missing).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    let squatted = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: three_stages(10),
        idempotency_key: format!("gh:{RUN}"),
        ..Default::default()
    };
    let err = app.create(&app.operator, squatted).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "the gh: prefix is reserved: {err:?}");
}
