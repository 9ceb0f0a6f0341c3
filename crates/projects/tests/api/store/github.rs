//! The GitHub integration: a project's sealed webhook secret (stored, replaced, deleted with the project) and its
//! webhook delivery ids (recorded once, atomically, per project; pruned by age).

use std::sync::Arc;

use chrono::TimeDelta;
use devopstrack_projects::domain::GithubIntegrationRecord;
use devopstrack_projects::store::ProjectStore;
use uuid::Uuid;

use super::{at, seeded_project};

conformance!(
    an_integration_is_stored_replaced_and_deleted_with_its_project,
    a_delivery_id_is_recorded_once_per_project,
    concurrent_recordings_of_one_delivery_id_let_exactly_one_through,
    old_delivery_ids_are_pruned,
);

fn integration(project_id: Uuid, sealed: &[u8], seconds: i64) -> GithubIntegrationRecord {
    GithubIntegrationRecord {
        project_id,
        sealed_secret: sealed.to_vec(),
        updated_at: at(seconds),
    }
}

async fn an_integration_is_stored_replaced_and_deleted_with_its_project(store: Arc<dyn ProjectStore>) {
    // Arrange
    let (one, two) = (
        seeded_project(store.as_ref(), "one").await,
        seeded_project(store.as_ref(), "two").await,
    );
    // Every byte value, so a store that keeps text instead of bytes fails.
    let first = integration(one.id, &(0..=255).collect::<Vec<u8>>(), 1);
    let second = integration(one.id, &[1, 0, 0, 7], 2);

    // Act
    store
        .put_github_integration(&first)
        .await
        .expect("store the integration");
    let stored = store.github_integration(one.id).await.expect("read it");
    store.put_github_integration(&second).await.expect("replace it");
    let replaced = store.github_integration(one.id).await.expect("read it again");
    let other = store.github_integration(two.id).await.expect("another project");
    store
        .record_webhook_delivery(one.id, "d-1", at(3))
        .await
        .expect("record a delivery");
    assert!(store.delete_project(one.id).await.expect("delete the project"));

    // Assert
    assert_eq!(stored, Some(first));
    assert_eq!(replaced, Some(second));
    assert_eq!(other, None);
    assert_eq!(store.github_integration(one.id).await.expect("read after delete"), None);
    assert!(
        store
            .record_webhook_delivery(one.id, "d-1", at(4))
            .await
            .expect("record after delete"),
        "the project's delivery ids went with it"
    );
}

async fn a_delivery_id_is_recorded_once_per_project(store: Arc<dyn ProjectStore>) {
    // Arrange
    let (one, two) = (Uuid::new_v4(), Uuid::new_v4());
    let id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

    // Act
    let first = store.record_webhook_delivery(one, id, at(1)).await.expect("first");
    let again = store.record_webhook_delivery(one, id, at(2)).await.expect("again");
    let elsewhere = store.record_webhook_delivery(two, id, at(2)).await.expect("elsewhere");
    let another = store
        .record_webhook_delivery(one, "72d3162e-cc78-11e3-81ab-4c9367dc0959", at(2))
        .await
        .expect("another id");

    // Assert
    assert_eq!((first, again, elsewhere, another), (true, false, true, true));
}

async fn concurrent_recordings_of_one_delivery_id_let_exactly_one_through(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = Uuid::new_v4();

    // Act
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.record_webhook_delivery(project, "same", at(1)).await })
    });
    let mut recorded = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        if attempt.await.expect("join").expect("record") {
            recorded += 1;
        }
    }

    // Assert
    assert_eq!(recorded, 1);
}

async fn old_delivery_ids_are_pruned(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = Uuid::new_v4();
    for (id, seconds) in [("old-1", 0), ("old-2", 10), ("new", 20)] {
        store
            .record_webhook_delivery(project, id, at(seconds))
            .await
            .expect("record");
    }

    // Act
    let pruned = store
        .prune_webhook_deliveries(at(10) + TimeDelta::microseconds(1))
        .await
        .expect("prune");

    // Assert
    assert_eq!(pruned, 2);
    assert!(
        store
            .record_webhook_delivery(project, "old-1", at(30))
            .await
            .expect("old-1")
    );
    assert!(
        store
            .record_webhook_delivery(project, "old-2", at(30))
            .await
            .expect("old-2")
    );
    assert!(
        !store
            .record_webhook_delivery(project, "new", at(30))
            .await
            .expect("new")
    );
}
