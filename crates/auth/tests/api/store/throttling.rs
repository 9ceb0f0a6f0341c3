//! Password-guess throttling: the store applies the policy to each key's record atomically, forgets a key on
//! request, and prunes old records.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use devopstrack_auth::domain::{Admission, AttemptRecord, ThrottlePolicy, now_micros};
use devopstrack_auth::store::AuthStore;

conformance!(store:
    attempts_are_counted_per_key_and_delayed_after_the_free_ones,
    concurrent_attempts_on_one_key_are_each_counted,
    a_cleared_key_starts_afresh_and_old_records_are_pruned,
);

fn policy() -> ThrottlePolicy {
    ThrottlePolicy {
        free_failures: 2,
        window: TimeDelta::minutes(15),
        max_delay: TimeDelta::minutes(15),
    }
}

fn at(t0: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    t0 + TimeDelta::seconds(seconds)
}

async fn attempts_are_counted_per_key_and_delayed_after_the_free_ones(store: Arc<dyn AuthStore>) {
    // Arrange
    let t0 = now_micros();
    let admit = |key: &'static str, seconds: i64| {
        let store = store.clone();
        async move {
            store
                .admit_attempt(key, at(t0, seconds), &policy())
                .await
                .expect("admit")
        }
    };

    // Act: three quick attempts on one key, one on another, then the first key after its delay
    let first = admit("a", 0).await;
    let second = admit("a", 0).await;
    let third = admit("a", 0).await;
    let other = admit("b", 0).await;
    let after_the_delay = admit("a", 1).await;
    let record = store.attempts("a").await.expect("attempts");

    // Assert
    assert_eq!(first, Admission::Admitted { failures: 1 });
    assert_eq!(second, Admission::Admitted { failures: 2 });
    assert_eq!(third, Admission::Wait { until: at(t0, 1) }, "a wait counts nothing");
    assert_eq!(other, Admission::Admitted { failures: 1 }, "keys are separate");
    assert_eq!(after_the_delay, Admission::Admitted { failures: 3 });
    assert_eq!(
        record,
        Some(AttemptRecord {
            failures: 3,
            last_at: at(t0, 1)
        })
    );
}

async fn concurrent_attempts_on_one_key_are_each_counted(store: Arc<dyn AuthStore>) {
    // Arrange: a policy with room for every attempt
    let now = now_micros();
    let roomy = ThrottlePolicy {
        free_failures: 100,
        ..policy()
    };

    // Act: twenty attempts at once
    let attempts = (0..20).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.admit_attempt("burst", now, &roomy).await.expect("admit") })
    });
    let mut counts = Vec::new();
    for attempt in attempts {
        match attempt.await.expect("join") {
            Admission::Admitted { failures } => counts.push(failures),
            wait => panic!("{wait:?}"),
        }
    }

    // Assert: each saw the count the one before left
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<u32>>());
}

async fn a_cleared_key_starts_afresh_and_old_records_are_pruned(store: Arc<dyn AuthStore>) {
    // Arrange
    let t0 = now_micros();
    for _ in 0..2 {
        store.admit_attempt("cleared", t0, &policy()).await.expect("admit");
    }
    store
        .admit_attempt("old", at(t0, -3600), &policy())
        .await
        .expect("admit");
    store.admit_attempt("recent", t0, &policy()).await.expect("admit");

    // Act
    store.clear_attempts("cleared").await.expect("clear");
    let afresh = store.admit_attempt("cleared", t0, &policy()).await.expect("admit");
    let pruned = store.prune_attempts(at(t0, -60)).await.expect("prune");

    // Assert
    assert_eq!(afresh, Admission::Admitted { failures: 1 });
    assert_eq!(pruned, 1);
    assert_eq!(store.attempts("old").await.expect("attempts"), None);
    assert!(store.attempts("recent").await.expect("attempts").is_some());
}
