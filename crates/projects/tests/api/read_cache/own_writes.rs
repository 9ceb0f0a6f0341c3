//! Writes of this process: whatever the TTL, each shows in the very next read — directly over the use-cases, and
//! over gRPC with the service as deployed.

use tonic::Code;

use devopstrack_platform::auth::Role;
use devopstrack_projects::app::{NewDeployment, ProjectQuery, RepositoryInput};
use devopstrack_projects::domain::DeploymentStatus;
use devopstrack_projects::error::Error;
use devopstrack_proto::projects::v1 as pb;

use super::{
    LONG_TTL, Replicas, admin, all, assert_reads_show, environment, new_project, principal, reads, rename, slugs,
    viewer,
};
use crate::helpers::{spawn_app, with_token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_and_deleted_projects_show_in_the_next_list() {
    // Arrange
    let replicas = Replicas::new();
    let app = replicas.app(LONG_TTL).await;
    app.create_project(&admin(), new_project("api")).await.unwrap();
    let first = slugs(&app, all()).await;
    app.get_project(&viewer(), "api").await.unwrap();

    // Act
    app.create_project(&admin(), new_project("web")).await.unwrap();
    let after_create = slugs(&app, all()).await;
    app.delete_project(&admin(), "api").await.unwrap();
    let after_delete = slugs(&app, all()).await;
    let deleted = app.get_project(&viewer(), "api").await;

    // Assert
    assert_eq!(first, ["api"]);
    assert_eq!(after_create, ["api", "web"]);
    assert_eq!(after_delete, ["web"]);
    assert!(matches!(deleted, Err(Error::NotFound(_))), "{deleted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_to_a_project_shows_in_the_next_reads() {
    // Arrange
    let replicas = Replicas::new();
    let app = replicas.app(LONG_TTL).await;
    let created = app.create_project(&admin(), new_project("api")).await.unwrap();
    assert_reads_show(&app, &created).await;
    let repository = || RepositoryInput {
        url: "https://github.com/acme/api".into(),
        ..Default::default()
    };

    // Act / Assert: each write's answer is what every read shows next.
    let renamed = app
        .update_project(&admin(), "api", rename(created.project.version, "Renamed"))
        .await
        .unwrap();
    assert_eq!(renamed.project.name.as_str(), "Renamed");
    assert_reads_show(&app, &renamed).await;

    let with_repository = app.add_repository(&admin(), "api", repository()).await.unwrap();
    assert_eq!(with_repository.project.repositories.len(), 1);
    assert_reads_show(&app, &with_repository).await;

    let without_repository = app.remove_repository(&admin(), "api", &repository().url).await.unwrap();
    assert!(without_repository.project.repositories.is_empty());
    assert_reads_show(&app, &without_repository).await;

    let with_qa = app
        .upsert_environment(&admin(), "api", environment("qa"))
        .await
        .unwrap();
    assert_eq!(with_qa.project.environments.len(), 3);
    assert_reads_show(&app, &with_qa).await;

    let without_staging = app.delete_environment(&admin(), "api", "staging").await.unwrap();
    assert_eq!(without_staging.project.environments.len(), 2);
    assert_reads_show(&app, &without_staging).await;

    let archived = app.archive_project(&admin(), "api").await.unwrap();
    assert!(archived.project.archived_at.is_some());
    assert_reads_show(&app, &archived).await;
    assert!(
        slugs(&app, ProjectQuery::default()).await.is_empty(),
        "an archived project leaves the default list"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_deployment_shows_in_the_next_environment_states() {
    // Arrange
    let replicas = Replicas::new();
    let app = replicas.app(LONG_TTL).await;
    app.create_project(&admin(), new_project("api")).await.unwrap();
    let [_, _, _, before] = reads(&app, "api").await;
    let now = replicas.clock.now();
    let deployment = NewDeployment {
        id: "gh-1".into(),
        project: "api".into(),
        environment: "production".into(),
        version: "1.0.0".into(),
        status: Some(DeploymentStatus::Succeeded),
        started_at: Some(now),
        finished_at: Some(now),
        ..Default::default()
    };

    // Act
    let (recorded, created) = app
        .record_deployment(&principal(Role::Service), deployment)
        .await
        .unwrap();
    let after = reads(&app, "api").await;

    // Assert
    assert!(created);
    assert!(before.states.iter().all(|s| s.current.is_none()));
    for (read, seen) in ["by slug", "by id", "listed", "states"].into_iter().zip(after) {
        let production = seen
            .states
            .iter()
            .find(|s| s.environment.as_str() == "production")
            .expect("a production state");
        assert_eq!(production.current.as_ref(), Some(&recorded), "{read} is stale");
        assert_eq!(production.last.as_ref(), Some(&recorded), "{read} is stale");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_grpc_a_write_shows_in_the_next_read() {
    // Arrange: the service as deployed, with the default TTL (1 s).
    let app = spawn_app().await;
    let created = app.create_sample("api").await;
    let list = || async {
        app.list_projects(&app.viewer, pb::ListProjectsRequest::default())
            .await
            .expect("list projects")
    };
    let before = list().await;
    app.get_project(&app.viewer, "api").await.unwrap();

    // Act
    let updated = app
        .update_project(
            &app.admin,
            pb::UpdateProjectRequest {
                project: "api".into(),
                expected_version: created.version,
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["name".into()],
                }),
                name: "Renamed".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let got = app.get_project(&app.viewer, "api").await.unwrap();
    let after = list().await;
    let deleted = app
        .client()
        .delete_project(with_token(
            pb::DeleteProjectRequest { project: "api".into() },
            &app.admin,
        ))
        .await;
    let gone = app.get_project(&app.viewer, "api").await;
    let empty = list().await;

    // Assert
    assert_eq!(before.projects, [created]);
    assert_eq!(got, updated);
    assert_eq!(after.projects, [updated]);
    assert!(deleted.is_ok(), "{deleted:?}");
    assert_eq!(gone.expect_err("deleted").code(), Code::NotFound);
    assert!(empty.projects.is_empty());
}
