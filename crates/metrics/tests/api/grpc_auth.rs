//! Who may call what: every RPC needs a valid token; viewers and up read; only the service role and admins record.

use chrono::{TimeDelta, Utc};
use tonic::{Code, Request};

use devopstrack_proto::metrics::v1 as pb;

use crate::helpers::{spawn_app, ts, with_token};

fn one_run() -> pb::RecordJobRunRequest {
    let now = Utc::now();
    pb::RecordJobRunRequest {
        runs: vec![pb::JobRun {
            event_id: "run-1".into(),
            project: "shop".into(),
            job_name: "build".into(),
            status: pb::JobRunStatus::Succeeded.into(),
            started_at: Some(ts(now - TimeDelta::seconds(5))),
            finished_at: Some(ts(now)),
            ..Default::default()
        }],
    }
}

#[tokio::test]
async fn every_rpc_refuses_a_missing_or_forged_token() {
    let app = spawn_app().await;
    let mut c = app.client.clone();
    let missing = c
        .get_dora(Request::new(pb::GetDoraRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    let forged = c
        .record_job_run(with_token(one_run(), "eyJhbGciOiJub25lIn0.e30."))
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::Unauthenticated);
    let overview = c
        .get_overview(Request::new(pb::GetOverviewRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(overview.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn only_the_service_role_and_admins_record_and_only_people_read() {
    let app = spawn_app().await;
    let mut c = app.client.clone();
    for (who, token, allowed) in [
        ("viewer", &app.viewer, false),
        ("operator", &app.operator, false),
        ("admin", &app.admin, true),
        ("service", &app.service, true),
    ] {
        let answer = c.record_job_run(with_token(one_run(), token)).await;
        match (allowed, answer) {
            (true, Ok(r)) => assert_eq!(r.into_inner().accepted, 1, "{who}"),
            (false, Err(s)) => assert_eq!(s.code(), Code::PermissionDenied, "{who}: {s:?}"),
            (allowed, other) => panic!("{who}: allowed={allowed} but got {other:?}"),
        }
    }
    // Permission is checked before the payload: a viewer's invalid request is still PERMISSION_DENIED.
    let invalid = pb::RecordDeploymentRequest {
        deployments: vec![pb::Deployment::default()],
    };
    let denied = c.record_deployment(with_token(invalid, &app.viewer)).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    for (who, token) in [
        ("viewer", &app.viewer),
        ("operator", &app.operator),
        ("admin", &app.admin),
    ] {
        c.get_dora(with_token(pb::GetDoraRequest::default(), token))
            .await
            .unwrap_or_else(|s| panic!("{who} reads DORA: {s:?}"));
    }
    let service = c
        .get_dora(with_token(pb::GetDoraRequest::default(), &app.service))
        .await
        .unwrap_err();
    assert_eq!(service.code(), Code::PermissionDenied);
}
