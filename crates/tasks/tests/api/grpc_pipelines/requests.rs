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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_found_by_its_number_and_a_zero_or_unused_number_is_refused() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let mut client = app.client.clone();
    let request = || pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![stage("build", vec![job("compile", 10, 0.0)])],
        ..Default::default()
    };
    let mut created = Vec::new();
    for _ in 0..2 {
        let answer = client
            .create_pipeline(with_token(request(), &app.operator))
            .await
            .expect("create")
            .into_inner();
        created.push(answer.pipeline.expect("a pipeline"));
    }
    let by_number = |number| pb::GetPipelineByNumberRequest {
        project: PROJECT.into(),
        number,
    };

    let found = client
        .get_pipeline_by_number(with_token(by_number(2), &app.viewer))
        .await
        .expect("a viewer reads run 2")
        .into_inner();
    let zero = client
        .get_pipeline_by_number(with_token(by_number(0), &app.viewer))
        .await
        .expect_err("run numbers start at 1");
    let unused = client
        .get_pipeline_by_number(with_token(by_number(3), &app.viewer))
        .await
        .expect_err("no run 3 yet");

    assert_eq!((created[0].number, created[1].number), (1, 2));
    assert_eq!((found.id.as_str(), found.number), (created[1].id.as_str(), 2));
    assert!(!found.stages.is_empty(), "with its stages");
    assert_eq!(zero.code(), Code::InvalidArgument);
    assert!(zero.message().starts_with("number"), "{}", zero.message());
    assert_eq!(unused.code(), Code::NotFound);
    let read = client
        .get_pipeline(with_token(
            pb::GetPipelineRequest {
                id: created[0].id.clone(),
            },
            &app.viewer,
        ))
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read.number, 1, "GetPipeline answers the number too");
}
