//! Runs from pipeline definitions (CreateRun) and rollbacks (Rollback), against the real projects service: the
//! definition is read as the caller, a deploy's placeholders are filled as plain text, unreleased versions are refused
//! unless the definition allows them, the run records its definition, and a rollback goes back to the previous good
//! version, skipping versions that were rolled back, with FAILED_PRECONDITION when there is nothing to go back to.

use std::time::Duration;

use serde_json::json;
use tonic::{Code, Status};

use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::tasks::v1 as pb;

use crate::helpers::{Backend, Options, PROJECT, TestApp, job, job_named, spawn_app, stage, with_token};

const LONG: Duration = Duration::from_secs(30);

fn run(definition: &str) -> pb::CreateRunRequest {
    pb::CreateRunRequest {
        project: PROJECT.into(),
        definition: definition.into(),
        ..Default::default()
    }
}

fn deploy_run(environment: &str, version: &str) -> pb::CreateRunRequest {
    pb::CreateRunRequest {
        environment: environment.into(),
        version: version.into(),
        ..run("deploy")
    }
}

#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, starts_with: &str) {
    let status = result.expect_err("the call should have failed");
    assert_eq!(status.code(), code, "{:?}", status.message());
    assert!(
        status.message().starts_with(starts_with),
        "{:?} should start with {starts_with:?}",
        status.message()
    );
}

/// The stack without workers on `backend`: these tests look at the runs a request creates, not at them running.
/// `None` for Redis when there is none.
async fn spawn_idle(backend: Backend) -> Option<TestApp> {
    spawn_app(Options {
        backend,
        workers: 0,
        ..Options::default()
    })
    .await
}

impl TestApp {
    async fn create_run(
        &self,
        token: &str,
        request: pb::CreateRunRequest,
    ) -> Result<pb::CreatePipelineResponse, Status> {
        self.client
            .clone()
            .create_run(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn rollback(&self, token: &str, environment: &str, to: &str) -> Result<pb::RollbackResponse, Status> {
        let request = pb::RollbackRequest {
            project: PROJECT.into(),
            environment: environment.into(),
            to: to.into(),
            ..Default::default()
        };
        self.client
            .clone()
            .rollback(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    pub(super) async fn release(&self, version: &str) {
        let request = projects_pb::CreateReleaseRequest {
            project: PROJECT.into(),
            version: version.into(),
            ..Default::default()
        };
        self.projects
            .clone()
            .create_release(with_token(request, &self.admin))
            .await
            .expect("create a release");
    }

    /// Records a finished deployment in projects' history directly (as an admin may), `minute` minutes into a
    /// fixed day, so each test chooses the history a rollback reads.
    async fn deployed(&self, id: &str, environment: &str, version: &str, ok: bool, rollback: bool, minute: i64) {
        let at = |offset: i64| prost_types::Timestamp {
            seconds: 1_750_000_000 + minute * 60 + offset,
            nanos: 0,
        };
        let status = if ok {
            projects_pb::DeploymentStatus::Succeeded
        } else {
            projects_pb::DeploymentStatus::Failed
        };
        let deployment = projects_pb::Deployment {
            id: id.into(),
            project_id: PROJECT.into(),
            environment: environment.into(),
            version: version.into(),
            status: status as i32,
            started_at: Some(at(0)),
            finished_at: Some(at(30)),
            rollback,
            ..Default::default()
        };
        self.projects
            .clone()
            .record_deployment(with_token(
                projects_pb::RecordDeploymentRequest {
                    deployment: Some(deployment),
                },
                &self.admin,
            ))
            .await
            .expect("record a deployment");
    }

    async fn create_definition(&self, name: &str, spec: serde_json::Value, allow_unreleased: bool) {
        let request = projects_pb::CreateDefinitionRequest {
            project: PROJECT.into(),
            name: name.into(),
            kind: projects_pb::DefinitionKind::Deploy as i32,
            spec_json: spec.to_string(),
            allow_unreleased,
            ..Default::default()
        };
        self.projects
            .clone()
            .create_definition(with_token(request, &self.admin))
            .await
            .expect("create a definition");
    }
}

async fn a_run_of_the_ci_definition_records_its_definition_and_number(backend: Backend) {
    // Arrange
    let Some(app) = spawn_idle(backend).await else {
        return;
    };

    // Act
    let first = app.create_run(&app.operator, run("ci")).await.unwrap();
    let keyed = pb::CreateRunRequest {
        idempotency_key: "ci-2".into(),
        ..run("ci")
    };
    let second = app.create_run(&app.operator, keyed.clone()).await.unwrap();
    let replay = app.create_run(&app.operator, keyed).await.unwrap();
    let (first, second) = (first.pipeline.unwrap(), second.pipeline.unwrap());
    let read = app.get(&second.id).await;
    let listed = app
        .list(pb::ListPipelinesRequest {
            project: PROJECT.into(),
            ..Default::default()
        })
        .await
        .pipelines;

    // Assert
    assert_eq!((first.number, second.number), (1, 2));
    assert!(!replay.created);
    assert_eq!(replay.pipeline.unwrap().id, second.id);
    for p in [&first, &read] {
        assert_eq!(p.definition, "ci");
        assert_eq!(p.definition_version, 1);
        assert_eq!(p.trigger, pb::Trigger::Api as i32);
        let stages: Vec<_> = p.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(stages, ["build", "test", "package"]);
    }
    assert!(
        listed.iter().all(|p| p.definition == "ci" && p.number >= 1),
        "{listed:?}"
    );
}

on_both_backends!(
    a_run_of_the_ci_definition_records_its_definition_and_number =>
    a_run_of_the_ci_definition_records_its_definition_and_number_sqlite,
    a_run_of_the_ci_definition_records_its_definition_and_number_redis
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_run_needs_a_released_version_unless_the_definition_allows_unreleased_ones() {
    // Arrange
    let app = spawn_idle(Backend::Sqlite).await.expect("sqlite needs no server");
    app.release("2.5.0").await;
    app.create_definition(
        "preview",
        json!({"stages": [{"name": "deploy", "jobs": [{"name": "rollout"}]}]}),
        true,
    )
    .await;

    // Act
    let unreleased = app.create_run(&app.operator, deploy_run("staging", "9.9.9")).await;
    let released = app
        .create_run(&app.operator, deploy_run("staging", "2.5.0"))
        .await
        .unwrap();
    let preview = app
        .create_run(
            &app.operator,
            pb::CreateRunRequest {
                definition: "preview".into(),
                ..deploy_run("staging", "9.9.9")
            },
        )
        .await
        .unwrap();

    // Assert
    assert_refused(
        unreleased,
        Code::InvalidArgument,
        "version: project api has no release \"9.9.9\"",
    );
    let released = released.pipeline.unwrap();
    assert_eq!(
        (released.environment.as_str(), released.version.as_str()),
        ("staging", "2.5.0")
    );
    assert_eq!(released.definition, "deploy");
    let preview = preview.pipeline.unwrap();
    assert_eq!(
        (preview.definition.as_str(), preview.version.as_str()),
        ("preview", "9.9.9")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placeholders_are_filled_as_plain_text_never_evaluated() {
    // Arrange
    let app = spawn_idle(Backend::Sqlite).await.expect("sqlite needs no server");
    app.create_definition(
        "hook",
        json!({"stages": [{"name": "deploy", "jobs": [{
            "name": "call", "executor": "http",
            "params": {"url": "https://deploy.example/${environment}/${version}?c=${commit}&x=${unknown}"}
        }]}]}),
        true,
    )
    .await;
    let hook = |version: &str, commit: &str| pb::CreateRunRequest {
        definition: "hook".into(),
        commit_sha: commit.into(),
        ..deploy_run("staging", version)
    };

    // Act: a version that looks like a placeholder, quotes and braces; then one with a space.
    let hostile = app
        .create_run(&app.operator, hook("${commit}\"}{$(id)", "abcdef1"))
        .await
        .unwrap()
        .pipeline
        .unwrap();
    let spaced = app.create_run(&app.operator, hook("1.0 && reboot", "")).await;

    // Assert
    let params = job_named(&hostile, "call").params.clone().unwrap();
    let url = match params.fields.get("url").and_then(|v| v.kind.clone()) {
        Some(prost_types::value::Kind::StringValue(url)) => url,
        other => panic!("url param: {other:?}"),
    };
    assert_eq!(
        url,
        "https://deploy.example/staging/${commit}\"}{$(id)?c=abcdef1&x=${unknown}"
    );
    assert_eq!(params.fields.len(), 1, "the params keep their shape");
    assert_refused(spaced, Code::InvalidArgument, "version: ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_unexpected_parameters_are_refused_naming_the_field() {
    // Arrange
    let app = spawn_idle(Backend::Sqlite).await.expect("sqlite needs no server");
    app.release("1.0.0").await;

    // Act / Assert
    let cases = [
        (deploy_run("", "1.0.0"), "environment: is required"),
        (deploy_run("staging", ""), "version: is required"),
        (
            pb::CreateRunRequest {
                environment: "staging".into(),
                ..run("ci")
            },
            "environment: ",
        ),
        (run(""), "definition: is required"),
        (run("Not_A_Name"), "name: "),
    ];
    for (request, message) in cases {
        assert_refused(
            app.create_run(&app.operator, request).await,
            Code::InvalidArgument,
            message,
        );
    }
    assert_refused(
        app.create_run(&app.operator, run("missing")).await,
        Code::NotFound,
        "definition: ",
    );
    assert_refused(
        app.create_run(&app.viewer, run("ci")).await,
        Code::PermissionDenied,
        "creating a pipeline needs the operator role",
    );
    let rollback_trigger = app
        .create(
            &app.operator,
            pb::CreatePipelineRequest {
                project: PROJECT.into(),
                trigger: pb::Trigger::Rollback as i32,
                stages: vec![stage("build", vec![job("compile", 10, 0.0)])],
                ..Default::default()
            },
        )
        .await;
    assert_refused(rollback_trigger, Code::InvalidArgument, "trigger: ");
}

/// Releases 1.0, 2.0 and 3.0, and staging's history: 1.0, 2.0, then 3.0 (all succeeded).
async fn three_deployments(app: &TestApp) {
    for v in ["1.0", "2.0", "3.0"] {
        app.release(v).await;
    }
    app.deployed("d1", "staging", "1.0", true, false, 0).await;
    app.deployed("d2", "staging", "2.0", true, false, 10).await;
    app.deployed("d3", "staging", "3.0", true, false, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_deploys_the_previous_good_version_and_records_it_as_a_rollback() {
    // Arrange
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    three_deployments(&app).await;
    app.deployed("d4", "staging", "3.1", false, false, 30).await;

    // Act
    let done = app.rollback(&app.operator, "staging", "").await.unwrap();
    let p = done.pipeline.unwrap();
    let finished = app.wait_status(&p.id, pb::PipelineStatus::Succeeded, LONG).await;

    // Assert
    assert!(done.created);
    assert_eq!((done.from_version.as_str(), done.to_version.as_str()), ("3.0", "2.0"));
    assert_eq!(p.trigger, pb::Trigger::Rollback as i32);
    assert_eq!((p.environment.as_str(), p.version.as_str()), ("staging", "2.0"));
    assert_eq!(p.definition, "deploy");
    assert_eq!(finished.status, pb::PipelineStatus::Succeeded as i32);
    let recorded = app.recorded_deployment(&p.id, LONG).await;
    assert!(recorded.rollback, "the history shows it as a rollback");
    assert_eq!(recorded.version, "2.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_skips_versions_that_were_rolled_back() {
    // Arrange: 3.0 was rolled back to 2.0 already.
    let app = spawn_idle(Backend::Sqlite).await.expect("sqlite needs no server");
    three_deployments(&app).await;
    app.deployed("d4", "staging", "2.0", true, true, 30).await;

    // Act
    let done = app.rollback(&app.operator, "staging", "").await.unwrap();
    let to_rolled_back = app.rollback(&app.operator, "staging", "3.0").await;
    let to_current = app.rollback(&app.operator, "staging", "2.0").await;
    let to_never = app.rollback(&app.operator, "staging", "0.1").await;

    // Assert
    assert_eq!((done.from_version.as_str(), done.to_version.as_str()), ("2.0", "1.0"));
    for refused in [to_rolled_back, to_current, to_never] {
        assert_refused(refused, Code::InvalidArgument, "to: ");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_with_nothing_to_go_back_to_is_a_failed_precondition() {
    // Arrange
    let app = spawn_idle(Backend::Sqlite).await.expect("sqlite needs no server");
    app.release("1.0").await;

    // Act
    let never_deployed = app.rollback(&app.operator, "staging", "").await;
    app.deployed("d1", "staging", "1.0", true, false, 0).await;
    app.deployed("d2", "staging", "1.1", false, false, 10).await;
    let only_one_good = app.rollback(&app.operator, "staging", "").await;

    // Assert
    assert_refused(
        never_deployed,
        Code::FailedPrecondition,
        "nothing to roll back: staging of api",
    );
    assert_refused(
        only_one_good,
        Code::FailedPrecondition,
        "nothing to roll back to: staging of api runs 1.0",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_back_production_needs_an_admin() {
    // Arrange
    let app = spawn_idle(Backend::Sqlite).await.expect("sqlite needs no server");
    for v in ["1.0", "2.0"] {
        app.release(v).await;
    }
    app.deployed("p1", "production", "1.0", true, false, 0).await;
    app.deployed("p2", "production", "2.0", true, false, 10).await;

    // Act
    let viewer = app.rollback(&app.viewer, "production", "").await;
    let operator = app.rollback(&app.operator, "production", "").await;
    let admin = app.rollback(&app.admin, "production", "").await.unwrap();

    // Assert
    assert_refused(viewer, Code::PermissionDenied, "rolling back needs the operator role");
    assert_refused(
        operator,
        Code::PermissionDenied,
        "rolling back a production or protected environment needs the admin role",
    );
    assert_eq!(admin.to_version, "1.0");
    let p = admin.pipeline.unwrap();
    assert_eq!(p.trigger, pb::Trigger::Rollback as i32);
}
