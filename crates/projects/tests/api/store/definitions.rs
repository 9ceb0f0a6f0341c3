//! Pipeline definitions: exact round trips (the spec's JSON, placeholders and numbers as sent), the unique name per
//! project, listing by name, compare-and-set replace and delete, a project created with its definitions in one
//! write (and none of them when its slug is taken), deletion with the project; and rollback deployments keep their
//! flag.

use std::sync::Arc;

use chrono::TimeDelta;
use devopstrack_projects::domain::{
    DefinitionKind, DefinitionName, DefinitionRecord, DeploymentStatus, default_definitions,
};
use devopstrack_projects::store::{ProjectStore, Replace, StoreError};
use serde_json::json;
use uuid::Uuid;

use super::{at, deployment, project, seeded_project};

conformance!(
    definitions_round_trip_every_field,
    definition_names_are_unique_per_project,
    definitions_list_by_name_per_project,
    definition_replace_is_compare_and_set,
    definition_delete_is_compare_and_set,
    a_project_is_created_with_its_definitions_or_not_at_all,
    deleting_a_project_deletes_its_definitions,
    rollback_deployments_keep_their_flag,
);

fn name(raw: &str) -> DefinitionName {
    DefinitionName::parse(raw).expect("a valid definition name")
}

/// A deploy definition with an http job using placeholders, a float and a large integer in its params.
fn definition(project_id: Uuid, raw_name: &str) -> DefinitionRecord {
    let spec = serde_json::from_value(json!({"stages": [
        {"name": "deploy", "jobs": [{
            "name": "hook",
            "executor": "http",
            "params": {"url": "https://deploy.example/${environment}?v=${version}&c=${commit}"},
            "timeout_s": 600,
            "retry": {"max_attempts": 3, "initial_backoff_ms": 250},
            "allow_failure": false,
            "requires_approval": true,
        }]},
        {"name": "verify", "jobs": [{
            "name": "smoke",
            "params": {"durationMs": 3_600_000, "failRate": 0.25, "logLines": 7},
        }]},
    ]}))
    .expect("a spec");
    DefinitionRecord {
        project_id,
        name: name(raw_name),
        kind: DefinitionKind::Deploy,
        description: "Ünïcode \"quoted\" deploy".to_owned(),
        spec,
        allow_unreleased: true,
        version: 1,
        created_at: at(10),
        updated_at: at(10) + TimeDelta::microseconds(1),
    }
}

async fn definitions_round_trip_every_field(store: Arc<dyn ProjectStore>) {
    // Arrange
    let p = seeded_project(store.as_ref(), "defs-round-trip").await;
    let stored = definition(p.id, "deploy-eu");

    // Act
    store.insert_definition(&stored).await.expect("insert_definition");

    // Assert
    assert_eq!(
        store.definition(p.id, &stored.name).await.expect("definition"),
        Some(stored.clone())
    );
    assert_eq!(store.definition(p.id, &name("other")).await.expect("unknown"), None);
    assert_eq!(
        store
            .definition(Uuid::new_v4(), &stored.name)
            .await
            .expect("other project"),
        None
    );
}

async fn definition_names_are_unique_per_project(store: Arc<dyn ProjectStore>) {
    // Arrange
    let a = seeded_project(store.as_ref(), "defs-unique-a").await;
    let b = seeded_project(store.as_ref(), "defs-unique-b").await;
    store.insert_definition(&definition(a.id, "ci")).await.expect("first");

    // Act
    let again = store.insert_definition(&definition(a.id, "ci")).await;
    let elsewhere = store.insert_definition(&definition(b.id, "ci")).await;

    // Assert
    assert!(
        matches!(again, Err(StoreError::Conflict("definition name"))),
        "{again:?}"
    );
    elsewhere.expect("the same name in another project");
}

async fn definitions_list_by_name_per_project(store: Arc<dyn ProjectStore>) {
    // Arrange
    let a = seeded_project(store.as_ref(), "defs-list-a").await;
    let b = seeded_project(store.as_ref(), "defs-list-b").await;
    for n in ["zeta", "alpha", "m-1"] {
        store.insert_definition(&definition(a.id, n)).await.expect("insert");
    }
    store
        .insert_definition(&definition(b.id, "beta"))
        .await
        .expect("insert");

    // Act
    let listed = store.list_definitions(a.id).await.expect("list");

    // Assert
    let names: Vec<_> = listed.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["alpha", "m-1", "zeta"]);
    assert!(store.list_definitions(Uuid::new_v4()).await.expect("none").is_empty());
}

async fn definition_replace_is_compare_and_set(store: Arc<dyn ProjectStore>) {
    // Arrange
    let p = seeded_project(store.as_ref(), "defs-cas").await;
    let first = definition(p.id, "deploy");
    store.insert_definition(&first).await.expect("insert");
    let mut next = first.clone();
    next.kind = DefinitionKind::Ci;
    next.description = String::new();
    next.allow_unreleased = false;
    next.spec.stages.truncate(1);
    next.version = 2;
    next.updated_at = at(20);

    // Act
    let done = store.replace_definition(&next, 1).await.expect("replace");
    let stale = store.replace_definition(&next, 1).await.expect("stale replace");
    let mut missing = next.clone();
    missing.name = name("missing");
    let gone = store.replace_definition(&missing, 1).await.expect("missing");

    // Assert
    assert_eq!(done, Replace::Done);
    assert_eq!(stale, Replace::VersionMismatch { current: 2 });
    assert_eq!(gone, Replace::NotFound);
    let read = store.definition(p.id, &next.name).await.expect("read").expect("found");
    assert_eq!(read, next);
    assert_eq!(read.created_at, first.created_at);
}

async fn definition_delete_is_compare_and_set(store: Arc<dyn ProjectStore>) {
    // Arrange
    let p = seeded_project(store.as_ref(), "defs-delete").await;
    store.insert_definition(&definition(p.id, "a")).await.expect("insert");
    store.insert_definition(&definition(p.id, "b")).await.expect("insert");

    // Act / Assert
    assert_eq!(
        store.delete_definition(p.id, &name("a"), Some(7)).await.expect("stale"),
        Replace::VersionMismatch { current: 1 }
    );
    assert_eq!(
        store
            .delete_definition(p.id, &name("a"), Some(1))
            .await
            .expect("delete"),
        Replace::Done
    );
    assert_eq!(
        store
            .delete_definition(p.id, &name("b"), None)
            .await
            .expect("any version"),
        Replace::Done
    );
    assert_eq!(
        store.delete_definition(p.id, &name("a"), None).await.expect("again"),
        Replace::NotFound
    );
    assert!(store.list_definitions(p.id).await.expect("list").is_empty());
}

async fn a_project_is_created_with_its_definitions_or_not_at_all(store: Arc<dyn ProjectStore>) {
    // Arrange
    let first = project("defs-with-project");
    let defaults = default_definitions(first.id, at(0));

    // Act
    store
        .insert_project_with_definitions(&first, &defaults)
        .await
        .expect("insert with definitions");
    let mut taken = project("defs-with-project");
    taken.id = Uuid::new_v4();
    let refused = store
        .insert_project_with_definitions(&taken, &default_definitions(taken.id, at(0)))
        .await;

    // Assert
    assert_eq!(store.project_by_id(first.id).await.expect("read"), Some(first.clone()));
    assert_eq!(store.list_definitions(first.id).await.expect("list"), defaults);
    assert!(matches!(refused, Err(StoreError::Conflict("slug"))), "{refused:?}");
    assert_eq!(store.project_by_id(taken.id).await.expect("read"), None);
    assert!(
        store.list_definitions(taken.id).await.expect("list").is_empty(),
        "a refused project leaves no definitions behind"
    );
}

async fn deleting_a_project_deletes_its_definitions(store: Arc<dyn ProjectStore>) {
    // Arrange
    let p = seeded_project(store.as_ref(), "defs-cascade").await;
    let other = seeded_project(store.as_ref(), "defs-cascade-other").await;
    store
        .insert_definition(&definition(p.id, "deploy"))
        .await
        .expect("insert");
    store
        .insert_definition(&definition(other.id, "deploy"))
        .await
        .expect("insert");

    // Act
    assert!(store.delete_project(p.id).await.expect("delete"));

    // Assert
    assert!(store.list_definitions(p.id).await.expect("list").is_empty());
    assert_eq!(store.list_definitions(other.id).await.expect("list").len(), 1);
}

async fn rollback_deployments_keep_their_flag(store: Arc<dyn ProjectStore>) {
    // Arrange
    let p = seeded_project(store.as_ref(), "defs-rollback-flag").await;
    let plain = deployment("d-plain", p.id, "staging", DeploymentStatus::Succeeded, at(100));
    let mut rollback = deployment("d-rollback", p.id, "staging", DeploymentStatus::Succeeded, at(200));
    rollback.rollback = true;

    // Act
    store.record_deployment(&plain).await.expect("record");
    let (answered, created) = store.record_deployment(&rollback).await.expect("record");

    // Assert
    assert!(created);
    assert!(answered.rollback);
    let listed = store.list_deployments(p.id, None, None, 10).await.expect("list");
    assert_eq!(listed, vec![rollback, plain]);
}
