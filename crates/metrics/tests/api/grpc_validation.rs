//! Hostile and broken input: every field error is INVALID_ARGUMENT with a message that starts with the field path,
//! never a panic or INTERNAL, and nothing of a refused call is stored.

use chrono::{TimeDelta, Utc};
use prost_types::Timestamp;
use tonic::Code;

use devopstrack_proto::metrics::v1 as pb;

use crate::helpers::{spawn_app, ts, with_token};

fn run(id: &str) -> pb::JobRun {
    let now = Utc::now();
    pb::JobRun {
        event_id: id.into(),
        project: "shop".into(),
        job_name: "build".into(),
        status: pb::JobRunStatus::Succeeded.into(),
        queued_at: Some(ts(now - TimeDelta::seconds(9))),
        started_at: Some(ts(now - TimeDelta::seconds(5))),
        finished_at: Some(ts(now)),
        ..Default::default()
    }
}

fn deployment() -> pb::Deployment {
    pb::Deployment {
        event_id: "dep-1".into(),
        project: "shop".into(),
        environment: "production".into(),
        status: pb::DeploymentStatus::Succeeded.into(),
        finished_at: Some(ts(Utc::now())),
        ..Default::default()
    }
}

type Breaks<T> = fn(&mut T);

#[tokio::test]
async fn bad_job_runs_name_the_field() {
    let app = spawn_app().await;
    let cases: Vec<(Breaks<pb::JobRun>, &str)> = vec![
        (|r| r.event_id.clear(), "runs[1].event_id: is required"),
        (
            |r| r.event_id = "x".repeat(129),
            "runs[1].event_id: must be at most 128",
        ),
        (
            |r| r.event_id = "a\u{0}b".into(),
            "runs[1].event_id: must not contain control",
        ),
        (
            |r| r.project = "Shop; DROP TABLE".into(),
            "runs[1].project: must be a project slug",
        ),
        (|r| r.environment = "prod/../x".into(), "runs[1].environment:"),
        (|r| r.status = 0, "runs[1].status:"),
        (|r| r.status = 99, "runs[1].status:"),
        (|r| r.source = -3, "runs[1].source: unknown value"),
        (|r| r.attempt = 4_000_000_000, "runs[1].attempt:"),
        (|r| r.started_at = None, "runs[1].started_at: is required"),
        (|r| r.finished_at = None, "runs[1].finished_at: is required"),
        (
            |r| r.finished_at = Some(Timestamp { seconds: 1, nanos: -1 }),
            "runs[1].finished_at: nanos",
        ),
        (
            |r| {
                r.finished_at = Some(Timestamp {
                    seconds: i64::MAX,
                    nanos: 0,
                })
            },
            "runs[1].finished_at: is not a representable time",
        ),
        (
            |r| r.finished_at = Some(ts(Utc::now() + TimeDelta::days(3))),
            "runs[1].finished_at: must not be more than a day in the future",
        ),
        (
            |r| r.finished_at = Some(ts(Utc::now() - TimeDelta::hours(1))),
            "runs[1].finished_at: must not be before started_at",
        ),
        (
            |r| r.queued_at = Some(ts(Utc::now())),
            "runs[1].started_at: must not be before queued_at",
        ),
        (
            |r| r.job_name = "x".repeat(201),
            "runs[1].job_name: must be at most 200",
        ),
    ];
    let mut client = app.client.clone();
    for (breaks, expected) in cases {
        let mut bad = run("bad");
        breaks(&mut bad);
        let request = pb::RecordJobRunRequest {
            runs: vec![run("fine"), bad],
        };
        let status = client
            .record_job_run(with_token(request, &app.service))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{expected}: {status:?}");
        assert!(
            status.message().starts_with(expected),
            "{expected:?} vs {:?}",
            status.message()
        );
    }
    let too_many = pb::RecordJobRunRequest {
        runs: (0..1_001).map(|i| run(&format!("r{i}"))).collect(),
    };
    let status = client
        .record_job_run(with_token(too_many, &app.service))
        .await
        .unwrap_err();
    assert!(status.message().starts_with("runs: at most 1000"), "{status:?}");
}

#[tokio::test]
async fn bad_deployments_changes_and_incidents_name_the_field() {
    let app = spawn_app().await;
    let mut c = app.client.clone();
    let dep_cases: Vec<(Breaks<pb::Deployment>, &str)> = vec![
        (|d| d.environment.clear(), "deployments[0].environment: is required"),
        (|d| d.commit_sha = "not-a-sha".into(), "deployments[0].commit_sha:"),
        (|d| d.status = 7, "deployments[0].status:"),
        (
            |d| d.started_at = Some(ts(Utc::now() + TimeDelta::minutes(5))),
            "deployments[0].finished_at: must not be before started_at",
        ),
        (
            |d| d.commit_time = Some(Timestamp { seconds: 0, nanos: 0 }),
            "deployments[0].commit_time: must not be before 2000",
        ),
    ];
    for (breaks, expected) in dep_cases {
        let mut d = deployment();
        breaks(&mut d);
        let request = pb::RecordDeploymentRequest { deployments: vec![d] };
        let status = c
            .record_deployment(with_token(request, &app.service))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().starts_with(expected),
            "{expected:?} vs {:?}",
            status.message()
        );
    }

    let change = pb::Change {
        event_id: "c1".into(),
        project: "shop".into(),
        commit_sha: "zzzzzzz".into(),
        commit_time: Some(ts(Utc::now())),
        ..Default::default()
    };
    let status = c
        .record_change(with_token(
            pb::RecordChangeRequest { changes: vec![change] },
            &app.service,
        ))
        .await
        .unwrap_err();
    assert!(status.message().starts_with("changes[0].commit_sha:"), "{status:?}");

    let now = Utc::now();
    let incident = pb::Incident {
        event_id: "i1".into(),
        project: "shop".into(),
        incident_id: "github:acme/shop#1".into(),
        opened_at: Some(ts(now)),
        resolved_at: Some(ts(now - TimeDelta::minutes(1))),
        ..Default::default()
    };
    let request = pb::RecordIncidentRequest {
        incidents: vec![incident],
    };
    let status = c.record_incident(with_token(request, &app.service)).await.unwrap_err();
    assert!(
        status
            .message()
            .starts_with("incidents[0].resolved_at: must not be before opened_at"),
        "{status:?}"
    );
}

#[tokio::test]
async fn bad_queries_name_the_field() {
    let app = spawn_app().await;
    let mut c = app.client.clone();
    let now = Utc::now();
    let dora_cases = [
        (
            pb::GetDoraRequest {
                project: "NOPE".into(),
                ..Default::default()
            },
            "project:",
        ),
        (
            pb::GetDoraRequest {
                environment: "a b".into(),
                ..Default::default()
            },
            "environment:",
        ),
        (
            pb::GetDoraRequest {
                from: Some(ts(now)),
                to: Some(ts(now - TimeDelta::days(1))),
                ..Default::default()
            },
            "from: must be before",
        ),
        (
            pb::GetDoraRequest {
                from: Some(ts(now - TimeDelta::days(401))),
                ..Default::default()
            },
            "to: the window must be at most 400 days",
        ),
        (
            pb::GetDoraRequest {
                to: Some(Timestamp {
                    seconds: 0,
                    nanos: 2_000_000_000,
                }),
                ..Default::default()
            },
            "to: nanos",
        ),
    ];
    for (request, expected) in dora_cases {
        let status = c.get_dora(with_token(request, &app.viewer)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().starts_with(expected),
            "{expected:?} vs {:?}",
            status.message()
        );
    }
    let series_cases = [
        (pb::QuerySeriesRequest::default(), "measure:"),
        (
            pb::QuerySeriesRequest {
                measure: pb::Measure::JobRuns.into(),
                step_seconds: 30,
                ..Default::default()
            },
            "step_seconds:",
        ),
        (
            pb::QuerySeriesRequest {
                measure: pb::Measure::JobRuns.into(),
                from: Some(ts(now - TimeDelta::days(30))),
                step_seconds: 60,
                ..Default::default()
            },
            "step_seconds: gives 4320",
        ),
    ];
    for (request, expected) in series_cases {
        let status = c.query_series(with_token(request, &app.viewer)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().starts_with(expected),
            "{expected:?} vs {:?}",
            status.message()
        );
    }
    let request = pb::GetOverviewRequest {
        days: 91,
        ..Default::default()
    };
    let status = c.get_overview(with_token(request, &app.viewer)).await.unwrap_err();
    assert!(
        status.message().starts_with("days: must be between 1 and 90"),
        "{status:?}"
    );
}
