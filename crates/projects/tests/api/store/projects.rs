//! Projects: exact round trips, the unique slug, keyset pages in every order, filters, compare-and-set, deletion.

use std::sync::Arc;

use chrono::TimeDelta;
use devopstrack_projects::domain::{
    DeploymentStatus, ProjectCursor, ProjectFilter, ProjectListing, ProjectName, ProjectOrder, ProjectRecord,
    ProjectSortField, Provider, RepoUrl, Repository, Slug, SortKey, Tag,
};
use devopstrack_projects::store::{ProjectStore, Replace, StoreError};
use uuid::Uuid;

use super::{at, deployment, env, project, release, seeded_project};

conformance!(
    projects_round_trip_every_field_at_microsecond_precision,
    duplicate_slug_conflicts,
    projects_paginate_without_gaps_or_duplicates,
    filters_by_text_tag_and_archived,
    replace_is_compare_and_set,
    delete_removes_releases_and_deployments,
);

async fn projects_round_trip_every_field_at_microsecond_precision(store: Arc<dyn ProjectStore>) {
    // Arrange
    store.ping().await.expect("ping");
    let mut stored = project("round-trip");
    stored.archived_at = Some(at(3600) + TimeDelta::microseconds(999_999));
    stored.description = "Ünïcode, quotes \" ' and\ttabs".to_owned();
    for time in [
        stored.created_at,
        stored.updated_at,
        stored.archived_at.expect("archived"),
    ] {
        assert_ne!(
            time.timestamp_subsec_micros() % 1000,
            0,
            "fixtures need sub-millisecond digits"
        );
    }

    // Act
    store.insert_project(&stored).await.expect("insert_project");

    // Assert
    assert_eq!(
        store.project_by_id(stored.id).await.expect("project_by_id"),
        Some(stored.clone())
    );
    let by_slug = store.project_by_slug(&stored.slug).await.expect("project_by_slug");
    assert_eq!(by_slug, Some(stored.clone()));
    assert_eq!(store.project_by_id(Uuid::new_v4()).await.expect("unknown id"), None);
    let unknown = Slug::parse("no-such-project").expect("slug");
    assert_eq!(store.project_by_slug(&unknown).await.expect("unknown slug"), None);

    // Act: replace every mutable field, including emptying the lists.
    let mut changed = stored.clone();
    changed.name = ProjectName::parse("Renamed").expect("name");
    changed.description = String::new();
    changed.tags = vec![Tag::parse("zeta").expect("tag")];
    changed.owner = "someone-else".to_owned();
    changed.repositories = vec![Repository {
        url: RepoUrl::parse("https://bitbucket.org/acme/x").expect("url"),
        provider: Provider::Other,
        default_branch: "trunk".to_owned(),
    }];
    changed.environments = Vec::new();
    changed.version = stored.version + 1;
    changed.updated_at = at(7200) + TimeDelta::microseconds(1);
    changed.archived_at = None;
    let replaced = store
        .replace_project(&changed, stored.version)
        .await
        .expect("replace_project");

    // Assert
    assert_eq!(replaced, Replace::Done);
    assert_eq!(
        store.project_by_id(stored.id).await.expect("project_by_id"),
        Some(changed)
    );
    assert!(store.delete_project(stored.id).await.expect("delete_project"));
    assert_eq!(
        store
            .project_by_id(stored.id)
            .await
            .expect("project_by_id after delete"),
        None
    );
    assert!(!store.delete_project(stored.id).await.expect("delete_project again"));
}

async fn duplicate_slug_conflicts(store: Arc<dyn ProjectStore>) {
    // Arrange: the first holder of the slug is archived, and keeps it.
    let mut first = project("taken");
    first.archived_at = Some(at(10));
    store.insert_project(&first).await.expect("insert the first project");
    let second = project("taken");

    // Act
    let outcome = store.insert_project(&second).await;

    // Assert
    assert!(matches!(outcome, Err(StoreError::Conflict("slug"))), "{outcome:?}");
    assert_eq!(store.project_by_slug(&first.slug).await.expect("by slug"), Some(first));
    assert_eq!(store.project_by_id(second.id).await.expect("by id"), None);
}

/// 23 projects whose names repeat and whose times come in groups, so the id tie-breaker decides many positions.
async fn projects_paginate_without_gaps_or_duplicates(store: Arc<dyn ProjectStore>) {
    // Arrange
    const NAMES: [&str; 4] = ["Alpha", "beta", "Alpha", "Gamma"];
    let mut all = Vec::new();
    for i in [
        7, 3, 19, 0, 22, 11, 5, 14, 1, 20, 9, 16, 2, 13, 21, 8, 4, 17, 10, 15, 6, 18, 12,
    ] {
        let mut p = project(&format!("p-{i:02}"));
        p.name = ProjectName::parse(NAMES[i % NAMES.len()]).expect("name");
        p.created_at = at(i64::try_from(i / 5).expect("small"));
        p.updated_at = at(100 + i64::try_from(i % 3).expect("small"));
        store.insert_project(&p).await.expect("insert_project");
        all.push(p);
    }
    let filter = ProjectFilter {
        include_archived: true,
        ..ProjectFilter::default()
    };
    let empty_page = store
        .list_projects(&ProjectListing {
            filter: filter.clone(),
            order: ProjectOrder::default(),
            after: None,
            limit: 0,
        })
        .await
        .expect("list_projects with limit 0");
    assert_eq!(empty_page, [], "a limit of 0 is an empty page, not \"no limit\"");

    for field in [
        ProjectSortField::Slug,
        ProjectSortField::Name,
        ProjectSortField::CreatedAt,
        ProjectSortField::UpdatedAt,
    ] {
        for descending in [false, true] {
            let order = ProjectOrder { field, descending };
            let key = |p: &ProjectRecord| match field {
                ProjectSortField::Slug => SortKey::Text(p.slug.as_str().to_owned()),
                ProjectSortField::Name => SortKey::Text(p.name.as_str().to_owned()),
                ProjectSortField::CreatedAt => SortKey::Time(p.created_at),
                ProjectSortField::UpdatedAt => SortKey::Time(p.updated_at),
            };
            let mut expected = all.clone();
            expected.sort_by_key(|p| (sort_text(&key(p)), p.id.to_string()));
            if descending {
                expected.reverse();
            }

            // Act
            let mut seen = Vec::new();
            let mut sizes = Vec::new();
            let mut after: Option<ProjectCursor> = None;
            loop {
                let page = store
                    .list_projects(&ProjectListing {
                        filter: filter.clone(),
                        order,
                        after: after.clone(),
                        limit: 5,
                    })
                    .await
                    .expect("list_projects");
                sizes.push(page.len());
                let Some(last) = page.last() else { break };
                after = Some(ProjectCursor {
                    key: key(last),
                    id: last.id,
                });
                seen.extend(page);
                assert!(sizes.len() <= 10, "{order:?}: pagination does not end");
            }

            // Assert
            assert_eq!(sizes, [5, 5, 5, 5, 3, 0], "{order:?}: page sizes");
            let seen_slugs: Vec<_> = seen.iter().map(|p| p.slug.as_str()).collect();
            let expected_slugs: Vec<_> = expected.iter().map(|p| p.slug.as_str()).collect();
            assert_eq!(seen_slugs, expected_slugs, "{order:?}");
            assert_eq!(seen, expected, "{order:?}: whole records");
        }
    }
}

/// A text form of a sort key whose order is the key's order (times as zero-padded micros).
fn sort_text(key: &SortKey) -> String {
    match key {
        SortKey::Text(text) => text.clone(),
        SortKey::Time(at) => format!("{:020}", at.timestamp_micros()),
    }
}

async fn filters_by_text_tag_and_archived(store: Arc<dyn ProjectStore>) {
    // Arrange
    let tags = |raw: &[&str]| Tag::parse_list(&raw.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>()).expect("tags");
    let mut web = project("web-shop");
    web.name = ProjectName::parse("Web Shop").expect("name");
    web.description = "Sells things. Fast.".to_owned();
    web.tags = tags(&["frontend", "shop"]);
    let mut lab = project("regex-lab");
    lab.name = ProjectName::parse("Regex .* Lab").expect("name");
    lab.description = String::new();
    lab.tags = tags(&["tools"]);
    let mut api = project("api");
    api.name = ProjectName::parse("API Gateway").expect("name");
    api.description = "Routes requests".to_owned();
    api.tags = tags(&["backend"]);
    api.archived_at = Some(at(50));
    let mut billing = project("billing");
    billing.name = ProjectName::parse("Billing").expect("name");
    billing.description = "Invoices (monthly) for WEB customers".to_owned();
    billing.tags = tags(&["backend", "money"]);
    for p in [&web, &lab, &api, &billing] {
        store.insert_project(p).await.expect("insert_project");
    }
    let list = |query: Option<&str>, tag: Option<&str>, include_archived: bool| {
        let store = Arc::clone(&store);
        let filter = ProjectFilter {
            query: query.map(str::to_owned),
            tag: tag.map(|t| Tag::parse(t).expect("tag")),
            include_archived,
        };
        async move {
            let found = store
                .list_projects(&ProjectListing {
                    filter,
                    order: ProjectOrder::default(),
                    after: None,
                    limit: 50,
                })
                .await
                .expect("list_projects");
            found
                .into_iter()
                .map(|p| p.slug.as_str().to_owned())
                .collect::<Vec<_>>()
        }
    };

    // Act / Assert: archived projects only on request.
    assert_eq!(list(None, None, false).await, ["billing", "regex-lab", "web-shop"]);
    assert_eq!(
        list(None, None, true).await,
        ["api", "billing", "regex-lab", "web-shop"]
    );
    // Text: case-insensitive over slug, name and description.
    assert_eq!(list(Some("web"), None, false).await, ["billing", "web-shop"]);
    assert_eq!(list(Some("GATEWAY"), None, false).await, Vec::<String>::new());
    assert_eq!(list(Some("GATEWAY"), None, true).await, ["api"]);
    assert_eq!(list(Some("things. f"), None, false).await, ["web-shop"]);
    // Text is literal: no regex or LIKE patterns.
    assert_eq!(list(Some(".*"), None, true).await, ["regex-lab"]);
    assert_eq!(list(Some("(monthly)"), None, true).await, ["billing"]);
    assert_eq!(list(Some("a.i"), None, true).await, Vec::<String>::new());
    assert_eq!(list(Some("%"), None, true).await, Vec::<String>::new());
    assert_eq!(list(Some("b_lling"), None, true).await, Vec::<String>::new());
    assert_eq!(list(Some("^web"), None, true).await, Vec::<String>::new());
    // Tags, and everything together.
    assert_eq!(list(None, Some("backend"), false).await, ["billing"]);
    assert_eq!(list(None, Some("backend"), true).await, ["api", "billing"]);
    assert_eq!(list(None, Some("back"), true).await, Vec::<String>::new());
    assert_eq!(list(Some("web"), Some("shop"), false).await, ["web-shop"]);
    assert_eq!(list(Some("routes"), Some("backend"), true).await, ["api"]);
}

async fn replace_is_compare_and_set(store: Arc<dyn ProjectStore>) {
    // Arrange
    let original = seeded_project(store.as_ref(), "cas").await;
    let mut first = original.clone();
    first.owner = "first-writer".to_owned();
    first.version = 2;
    let mut second = original.clone();
    second.owner = "second-writer".to_owned();
    second.version = 2;

    // Act
    let won = store.replace_project(&first, 1).await.expect("first replace");
    let lost = store.replace_project(&second, 1).await.expect("second replace");
    let mut stranger = project("stranger");
    stranger.version = 2;
    let missing = store.replace_project(&stranger, 1).await.expect("replace unknown");

    // Assert
    assert_eq!(won, Replace::Done);
    assert_eq!(lost, Replace::VersionMismatch { current: 2 });
    assert_eq!(missing, Replace::NotFound);
    assert_eq!(
        store.project_by_id(original.id).await.expect("project_by_id"),
        Some(first)
    );
    assert_eq!(store.project_by_id(stranger.id).await.expect("project_by_id"), None);
}

async fn delete_removes_releases_and_deployments(store: Arc<dyn ProjectStore>) {
    // Arrange: two projects with history.
    let doomed = seeded_project(store.as_ref(), "doomed").await;
    let kept = seeded_project(store.as_ref(), "kept").await;
    for p in [&doomed, &kept] {
        store
            .insert_release(&release(p.id, "1.0.0", at(1)))
            .await
            .expect("insert_release");
        let id = format!("dep-{}", p.slug);
        store
            .record_deployment(&deployment(&id, p.id, "production", DeploymentStatus::Succeeded, at(2)))
            .await
            .expect("record_deployment");
    }
    let production = [env("production")];

    // Act
    let deleted = store.delete_project(doomed.id).await.expect("delete_project");

    // Assert
    assert!(deleted);
    assert_eq!(store.project_by_id(doomed.id).await.expect("project_by_id"), None);
    assert_eq!(
        store.list_releases(doomed.id, None, 10).await.expect("list_releases"),
        []
    );
    assert_eq!(
        store
            .release_by_version(doomed.id, "1.0.0")
            .await
            .expect("release_by_version"),
        None
    );
    assert_eq!(
        store
            .list_deployments(doomed.id, None, None, 10)
            .await
            .expect("list_deployments"),
        []
    );
    let states = store
        .environment_states(doomed.id, &production)
        .await
        .expect("environment_states");
    assert_eq!((states[0].current.as_ref(), states[0].last.as_ref()), (None, None));
    assert!(!store.delete_project(doomed.id).await.expect("delete_project again"));
    // The deployment id is free again, and the other project is untouched.
    let again = deployment("dep-doomed", doomed.id, "production", DeploymentStatus::Failed, at(3));
    assert_eq!(
        store.record_deployment(&again).await.expect("record_deployment"),
        (again.clone(), true)
    );
    assert_eq!(
        store.project_by_id(kept.id).await.expect("project_by_id"),
        Some(kept.clone())
    );
    assert_eq!(
        store
            .list_releases(kept.id, None, 10)
            .await
            .expect("list_releases")
            .len(),
        1
    );
    assert_eq!(
        store
            .list_deployments(kept.id, None, None, 10)
            .await
            .expect("list_deployments")
            .len(),
        1
    );
}
