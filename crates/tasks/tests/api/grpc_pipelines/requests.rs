//! CreatePipeline's requests: one idempotency key stores one pipeline, and every bad request is refused with the right
//! code and a message naming the field.

use tonic::Code;

use devopstrack_proto::tasks::v1 as pb;

use crate::helpers::{Options, PROJECT, job, spawn_app, stage, with_token};

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
