//! Projects over gRPC: create, read by id or slug, list with order and page tokens, update with a compare-and-set,
//! archive, delete, repositories and environments.

use tonic::Code;

use devopstrack_proto::projects::v1 as pb;

use crate::helpers::{assert_status, environment, sample_project, spawn_app, with_token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_goes_through_create_read_update_archive_and_delete() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let created = app.create_project(&app.admin, sample_project("api")).await.unwrap();
    let by_slug = app.get_project(&app.viewer, "api").await.unwrap();
    let by_id = app.get_project(&app.viewer, &created.id).await.unwrap();
    let mask = prost_types::FieldMask {
        paths: vec!["name".into(), "tags".into()],
    };
    let updated = app
        .update_project(
            &app.admin,
            pb::UpdateProjectRequest {
                project: "api".into(),
                expected_version: created.version,
                update_mask: Some(mask),
                name: "The API".into(),
                tags: vec!["b".into(), "a".into(), "b".into()],
                description: "ignored: not in the mask".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let archive = || async {
        let request = with_token(pb::ArchiveProjectRequest { project: "api".into() }, &app.admin);
        app.client().archive_project(request).await
    };
    let archived = archive().await.unwrap().into_inner();
    let archived_again = archive().await.unwrap().into_inner();
    let listed = app
        .list_projects(&app.viewer, pb::ListProjectsRequest::default())
        .await
        .unwrap();
    let listed_all = app
        .list_projects(
            &app.viewer,
            pb::ListProjectsRequest {
                include_archived: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.client()
        .delete_project(with_token(
            pb::DeleteProjectRequest {
                project: created.id.clone(),
            },
            &app.admin,
        ))
        .await
        .unwrap();
    let gone = app.get_project(&app.viewer, "api").await;

    // Assert
    assert_eq!(
        (created.slug.as_str(), created.version, created.owner.as_str()),
        ("api", 1, app.admin_id.as_str())
    );
    let tiers: Vec<_> = created.environments.iter().map(|e| (e.name.as_str(), e.tier)).collect();
    assert_eq!(
        tiers,
        [
            ("staging", pb::Tier::Staging as i32),
            ("production", pb::Tier::Production as i32)
        ]
    );
    assert_eq!(created.repositories[0].provider, pb::Provider::Github as i32);
    assert_eq!(created.repositories[0].default_branch, "main");
    assert_eq!(by_slug, created);
    assert_eq!(by_id, created);
    assert_eq!((updated.name.as_str(), updated.version), ("The API", 2));
    assert_eq!(updated.tags, ["a", "b"]);
    assert_eq!(updated.description, created.description);
    let seconds = |p: &pb::Project| p.updated_at.map(|t| (t.seconds, t.nanos));
    assert!(seconds(&updated) >= seconds(&created));
    assert!(archived.archived_at.is_some());
    assert_eq!(archived_again, archived, "archiving twice changes nothing");
    assert!(listed.projects.is_empty(), "archived projects are hidden by default");
    assert_eq!(listed_all.projects.len(), 1);
    assert_status(gone, Code::NotFound, "api");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_expected_version_is_aborted_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let created = app.create_sample("api").await;
    let update = |expected_version, name: &str| pb::UpdateProjectRequest {
        project: created.id.clone(),
        expected_version,
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["name".into()],
        }),
        name: name.into(),
        ..Default::default()
    };
    app.update_project(&app.admin, update(1, "First")).await.unwrap();

    // Act
    let stale = app.update_project(&app.admin, update(1, "Second")).await;

    // Assert
    assert_status(stale, Code::Aborted, "version is 2, expected 1");
    assert_eq!(app.get_project(&app.viewer, "api").await.unwrap().name, "First");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_slug_already_exists_and_an_unknown_one_is_not_found() {
    // Arrange
    let app = spawn_app().await;
    app.create_sample("api").await;

    // Act
    let duplicate = app.create_project(&app.admin, sample_project("api")).await;
    let unknown = app.get_project(&app.viewer, "nope").await;
    let unknown_id = app
        .get_project(&app.viewer, "0190a0b0-0000-7000-8000-000000000000")
        .await;

    // Assert
    assert_status(duplicate, Code::AlreadyExists, "slug");
    assert_status(unknown, Code::NotFound, "nope");
    assert_status(unknown_id, Code::NotFound, "project");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_pages_through_every_project_in_order_and_binds_the_token_to_its_query() {
    // Arrange
    let app = spawn_app().await;
    for slug in ["p-c", "p-a", "p-e", "p-b", "p-d"] {
        app.create_sample(slug).await;
    }
    let request = |order_by: &str, page_token: String| pb::ListProjectsRequest {
        page_size: 2,
        page_token,
        order_by: order_by.into(),
        ..Default::default()
    };

    // Act
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = app.list_projects(&app.viewer, request("-slug", token)).await.unwrap();
        pages += 1;
        seen.extend(page.projects.into_iter().map(|p| p.slug));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let first = app
        .list_projects(&app.viewer, request("-slug", String::new()))
        .await
        .unwrap();
    let other_order = app
        .list_projects(&app.viewer, request("slug", first.next_page_token.clone()))
        .await;
    let other_filter = app
        .list_projects(
            &app.viewer,
            pb::ListProjectsRequest {
                tag: "team-a".into(),
                ..request("-slug", first.next_page_token)
            },
        )
        .await;
    let queried = app
        .list_projects(
            &app.viewer,
            pb::ListProjectsRequest {
                query: "P-D".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // Assert
    assert_eq!(seen, ["p-e", "p-d", "p-c", "p-b", "p-a"]);
    assert_eq!(pages, 3);
    assert_status(other_order, Code::InvalidArgument, "pageToken");
    assert_status(other_filter, Code::InvalidArgument, "pageToken");
    let slugs: Vec<_> = queried.projects.iter().map(|p| p.slug.as_str()).collect();
    assert_eq!(slugs, ["p-d"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repositories_and_environments_are_added_replaced_and_removed() {
    // Arrange
    let app = spawn_app().await;
    let created = app.create_sample("api").await;
    let mut client = app.client();
    let repo = pb::Repository {
        url: "git@gitlab.com:acme/api-infra.git".into(),
        ..Default::default()
    };

    // Act
    let with_repo = client
        .add_repository(with_token(
            pb::AddRepositoryRequest {
                project: "api".into(),
                repository: Some(repo.clone()),
            },
            &app.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let duplicate = client
        .add_repository(with_token(
            pb::AddRepositoryRequest {
                project: "api".into(),
                repository: Some(repo),
            },
            &app.admin,
        ))
        .await;
    let without_repo = client
        .remove_repository(with_token(
            pb::RemoveRepositoryRequest {
                project: "api".into(),
                url: "https://github.com/acme/api".into(),
            },
            &app.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let qa = pb::Environment {
        url: "https://qa.example.com".into(),
        protected: true,
        ..environment("qa")
    };
    let with_qa = client
        .upsert_environment(with_token(
            pb::UpsertEnvironmentRequest {
                project: "api".into(),
                environment: Some(qa),
            },
            &app.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let staging_as_prod = pb::Environment {
        tier: pb::Tier::Production as i32,
        ..environment("staging")
    };
    let replaced = client
        .upsert_environment(with_token(
            pb::UpsertEnvironmentRequest {
                project: "api".into(),
                environment: Some(staging_as_prod),
            },
            &app.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let without_qa = client
        .delete_environment(with_token(
            pb::DeleteEnvironmentRequest {
                project: "api".into(),
                name: "qa".into(),
            },
            &app.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let missing = client
        .delete_environment(with_token(
            pb::DeleteEnvironmentRequest {
                project: "api".into(),
                name: "qa".into(),
            },
            &app.admin,
        ))
        .await;

    // Assert
    assert_eq!(with_repo.repositories.len(), 2);
    assert_eq!(with_repo.repositories[1].provider, pb::Provider::Gitlab as i32);
    assert_eq!(with_repo.version, created.version + 1);
    assert_status(duplicate, Code::AlreadyExists, "repository.url");
    assert_eq!(without_repo.repositories.len(), 1);
    let qa = with_qa
        .environments
        .iter()
        .find(|e| e.name == "qa")
        .expect("qa was added");
    assert_eq!((qa.tier, qa.protected), (pb::Tier::Development as i32, true));
    assert_eq!(replaced.environments.len(), 3);
    assert_eq!(replaced.environments[0].tier, pb::Tier::Production as i32);
    let names: Vec<_> = without_qa.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["staging", "production"]);
    assert_eq!(without_qa.version, created.version + 5);
    assert_status(missing, Code::NotFound, "qa");
}
