//! Releases and deployments: per-project release versions, newest-first keyset pages, idempotent deployments, and the
//! environment state derived from the history.

use std::sync::Arc;

use chrono::TimeDelta;
use devopstrack_projects::domain::{DeploymentRecord, DeploymentStatus, EnvironmentState, ReleaseRecord, TimeCursor};
use devopstrack_projects::store::{ProjectStore, StoreError};
use uuid::Uuid;

use super::{at, deployment, env, release, seeded_project, version};

use DeploymentStatus::{Failed, RolledBack, Succeeded};

conformance!(
    duplicate_release_version_conflicts_per_project_only,
    releases_and_deployments_list_newest_first_and_paginate,
    recording_a_deployment_twice_changes_nothing,
    environment_state_moves_with_succeeded_deployments,
    deployments_filter_by_environment,
    states_of_a_page_of_projects_match_asking_one_by_one,
);

async fn duplicate_release_version_conflicts_per_project_only(store: Arc<dyn ProjectStore>) {
    // Arrange
    let (one, two) = (
        seeded_project(store.as_ref(), "one").await,
        seeded_project(store.as_ref(), "two").await,
    );
    let first = release(one.id, "1.0.0", at(1) + TimeDelta::microseconds(7));
    let mut without_commit = release(one.id, "v2.0.0-rc.1+build.5", at(2));
    without_commit.commit_sha = None;
    without_commit.notes = String::new();

    // Act
    store.insert_release(&first).await.expect("insert the first release");
    store
        .insert_release(&without_commit)
        .await
        .expect("insert a release without commit");
    let duplicate = store.insert_release(&release(one.id, "1.0.0", at(3))).await;
    let elsewhere = release(two.id, "1.0.0", at(4));
    store
        .insert_release(&elsewhere)
        .await
        .expect("the same version in another project");

    // Assert
    assert!(
        matches!(duplicate, Err(StoreError::Conflict("release version"))),
        "{duplicate:?}"
    );
    assert_eq!(
        store.release_by_version(one.id, "1.0.0").await.expect("by version"),
        Some(first.clone())
    );
    assert_eq!(
        store
            .release_by_version(one.id, "v2.0.0-rc.1+build.5")
            .await
            .expect("by version"),
        Some(without_commit.clone())
    );
    assert_eq!(
        store.release_by_version(two.id, "1.0.0").await.expect("by version"),
        Some(elsewhere)
    );
    assert_eq!(
        store
            .release_by_version(one.id, "9.9.9")
            .await
            .expect("unknown version"),
        None
    );
    assert_eq!(
        store
            .release_by_version(Uuid::new_v4(), "1.0.0")
            .await
            .expect("unknown project"),
        None
    );
    assert_eq!(
        store.list_releases(one.id, None, 10).await.expect("list_releases"),
        [without_commit, first]
    );
}

async fn releases_and_deployments_list_newest_first_and_paginate(store: Arc<dyn ProjectStore>) {
    // Arrange: 12 of each, created or finished three at a time at the same instant, inserted out of order, plus one
    // of each in another project.
    let project = seeded_project(store.as_ref(), "history").await;
    let other = seeded_project(store.as_ref(), "other").await;
    let mut releases = Vec::new();
    let mut deployments = Vec::new();
    for i in [4_i64, 9, 0, 11, 2, 7, 5, 1, 10, 3, 8, 6] {
        let r = release(project.id, &format!("1.{i}.0"), at(i / 3));
        store.insert_release(&r).await.expect("insert_release");
        releases.push(r);
        // Ids of both kinds: UUIDs and provider ids.
        let id = if i % 2 == 0 {
            Uuid::new_v4().to_string()
        } else {
            format!("gh-{}", 1000 - i)
        };
        let status = if i % 4 == 1 { Failed } else { Succeeded };
        let d = deployment(
            &id,
            project.id,
            if i % 3 == 0 { "staging" } else { "production" },
            status,
            at(i / 3),
        );
        store.record_deployment(&d).await.expect("record_deployment");
        deployments.push(d);
    }
    store
        .insert_release(&release(other.id, "1.0.0", at(99)))
        .await
        .expect("insert_release elsewhere");
    let elsewhere = deployment("elsewhere", other.id, "production", Succeeded, at(99));
    store
        .record_deployment(&elsewhere)
        .await
        .expect("record_deployment elsewhere");
    releases.sort_by_key(|r| (r.created_at, r.id.to_string()));
    releases.reverse();
    deployments.sort_by(|a, b| (b.finished_at, &b.id).cmp(&(a.finished_at, &a.id)));

    // Act
    let mut release_pages: Vec<Vec<ReleaseRecord>> = Vec::new();
    let mut after: Option<TimeCursor> = None;
    loop {
        let page = store
            .list_releases(project.id, after.as_ref(), 5)
            .await
            .expect("list_releases");
        let Some(last) = page.last() else { break };
        after = Some(TimeCursor {
            at: last.created_at,
            id: last.id.to_string(),
        });
        release_pages.push(page);
        assert!(release_pages.len() <= 5, "release pagination does not end");
    }
    let mut deployment_pages: Vec<Vec<DeploymentRecord>> = Vec::new();
    let mut after: Option<TimeCursor> = None;
    loop {
        let page = store
            .list_deployments(project.id, None, after.as_ref(), 5)
            .await
            .expect("list_deployments");
        let Some(last) = page.last() else { break };
        after = Some(TimeCursor {
            at: last.finished_at,
            id: last.id.clone(),
        });
        deployment_pages.push(page);
        assert!(deployment_pages.len() <= 5, "deployment pagination does not end");
    }

    // Assert
    assert_eq!(release_pages.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5, 2]);
    assert_eq!(release_pages.concat(), releases);
    assert_eq!(deployment_pages.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5, 2]);
    assert_eq!(deployment_pages.concat(), deployments);
    assert_eq!(store.list_releases(project.id, None, 0).await.expect("limit 0"), []);
    assert_eq!(
        store
            .list_deployments(project.id, None, None, 0)
            .await
            .expect("limit 0"),
        []
    );
    assert_eq!(
        store
            .list_deployments(other.id, None, None, 5)
            .await
            .expect("list elsewhere"),
        [elsewhere]
    );
}

async fn recording_a_deployment_twice_changes_nothing(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = seeded_project(store.as_ref(), "idempotent").await;
    let first = deployment("gh-42", project.id, "production", Succeeded, at(10));
    let mut retry = first.clone();
    retry.version = version("9.9.9");
    retry.status = Failed;
    retry.finished_at = at(20);
    retry.triggered_by = "someone-else".to_owned();
    retry.environment = env("staging");

    // Act
    let recorded = store.record_deployment(&first).await.expect("first record");
    let repeated = store.record_deployment(&retry).await.expect("second record");

    // Assert
    assert_eq!(recorded, (first.clone(), true));
    assert_eq!(repeated, (first.clone(), false));
    assert_eq!(
        store.list_deployments(project.id, None, None, 10).await.expect("list"),
        std::slice::from_ref(&first)
    );
    let states = store
        .environment_states(project.id, &[env("production"), env("staging")])
        .await
        .expect("states");
    assert_eq!(states[0].current.as_ref(), Some(&first));
    assert_eq!(states[1].last, None);
}

async fn environment_state_moves_with_succeeded_deployments(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = seeded_project(store.as_ref(), "states").await;
    let names = [env("production"), env("dev"), env("staging")];
    let state = |current: Option<&DeploymentRecord>, last: Option<&DeploymentRecord>| (current.cloned(), last.cloned());
    let production = |states: &[EnvironmentState]| (states[0].current.clone(), states[0].last.clone());
    let record = |d: DeploymentRecord| {
        let store = Arc::clone(&store);
        async move {
            assert!(
                store.record_deployment(&d).await.expect("record_deployment").1,
                "{d:?} is new"
            );
            d
        }
    };
    let states = || {
        let store = Arc::clone(&store);
        let names = names.clone();
        async move {
            store
                .environment_states(project.id, &names)
                .await
                .expect("environment_states")
        }
    };

    // Act / Assert: nothing deployed yet.
    let empty = states().await;
    assert_eq!(empty.iter().map(|s| s.environment.clone()).collect::<Vec<_>>(), names);
    assert!(empty.iter().all(|s| s.current.is_none() && s.last.is_none()));

    let s1 = record(deployment("s1", project.id, "production", Succeeded, at(10))).await;
    assert_eq!(production(&states().await), state(Some(&s1), Some(&s1)));
    // Failed and rolled back deployments move `last` only.
    let f2 = record(deployment("f2", project.id, "production", Failed, at(20))).await;
    assert_eq!(production(&states().await), state(Some(&s1), Some(&f2)));
    let r3 = record(deployment("r3", project.id, "production", RolledBack, at(30))).await;
    assert_eq!(production(&states().await), state(Some(&s1), Some(&r3)));
    let s4 = record(deployment("s4", project.id, "production", Succeeded, at(40))).await;
    assert_eq!(production(&states().await), state(Some(&s4), Some(&s4)));
    // Arriving late does not make an older deployment the latest.
    record(deployment("s0-late", project.id, "production", Succeeded, at(5))).await;
    record(deployment("f1-late", project.id, "production", Failed, at(39))).await;
    assert_eq!(production(&states().await), state(Some(&s4), Some(&s4)));
    // The same finished_at: the greater id wins; one microsecond later wins over both.
    record(deployment("s5-a", project.id, "production", Succeeded, at(50))).await;
    let s5b = record(deployment("s5-b", project.id, "production", Succeeded, at(50))).await;
    assert_eq!(production(&states().await), state(Some(&s5b), Some(&s5b)));
    let f6 = record(deployment(
        "a-f6",
        project.id,
        "production",
        Failed,
        at(50) + TimeDelta::microseconds(1),
    ))
    .await;
    assert_eq!(production(&states().await), state(Some(&s5b), Some(&f6)));
    // Other environments have their own state, and a failure alone leaves `current` empty.
    let staging_failed = record(deployment("st1", project.id, "staging", Failed, at(60))).await;
    let all = states().await;
    assert_eq!((all[1].current.clone(), all[1].last.clone()), (None, None));
    assert_eq!(
        (all[2].current.clone(), all[2].last.clone()),
        state(None, Some(&staging_failed))
    );
}

async fn deployments_filter_by_environment(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = seeded_project(store.as_ref(), "envs").await;
    let other = seeded_project(store.as_ref(), "other-envs").await;
    let mut staging = Vec::new();
    let mut everything = Vec::new();
    for i in 0..7_i64 {
        let environment = if i % 2 == 0 { "staging" } else { "production" };
        let d = deployment(&format!("d-{i}"), project.id, environment, Succeeded, at(i));
        store.record_deployment(&d).await.expect("record_deployment");
        if environment == "staging" {
            staging.insert(0, d.clone());
        }
        everything.insert(0, d);
    }
    store
        .record_deployment(&deployment("o-1", other.id, "staging", Succeeded, at(100)))
        .await
        .expect("record_deployment elsewhere");
    let (staging_env, dev) = (env("staging"), env("dev"));

    // Act
    let first = store
        .list_deployments(project.id, Some(&staging_env), None, 3)
        .await
        .expect("first page");
    let last = first.last().expect("a full first page");
    let cursor = TimeCursor {
        at: last.finished_at,
        id: last.id.clone(),
    };
    let second = store
        .list_deployments(project.id, Some(&staging_env), Some(&cursor), 3)
        .await
        .expect("second page");

    // Assert
    assert_eq!([first, second].concat(), staging);
    assert_eq!(
        store.list_deployments(project.id, None, None, 50).await.expect("all"),
        everything
    );
    assert_eq!(
        store
            .list_deployments(project.id, Some(&dev), None, 50)
            .await
            .expect("unknown env"),
        []
    );
}

async fn states_of_a_page_of_projects_match_asking_one_by_one(store: Arc<dyn ProjectStore>) {
    // Arrange: three projects; deployments with ties, failures and late arrivals; one project never deployed.
    let a = seeded_project(store.as_ref(), "batch-a").await;
    let b = seeded_project(store.as_ref(), "batch-b").await;
    let quiet = seeded_project(store.as_ref(), "batch-quiet").await;
    let history = [
        deployment("a1", a.id, "production", Succeeded, at(10)),
        deployment("a2", a.id, "production", Failed, at(20)),
        deployment("a3", a.id, "staging", Succeeded, at(15)),
        deployment("a4-late", a.id, "staging", Succeeded, at(5)),
        deployment("b1", b.id, "production", Succeeded, at(30)),
        deployment("b2", b.id, "production", Succeeded, at(30)),
        deployment("b3", b.id, "dev", RolledBack, at(40)),
    ];
    for d in &history {
        store.record_deployment(d).await.expect("record_deployment");
    }
    let names = vec![env("production"), env("staging"), env("dev"), env("never-deployed")];
    let page = vec![
        (b.id, names.clone()),
        (quiet.id, names.clone()),
        (a.id, names[..2].to_vec()),
    ];

    // Act
    let batched = store
        .environment_states_many(&page)
        .await
        .expect("environment_states_many");

    // Assert: the same answers, in the order asked.
    let mut one_by_one = Vec::new();
    for (project_id, environments) in &page {
        one_by_one.push(
            store
                .environment_states(*project_id, environments)
                .await
                .expect("environment_states"),
        );
    }
    assert_eq!(batched, one_by_one);
    assert_eq!(
        batched[0][0].current.as_ref().map(|d| d.id.as_str()),
        Some("b2"),
        "ties go to the greater id"
    );
    assert_eq!(batched[2][0].last.as_ref().map(|d| d.id.as_str()), Some("a2"));
    assert_eq!(batched[2][1].current.as_ref().map(|d| d.id.as_str()), Some("a3"));
    assert!(batched[1].iter().all(|s| s.current.is_none() && s.last.is_none()));
    assert!(store.environment_states_many(&[]).await.expect("empty page").is_empty());
}
