//! Pipeline definitions over gRPC: the defaults of a new project, create/get/list/update/delete with compare-and-set,
//! roles (viewer reads, admin writes), CreatePipeline's validation messages, and GetRelease.

use serde_json::json;
use tonic::Code;

use devopstrack_proto::projects::v1 as pb;

use crate::helpers::{TestApp, assert_status, spawn_app, with_token};

fn spec(value: serde_json::Value) -> String {
    value.to_string()
}

fn deploy_request(project: &str, name: &str) -> pb::CreateDefinitionRequest {
    pb::CreateDefinitionRequest {
        project: project.into(),
        name: name.into(),
        kind: pb::DefinitionKind::Deploy as i32,
        description: "Deploy through the hook".into(),
        spec_json: spec(json!({"stages": [{"name": "deploy", "jobs": [{
            "name": "hook", "executor": "http",
            "params": {"url": "https://deploy.example/${environment}?v=${version}"}
        }]}]})),
        allow_unreleased: true,
    }
}

impl TestApp {
    async fn create_definition(
        &self,
        token: &str,
        request: pb::CreateDefinitionRequest,
    ) -> Result<pb::Definition, tonic::Status> {
        self.client()
            .create_definition(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn list_definitions(&self, token: &str, project: &str) -> Result<Vec<pb::Definition>, tonic::Status> {
        self.client()
            .list_definitions(with_token(
                pb::ListDefinitionsRequest {
                    project: project.into(),
                },
                token,
            ))
            .await
            .map(|r| r.into_inner().definitions)
    }

    async fn get_definition(&self, token: &str, project: &str, name: &str) -> Result<pb::Definition, tonic::Status> {
        self.client()
            .get_definition(with_token(
                pb::GetDefinitionRequest {
                    project: project.into(),
                    name: name.into(),
                },
                token,
            ))
            .await
            .map(tonic::Response::into_inner)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_project_has_a_ci_and_a_deploy_definition_of_simulated_jobs() {
    // Arrange
    let app = spawn_app().await;
    let project = app.create_sample("api").await;

    // Act
    let definitions = app.list_definitions(&app.viewer, "api").await.unwrap();

    // Assert
    let kinds: Vec<_> = definitions.iter().map(|d| (d.name.as_str(), d.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("ci", pb::DefinitionKind::Ci as i32),
            ("deploy", pb::DefinitionKind::Deploy as i32)
        ]
    );
    for d in &definitions {
        assert_eq!(d.version, 1);
        assert_eq!(d.project_id, project.id);
        assert_eq!(d.project_slug, "api");
        assert!(!d.allow_unreleased);
        let spec: serde_json::Value = serde_json::from_str(&d.spec_json).unwrap();
        let executors: Vec<_> = spec["stages"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["jobs"].as_array().unwrap().iter())
            .map(|j| j["executor"].as_str().unwrap().to_owned())
            .collect();
        assert!(executors.iter().all(|e| e == "simulate"), "{executors:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definitions_are_created_read_updated_with_compare_and_set_and_deleted() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;

    // Act: create, read back, update from version 1, update from the stale version 1, delete.
    let created = app
        .create_definition(&app.admin, deploy_request("api", "deploy-eu"))
        .await
        .unwrap();
    let again = app
        .create_definition(&app.admin, deploy_request("api", "deploy-eu"))
        .await;
    let read = app.get_definition(&app.viewer, "api", "deploy-eu").await.unwrap();
    let update = |expected_version| pb::UpdateDefinitionRequest {
        project: "api".into(),
        name: "deploy-eu".into(),
        expected_version,
        kind: pb::DefinitionKind::Ci as i32,
        description: String::new(),
        spec_json: spec(json!({"stages": [{"name": "build", "jobs": [{"name": "compile"}]}]})),
        allow_unreleased: false,
    };
    let updated = app
        .client()
        .update_definition(with_token(update(1), &app.admin))
        .await
        .unwrap()
        .into_inner();
    let stale = app.client().update_definition(with_token(update(1), &app.admin)).await;
    let stale_delete = app
        .client()
        .delete_definition(with_token(
            pb::DeleteDefinitionRequest {
                project: "api".into(),
                name: "deploy-eu".into(),
                expected_version: 1,
            },
            &app.admin,
        ))
        .await;
    app.client()
        .delete_definition(with_token(
            pb::DeleteDefinitionRequest {
                project: "api".into(),
                name: "deploy-eu".into(),
                expected_version: 2,
            },
            &app.admin,
        ))
        .await
        .unwrap();
    let gone = app.get_definition(&app.viewer, "api", "deploy-eu").await;

    // Assert
    assert_eq!(created.version, 1);
    assert_eq!(read, created);
    assert_status(again, Code::AlreadyExists, "deploy-eu");
    assert_eq!(updated.version, 2);
    assert_eq!(updated.kind, pb::DefinitionKind::Ci as i32);
    assert_eq!(updated.created_at, created.created_at);
    assert_status(
        stale,
        Code::Aborted,
        "expectedVersion: the definition's version is 2, expected 1",
    );
    assert_status(stale_delete, Code::Aborted, "expectedVersion");
    assert_status(gone, Code::NotFound, "deploy-eu");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_and_operators_read_definitions_and_only_admins_write_them() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;

    // Act / Assert
    for token in [&app.viewer, &app.operator] {
        let refused = app.create_definition(token, deploy_request("api", "mine")).await;
        assert_status(refused, Code::PermissionDenied, "admin");
        let delete = app
            .client()
            .delete_definition(with_token(
                pb::DeleteDefinitionRequest {
                    project: "api".into(),
                    name: "ci".into(),
                    expected_version: 0,
                },
                token,
            ))
            .await;
        assert_status(delete, Code::PermissionDenied, "admin");
        assert_eq!(app.list_definitions(token, "api").await.unwrap().len(), 2);
    }
    assert_status(app.list_definitions("", "api").await, Code::Unauthenticated, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_definitions_are_refused_with_create_pipelines_messages() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;
    let with = |name: &str, kind: pb::DefinitionKind, spec_json: String| pb::CreateDefinitionRequest {
        project: "api".into(),
        name: name.into(),
        kind: kind as i32,
        spec_json,
        ..Default::default()
    };
    let job =
        |params: serde_json::Value| spec(json!({"stages": [{"name": "s", "jobs": [{"name": "j", "params": params}]}]}));
    let cases = [
        (
            with("Bad_Name", pb::DefinitionKind::Ci, job(json!({}))),
            "name: must match ^[a-z0-9][a-z0-9-]{0,31}$",
        ),
        (with(&"x".repeat(33), pb::DefinitionKind::Ci, job(json!({}))), "name: "),
        (
            with("ok", pb::DefinitionKind::Unspecified, job(json!({}))),
            "kind: is required",
        ),
        (
            with("ok", pb::DefinitionKind::Ci, spec(json!({"stages": []}))),
            "stages: at least one stage is required",
        ),
        (
            with("ok", pb::DefinitionKind::Ci, job(json!({"durationMs": 3_600_001}))),
            "stages[0].jobs[0].params.durationMs: must be an integer from 0 to 3600000",
        ),
        (
            with("ok", pb::DefinitionKind::Ci, job(json!({"duration": 5}))),
            "stages[0].jobs[0].params.duration: unknown parameter",
        ),
        (
            with("ok", pb::DefinitionKind::Ci, "{not json".into()),
            "stages: not a pipeline spec",
        ),
        (
            with(
                "ok",
                pb::DefinitionKind::Ci,
                spec(
                    json!({"stages": [{"name": "s", "jobs": [{"name": "j", "executor": "http",
                    "params": {"url": "https://h.example/${version}"}}]}]}),
                ),
            ),
            "stages: ${version} is for deploy definitions",
        ),
    ];

    // Act / Assert
    for (request, message) in cases {
        let refused = app.create_definition(&app.admin, request).await;
        let status = assert_status(refused, Code::InvalidArgument, message);
        assert!(
            status.message().starts_with(message.split(':').next().unwrap()),
            "{}",
            status.message()
        );
    }
    assert_eq!(
        app.list_definitions(&app.viewer, "api").await.unwrap().len(),
        2,
        "nothing was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_release_answers_a_release_or_not_found_naming_version() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;
    app.create_release(
        &app.operator,
        pb::CreateReleaseRequest {
            project: "api".into(),
            version: "2.5.0".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let get = |version: &str| {
        let mut client = app.client();
        let request = with_token(
            pb::GetReleaseRequest {
                project: "api".into(),
                version: version.into(),
            },
            &app.viewer,
        );
        async move { client.get_release(request).await }
    };

    // Act
    let found = get("2.5.0").await.unwrap().into_inner();
    let missing = get("9.9.9").await;

    // Assert
    assert_eq!(found.version, "2.5.0");
    assert_status(missing, Code::NotFound, "version: project api has no release 9.9.9");
}
