//! Releases and the deployment history: idempotent recording, the current version moving only on success, newest
//! first with page tokens, and archived projects refusing both.

use tonic::Code;

use devopstrack_proto::projects::v1 as pb;
use devopstrack_proto::projects::v1::DeploymentStatus::{Failed, RolledBack, Succeeded};

use crate::helpers::{assert_status, deployment, spawn_app, with_token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_a_deployment_twice_creates_it_once_and_only_success_moves_the_current_version() {
    // Arrange
    let app = spawn_app().await;
    let project = app.create_sample("api").await;

    // Act
    let first = app
        .record_deployment(
            &app.service,
            deployment("d1", "api", "production", "1.0.0", Succeeded, 0),
        )
        .await
        .unwrap();
    let again = app
        .record_deployment(
            &app.service,
            deployment("d1", &project.id, "production", "9.9.9", Failed, 5),
        )
        .await
        .unwrap();
    let after_first = app.environment_states(&app.viewer, "api").await.unwrap();
    app.record_deployment(&app.service, deployment("d2", "api", "production", "1.1.0", Failed, 10))
        .await
        .unwrap();
    let after_failure = app.environment_states(&app.viewer, "api").await.unwrap();
    app.record_deployment(
        &app.service,
        deployment("d3", "api", "production", "1.2.0", Succeeded, 20),
    )
    .await
    .unwrap();
    app.record_deployment(
        &app.service,
        deployment("d4", "api", "production", "1.3.0", RolledBack, 30),
    )
    .await
    .unwrap();
    let fetched = app.get_project(&app.viewer, "api").await.unwrap();
    let unknown_env = app
        .record_deployment(&app.service, deployment("d5", "api", "qa", "1.0.0", Succeeded, 40))
        .await;

    // Assert
    assert!(first.created);
    assert!(!again.created, "the same id again is not a new deployment");
    assert_eq!(
        again.deployment, first.deployment,
        "the stored deployment is answered unchanged"
    );
    let production = |envs: &[pb::Environment]| envs.iter().find(|e| e.name == "production").cloned().unwrap();
    let staging = |envs: &[pb::Environment]| envs.iter().find(|e| e.name == "staging").cloned().unwrap();
    assert_eq!(production(&after_first).current_version, "1.0.0");
    assert_eq!(staging(&after_first).current_version, "");
    assert!(staging(&after_first).last_deployment.is_none());
    let failed = production(&after_failure);
    assert_eq!(
        failed.current_version, "1.0.0",
        "a failure does not move the current version"
    );
    assert_eq!(failed.last_deployment.unwrap().id, "d2");
    let now = production(&fetched.environments);
    assert_eq!(now.current_version, "1.2.0");
    assert_eq!(now.last_deployment.unwrap().status, RolledBack as i32);
    assert_status(unknown_env, Code::NotFound, "deployment.environment");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_and_releases_list_newest_first_across_pages() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;
    for (i, env) in ["staging", "production", "staging", "production", "staging"]
        .iter()
        .enumerate()
    {
        let d = deployment(&format!("d{i}"), "api", env, &format!("1.{i}.0"), Succeeded, i as i64);
        app.record_deployment(&app.admin, d).await.unwrap();
    }
    for version in ["1.0.0", "1.1.0", "1.2.0"] {
        let request = pb::CreateReleaseRequest {
            project: "api".into(),
            version: version.into(),
            ..Default::default()
        };
        app.create_release(&app.operator, request).await.unwrap();
    }
    let mut client = app.client();

    // Act
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let request = pb::ListDeploymentsRequest {
            project: "api".into(),
            environment: "staging".into(),
            page_size: 2,
            page_token: token,
        };
        let page = client
            .list_deployments(with_token(request, &app.viewer))
            .await
            .unwrap()
            .into_inner();
        ids.extend(page.deployments.into_iter().map(|d| d.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let first_page = client
        .list_releases(with_token(
            pb::ListReleasesRequest {
                project: "api".into(),
                page_size: 2,
                page_token: String::new(),
            },
            &app.viewer,
        ))
        .await
        .unwrap()
        .into_inner();
    let second_page = client
        .list_releases(with_token(
            pb::ListReleasesRequest {
                project: "api".into(),
                page_size: 2,
                page_token: first_page.next_page_token.clone(),
            },
            &app.viewer,
        ))
        .await
        .unwrap()
        .into_inner();
    let token_elsewhere = client
        .list_deployments(with_token(
            pb::ListDeploymentsRequest {
                project: "api".into(),
                page_token: first_page.next_page_token,
                ..Default::default()
            },
            &app.viewer,
        ))
        .await;

    // Assert
    assert_eq!(ids, ["d4", "d2", "d0"]);
    let versions: Vec<_> = first_page
        .releases
        .iter()
        .chain(&second_page.releases)
        .map(|r| r.version.as_str())
        .collect();
    assert_eq!(versions, ["1.2.0", "1.1.0", "1.0.0"]);
    assert!(second_page.next_page_token.is_empty());
    assert_status(token_elsewhere, Code::InvalidArgument, "pageToken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_versions_are_unique_and_archived_projects_take_no_new_releases_or_deployments() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;
    let release = |version: &str| pb::CreateReleaseRequest {
        project: "api".into(),
        version: version.into(),
        commit_sha: "ABCDEF1".into(),
        notes: "notes".into(),
    };
    let created = app.create_release(&app.operator, release("2.0.0")).await.unwrap();

    // Act
    let duplicate = app.create_release(&app.operator, release("2.0.0")).await;
    app.client()
        .archive_project(with_token(
            pb::ArchiveProjectRequest { project: "api".into() },
            &app.admin,
        ))
        .await
        .unwrap();
    let after_archive = app.create_release(&app.operator, release("2.1.0")).await;
    let deployed = app
        .record_deployment(&app.service, deployment("d1", "api", "staging", "2.0.0", Succeeded, 0))
        .await;

    // Assert
    assert_eq!(
        (created.commit_sha.as_str(), created.created_by.is_empty()),
        ("abcdef1", false)
    );
    assert_status(duplicate, Code::AlreadyExists, "2.0.0");
    assert_status(after_archive, Code::FailedPrecondition, "archived");
    assert_status(deployed, Code::FailedPrecondition, "archived");
}
