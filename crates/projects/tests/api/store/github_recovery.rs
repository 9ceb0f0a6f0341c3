//! Recovery of webhook deliveries whose processor died: a claim keeps its event and payload until it ends, and
//! `claim_stale_webhook_deliveries` takes over the unfinished ones older than the TTL — oldest first, each exactly
//! once however many callers race, within a count and a byte cap — so they are processed again.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use devopstrack_projects::domain::{DeliveryOutcome, GithubEvent, KeptDelivery, StaleDelivery};
use devopstrack_projects::store::ProjectStore;
use uuid::Uuid;

use super::{at, seeded_project};

conformance!(
    stale_claims_are_taken_over_oldest_first_and_not_again_until_stale_again,
    a_kept_payload_comes_back_byte_for_byte,
    a_takeover_by_redelivery_keeps_the_new_payload_or_none,
    the_limit_and_the_byte_cap_bound_an_answer_but_one_always_goes,
    finished_failed_and_unkept_claims_are_never_taken_over,
    concurrent_callers_get_disjoint_claims_covering_every_stale_one,
    kept_claims_go_with_their_project,
    a_claim_is_handed_out_at_most_max_takeovers_times_until_redelivered,
);

fn event(raw: &str) -> GithubEvent {
    GithubEvent::parse(raw).expect("a valid event")
}

/// Claims `delivery_id` at `seconds` (taking it over if claimed before `stale_before`), keeping `event` and `payload`.
async fn claim_kept(
    store: &dyn ProjectStore,
    project: Uuid,
    delivery_id: &str,
    seconds: i64,
    stale_before: i64,
    (event_name, payload): (&str, &[u8]),
) -> bool {
    let event = event(event_name);
    let kept = KeptDelivery { event: &event, payload };
    store
        .record_webhook_delivery(project, delivery_id, at(seconds), at(stale_before), Some(kept))
        .await
        .expect("claim with a kept payload")
}

async fn take(
    store: &dyn ProjectStore,
    stale_before: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: u32,
    max_bytes: usize,
) -> Vec<StaleDelivery> {
    store
        .claim_stale_webhook_deliveries(stale_before, now, limit, max_bytes, 5)
        .await
        .expect("take over stale claims")
}

fn ids(taken: &[StaleDelivery]) -> Vec<&str> {
    taken.iter().map(|d| d.delivery_id.as_str()).collect()
}

async fn stale_claims_are_taken_over_oldest_first_and_not_again_until_stale_again(store: Arc<dyn ProjectStore>) {
    // Arrange
    let (one, two) = (Uuid::new_v4(), Uuid::new_v4());
    let body: (&str, &[u8]) = ("push", b"{}");
    for (project, id, seconds) in [(one, "c", 30), (two, "a", 10), (one, "b", 20), (one, "fresh", 100)] {
        assert!(claim_kept(store.as_ref(), project, id, seconds, 0, body).await);
    }

    // Act
    let first = take(store.as_ref(), at(50), at(200), 10, usize::MAX).await;
    let at_once = take(store.as_ref(), at(50), at(200), 10, usize::MAX).await;
    let redelivered_meanwhile = store
        .record_webhook_delivery(one, "b", at(210), at(150), None)
        .await
        .expect("a redelivery");
    let once_stale_again = take(store.as_ref(), at(201), at(300), 10, usize::MAX).await;

    // Assert
    assert_eq!(ids(&first), ["a", "b", "c"], "stale only, oldest first");
    assert_eq!(first.iter().map(|d| d.project_id).collect::<Vec<_>>(), [two, one, one]);
    assert!(at_once.is_empty(), "a takeover restarts the claim's TTL");
    assert!(
        !redelivered_meanwhile,
        "a redelivery is a duplicate while the takeover's claim is fresh"
    );
    // "fresh" was claimed at 100; the other three were taken over at 200 together: project, then delivery id.
    let expected = if one < two {
        ["fresh", "b", "c", "a"]
    } else {
        ["fresh", "a", "b", "c"]
    };
    assert_eq!(ids(&once_stale_again), expected);
}

async fn a_kept_payload_comes_back_byte_for_byte(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = Uuid::new_v4();
    // Every byte value, so a store that keeps text instead of bytes fails.
    let payload: Vec<u8> = (0..=255).chain((0..=255).rev()).collect();
    assert!(claim_kept(store.as_ref(), project, "bytes", 1, 0, ("workflow_run", &payload)).await);
    assert!(claim_kept(store.as_ref(), project, "empty", 2, 0, ("ping", b"")).await);

    // Act
    let taken = take(store.as_ref(), at(10), at(20), 10, usize::MAX).await;

    // Assert
    assert_eq!(
        taken,
        [
            StaleDelivery {
                project_id: project,
                delivery_id: "bytes".into(),
                event: event("workflow_run"),
                payload,
            },
            StaleDelivery {
                project_id: project,
                delivery_id: "empty".into(),
                event: event("ping"),
                payload: Vec::new(),
            },
        ]
    );
}

async fn a_takeover_by_redelivery_keeps_the_new_payload_or_none(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = Uuid::new_v4();
    assert!(claim_kept(store.as_ref(), project, "replaced", 1, 0, ("push", b"old")).await);
    assert!(claim_kept(store.as_ref(), project, "dropped", 1, 0, ("push", b"old")).await);

    // Act
    let replaced = claim_kept(
        store.as_ref(),
        project,
        "replaced",
        1_000,
        500,
        ("workflow_run", b"new"),
    )
    .await;
    let dropped = store
        .record_webhook_delivery(project, "dropped", at(1_000), at(500), None)
        .await
        .expect("a takeover by a caller that sends no event");
    let taken = take(store.as_ref(), at(2_000), at(3_000), 10, usize::MAX).await;

    // Assert
    assert!(replaced && dropped, "both stale claims were taken over");
    assert_eq!(ids(&taken), ["replaced"], "a takeover without an event keeps nothing");
    assert_eq!(
        (taken[0].event.as_str(), taken[0].payload.as_slice()),
        ("workflow_run", &b"new"[..])
    );
}

async fn the_limit_and_the_byte_cap_bound_an_answer_but_one_always_goes(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = Uuid::new_v4();
    let hundred = [7u8; 100];
    for (seconds, id) in (1..=6).zip(["d1", "d2", "d3", "d4", "d5", "d6"]) {
        assert!(claim_kept(store.as_ref(), project, id, seconds, 0, ("push", &hundred)).await);
    }
    let stale_before = at(100);

    // Act
    let none_wanted = take(store.as_ref(), stale_before, at(200), 0, usize::MAX).await;
    let by_count = take(store.as_ref(), stale_before, at(200), 2, usize::MAX).await;
    let by_bytes = take(store.as_ref(), stale_before, at(200), 10, 250).await;
    let exactly_full = take(store.as_ref(), stale_before, at(200), 10, 100).await;
    let over_the_cap_alone = take(store.as_ref(), stale_before, at(200), 10, 10).await;
    let rest = take(store.as_ref(), stale_before, at(200), 10, usize::MAX).await;

    // Assert
    assert!(none_wanted.is_empty(), "a limit of 0 takes nothing: {none_wanted:?}");
    assert_eq!(ids(&by_count), ["d1", "d2"]);
    assert_eq!(ids(&by_bytes), ["d3", "d4"], "a third would make 300 bytes, over 250");
    assert_eq!(ids(&exactly_full), ["d5"], "100 bytes fit a cap of 100");
    assert_eq!(
        ids(&over_the_cap_alone),
        ["d6"],
        "one delivery goes even when it alone is over the cap"
    );
    assert!(rest.is_empty());
}

async fn finished_failed_and_unkept_claims_are_never_taken_over(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = Uuid::new_v4();
    for id in ["processed", "failed", "kept"] {
        assert!(claim_kept(store.as_ref(), project, id, 1, 0, ("push", b"{}")).await);
    }
    assert!(
        store
            .record_webhook_delivery(project, "unkept", at(1), at(0), None)
            .await
            .expect("a claim that keeps nothing")
    );
    for (id, outcome) in [
        ("processed", DeliveryOutcome::Processed),
        ("failed", DeliveryOutcome::Failed),
    ] {
        assert!(
            store
                .finish_webhook_delivery(project, id, outcome, at(2))
                .await
                .expect("finish")
        );
    }

    // Act
    let taken = take(store.as_ref(), at(100), at(200), 100, usize::MAX).await;
    let processed_replayed = store
        .record_webhook_delivery(project, "processed", at(300), at(250), None)
        .await
        .expect("a replay of the processed one");

    // Assert
    assert_eq!(ids(&taken), ["kept"]);
    assert!(
        !processed_replayed,
        "a processed delivery dropped its payload but stays a duplicate"
    );
}

async fn concurrent_callers_get_disjoint_claims_covering_every_stale_one(store: Arc<dyn ProjectStore>) {
    // Arrange
    let project = Uuid::new_v4();
    let all: Vec<String> = (1..=6).map(|i| format!("d{i}")).collect();
    for (seconds, id) in (1..).zip(&all) {
        assert!(claim_kept(store.as_ref(), project, id, seconds, 0, ("push", id.as_bytes())).await);
    }

    // Act
    let callers = (0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .claim_stale_webhook_deliveries(at(100), at(200), 2, usize::MAX, 5)
                .await
        })
    });
    let mut answers = Vec::new();
    for caller in callers.collect::<Vec<_>>() {
        answers.push(caller.await.expect("join").expect("take over"));
    }

    // Assert
    let mut seen = HashSet::new();
    for delivery in answers.iter().flatten() {
        assert!(
            seen.insert(delivery.delivery_id.clone()),
            "{} was handed out twice: {answers:?}",
            delivery.delivery_id
        );
        assert_eq!(delivery.payload, delivery.delivery_id.as_bytes(), "its own payload");
    }
    assert_eq!(
        seen,
        all.into_iter().collect::<HashSet<_>>(),
        "every stale claim went out"
    );
    assert!(answers.iter().all(|answer| answer.len() <= 2), "{answers:?}");
}

async fn kept_claims_go_with_their_project(store: Arc<dyn ProjectStore>) {
    // Arrange
    let (gone, kept) = (
        seeded_project(store.as_ref(), "gone").await,
        seeded_project(store.as_ref(), "kept").await,
    );
    assert!(claim_kept(store.as_ref(), gone.id, "d", 1, 0, ("push", b"{}")).await);
    assert!(claim_kept(store.as_ref(), kept.id, "d", 1, 0, ("push", b"{}")).await);

    // Act
    assert!(store.delete_project(gone.id).await.expect("delete the project"));
    let taken = take(store.as_ref(), at(100), at(200), 10, usize::MAX).await;

    // Assert
    assert_eq!(taken.iter().map(|d| d.project_id).collect::<Vec<_>>(), [kept.id]);
}

async fn a_claim_is_handed_out_at_most_max_takeovers_times_until_redelivered(store: Arc<dyn ProjectStore>) {
    // Arrange: a delivery whose processing dies every time it is taken over.
    let project = Uuid::new_v4();
    assert!(claim_kept(store.as_ref(), project, "poison", 0, 0, ("push", b"{}")).await);
    let take_capped = |seconds: i64| {
        let store = store.clone();
        async move {
            store
                .claim_stale_webhook_deliveries(at(seconds), at(seconds), 10, usize::MAX, 3)
                .await
                .expect("take over")
                .len()
        }
    };

    // Act: each round is one TTL after the last takeover.
    let mut handed_out = Vec::new();
    for round in 1..=5 {
        handed_out.push(take_capped(round * 100).await);
    }
    let redelivered = claim_kept(store.as_ref(), project, "poison", 600, 550, ("push", b"{}")).await;
    let after_redelivery = take_capped(700).await;

    // Assert
    assert_eq!(handed_out, vec![1, 1, 1, 0, 0], "three takeovers, then left alone");
    assert!(redelivered, "GitHub's redelivery still claims it");
    assert_eq!(after_redelivery, 1, "and starts the count afresh");
}
