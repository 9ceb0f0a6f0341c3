//! The GitHub integration: a project's sealed webhook secret (stored, replaced, deleted with the project) and its
//! webhook delivery ids (claimed once, atomically, per project; a claim ends processed — kept — or failed —
//! forgotten —, and an unfinished one may be taken over once stale; pruned by age).

use std::sync::Arc;

use chrono::TimeDelta;
use devopstrack_projects::domain::{DeliveryOutcome, GithubIntegrationRecord};
use devopstrack_projects::store::ProjectStore;
use uuid::Uuid;

use super::{at, seeded_project};

conformance!(
    an_integration_is_stored_replaced_and_deleted_with_its_project,
    a_delivery_id_is_recorded_once_per_project,
    concurrent_recordings_of_one_delivery_id_let_exactly_one_through,
    old_delivery_ids_are_pruned,
    an_unfinished_claim_is_taken_over_only_once_stale_and_a_processed_one_never,
    a_failed_delivery_is_forgotten_and_claimed_again,
    concurrent_takeovers_of_a_stale_claim_let_exactly_one_through,
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
        .record_webhook_delivery(one.id, "d-1", at(3), at(0), None)
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
            .record_webhook_delivery(one.id, "d-1", at(4), at(0), None)
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
    let first = store
        .record_webhook_delivery(one, id, at(1), at(0), None)
        .await
        .expect("first");
    let again = store
        .record_webhook_delivery(one, id, at(2), at(0), None)
        .await
        .expect("again");
    let elsewhere = store
        .record_webhook_delivery(two, id, at(2), at(0), None)
        .await
        .expect("elsewhere");
    let another = store
        .record_webhook_delivery(one, "72d3162e-cc78-11e3-81ab-4c9367dc0959", at(2), at(0), None)
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
        tokio::spawn(async move { store.record_webhook_delivery(project, "same", at(1), at(0), None).await })
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
            .record_webhook_delivery(project, id, at(seconds), at(0), None)
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
            .record_webhook_delivery(project, "old-1", at(30), at(0), None)
            .await
            .expect("old-1")
    );
    assert!(
        store
            .record_webhook_delivery(project, "old-2", at(30), at(0), None)
            .await
            .expect("old-2")
    );
    assert!(
        !store
            .record_webhook_delivery(project, "new", at(30), at(0), None)
            .await
            .expect("new")
    );
}

async fn an_unfinished_claim_is_taken_over_only_once_stale_and_a_processed_one_never(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = Uuid::new_v4();
    let claim = |seconds: i64, stale_before: i64| {
        let store = store.clone();
        async move {
            store
                .record_webhook_delivery(project, "d", at(seconds), at(stale_before), None)
                .await
                .expect("claim")
        }
    };

    // Act
    let first = claim(100, 0).await;
    let while_fresh = claim(110, 50).await; // claimed at 100, not before 50: still being processed
    let once_stale = claim(1_000, 500).await; // claimed at 100 < 500: its processor is gone
    let after_takeover = claim(1_010, 500).await; // the takeover moved the claim to 1,000
    let processed = store
        .finish_webhook_delivery(project, "d", DeliveryOutcome::Processed, at(1_001))
        .await
        .expect("finish");
    let processed_again = store
        .finish_webhook_delivery(project, "d", DeliveryOutcome::Processed, at(1_002))
        .await
        .expect("finish again");
    let failed_after_processed = store
        .finish_webhook_delivery(project, "d", DeliveryOutcome::Failed, at(1_003))
        .await
        .expect("fail a processed one");
    let much_later = claim(50_000, 40_000).await;

    // Assert
    assert_eq!(
        (first, while_fresh, once_stale, after_takeover),
        (true, false, true, false)
    );
    assert_eq!(
        (processed, processed_again, failed_after_processed),
        (true, false, false)
    );
    assert!(
        !much_later,
        "a processed delivery is a duplicate for as long as it is kept"
    );
}

async fn a_failed_delivery_is_forgotten_and_claimed_again(store: Arc<dyn ProjectStore>) {
    // Arrange
    let (one, two) = (Uuid::new_v4(), Uuid::new_v4());
    assert!(
        store
            .record_webhook_delivery(one, "d", at(1), at(0), None)
            .await
            .expect("claim")
    );

    // Act
    let elsewhere = store
        .finish_webhook_delivery(two, "d", DeliveryOutcome::Failed, at(2))
        .await
        .expect("another project's id");
    let unknown = store
        .finish_webhook_delivery(one, "never-seen", DeliveryOutcome::Processed, at(2))
        .await
        .expect("an unknown id");
    let failed = store
        .finish_webhook_delivery(one, "d", DeliveryOutcome::Failed, at(2))
        .await
        .expect("fail it");
    let redelivered = store
        .record_webhook_delivery(one, "d", at(3), at(0), None)
        .await
        .expect("redelivery");
    let replayed = store
        .record_webhook_delivery(one, "d", at(4), at(0), None)
        .await
        .expect("a replay of the redelivery");

    // Assert
    assert_eq!((elsewhere, unknown, failed), (false, false, true));
    assert!(redelivered, "a released id is claimed again at once");
    assert!(!replayed, "and the new claim holds");
}

async fn concurrent_takeovers_of_a_stale_claim_let_exactly_one_through(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = Uuid::new_v4();
    assert!(
        store
            .record_webhook_delivery(project, "same", at(1), at(0), None)
            .await
            .expect("claim")
    );

    // Act
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .record_webhook_delivery(project, "same", at(5_000), at(100), None)
                .await
        })
    });
    let mut taken = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        if attempt.await.expect("join").expect("take over") {
            taken += 1;
        }
    }

    // Assert
    assert_eq!(taken, 1);
}
