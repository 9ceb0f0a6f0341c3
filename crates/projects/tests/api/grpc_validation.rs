//! Bad input is INVALID_ARGUMENT with a message naming the field, whichever RPC it comes through.

use tonic::{Code, Status};

use devopstrack_proto::projects::v1 as pb;

use crate::helpers::{TestApp, environment, sample_project, spawn_app, with_token};

async fn create(app: &TestApp, change: impl FnOnce(&mut pb::CreateProjectRequest)) -> Result<(), Status> {
    let mut request = sample_project("good-slug");
    change(&mut request);
    app.create_project(&app.admin, request).await.map(drop)
}

async fn list(app: &TestApp, request: pb::ListProjectsRequest) -> Result<(), Status> {
    app.list_projects(&app.viewer, request).await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_invalid_argument_naming_the_field() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;
    let mask = |path: &str| pb::UpdateProjectRequest {
        project: "api".into(),
        expected_version: 1,
        update_mask: Some(prost_types::FieldMask {
            paths: vec![path.into()],
        }),
        name: "x".into(),
        ..Default::default()
    };

    // Act
    let cases: Vec<(&str, Result<(), Status>, &str)> = vec![
        (
            "upper-case slug",
            create(&app, |r| r.slug = "API".into()).await,
            "slug: ",
        ),
        ("unicode slug", create(&app, |r| r.slug = "аpi".into()).await, "slug: "),
        (
            "name of 101 characters",
            create(&app, |r| r.name = "x".repeat(101)).await,
            "name: ",
        ),
        (
            "bad tag",
            create(&app, |r| r.tags = vec!["Bad Tag".into()]).await,
            "tags: ",
        ),
        (
            "bad repository url",
            create(&app, |r| r.repositories[0].url = "ftp://x/y".into()).await,
            "repositories[0].url: ",
        ),
        (
            "unknown provider number",
            create(&app, |r| r.repositories[0].provider = 42).await,
            "repositories[0].provider: ",
        ),
        (
            "duplicate environment names",
            create(&app, |r| r.environments = vec![environment("dev"), environment("dev")]).await,
            "environments[1].name: ",
        ),
        (
            "unknown tier number",
            create(&app, |r| r.environments[1].tier = 9).await,
            "environments[1].tier: unknown tier 9",
        ),
        (
            "commit sha xyz",
            app.create_release(
                &app.admin,
                pb::CreateReleaseRequest {
                    project: "api".into(),
                    version: "1.0.0".into(),
                    commit_sha: "xyz".into(),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
            "commitSha: ",
        ),
        (
            "version with a space",
            app.create_release(
                &app.admin,
                pb::CreateReleaseRequest {
                    project: "api".into(),
                    version: "1.0 beta".into(),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
            "version: ",
        ),
        (
            "bad page token",
            list(
                &app,
                pb::ListProjectsRequest {
                    page_token: "garbage!".into(),
                    ..Default::default()
                },
            )
            .await,
            "pageToken: ",
        ),
        (
            "negative page size",
            list(
                &app,
                pb::ListProjectsRequest {
                    page_size: -1,
                    ..Default::default()
                },
            )
            .await,
            "pageSize: ",
        ),
        (
            "unknown order_by",
            list(
                &app,
                pb::ListProjectsRequest {
                    order_by: "owner".into(),
                    ..Default::default()
                },
            )
            .await,
            "orderBy: ",
        ),
        (
            "unknown mask path",
            app.update_project(&app.admin, mask("slug")).await.map(drop),
            "updateMask: ",
        ),
        (
            "empty mask",
            app.update_project(
                &app.admin,
                pb::UpdateProjectRequest {
                    update_mask: None,
                    ..mask("name")
                },
            )
            .await
            .map(drop),
            "updateMask: ",
        ),
        (
            "project neither id nor slug",
            app.get_project(&app.viewer, "Not A Slug!").await.map(drop),
            "project: ",
        ),
        (
            "deployment without an id",
            app.record_deployment(
                &app.service,
                pb::Deployment {
                    project_id: "api".into(),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
            "deployment.id: ",
        ),
        (
            "deployment finished before it started",
            app.record_deployment(
                &app.service,
                pb::Deployment {
                    finished_at: Some(prost_types::Timestamp { seconds: 1, nanos: 0 }),
                    ..crate::helpers::deployment("d1", "api", "staging", "1.0.0", pb::DeploymentStatus::Failed, 0)
                },
            )
            .await
            .map(drop),
            "deployment.finishedAt: ",
        ),
        (
            "deployment without a status",
            app.record_deployment(
                &app.service,
                crate::helpers::deployment("d2", "api", "staging", "1.0.0", pb::DeploymentStatus::Unspecified, 0),
            )
            .await
            .map(drop),
            "deployment.status: ",
        ),
        (
            "environment name in upsert",
            app.client()
                .upsert_environment(with_token(
                    pb::UpsertEnvironmentRequest {
                        project: "api".into(),
                        environment: Some(environment("Prod")),
                    },
                    &app.admin,
                ))
                .await
                .map(drop),
            "environment.name: ",
        ),
    ];

    // Assert
    let mut wrong = Vec::new();
    for (case, result, needle) in cases {
        match result {
            Err(status) if status.code() == Code::InvalidArgument && status.message().contains(needle) => {}
            other => wrong.push(format!(
                "{case}: {other:?}, expected INVALID_ARGUMENT containing {needle:?}"
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
