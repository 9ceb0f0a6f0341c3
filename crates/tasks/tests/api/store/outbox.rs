//! The deployment outbox: entries arrive with pipeline writes, are handed out oldest due first, retried later with
//! their attempts counted, and removed once delivered.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use devopstrack_tasks::domain::{Pipeline, PipelineId};
use devopstrack_tasks::store::{Created, OutboxEntry, TaskStore};

use super::{now, pipeline, writes_for};

conformance!(
    due_entries_come_oldest_due_first_up_to_the_limit,
    a_retry_counts_the_attempt_and_pushes_the_due_time,
    a_delivered_entry_is_gone_for_good,
    an_entry_replaces_a_pending_one_with_the_same_id,
);

fn entry(id: PipelineId, payload: &str, due_at: DateTime<Utc>) -> OutboxEntry {
    OutboxEntry {
        id,
        payload: payload.as_bytes().to_vec(),
        attempts: 0,
        due_at,
    }
}

/// A new pipeline stored with an outbox entry due at `due_at`, as a finished deploy's last write carries one.
async fn with_entry(store: &Arc<dyn TaskStore>, payload: &str, due_at: DateTime<Utc>) -> (Pipeline, OutboxEntry) {
    let (p, mut w) = pipeline("proj-a", 1, 1, now());
    let e = entry(p.id, payload, due_at);
    w.outbox = Some(e.clone());
    let created = store.create_pipeline(&p, &w).await.unwrap();
    assert!(matches!(created, Created::Created { .. }), "{created:?}");
    (p, e)
}

fn payloads(entries: &[OutboxEntry]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| std::str::from_utf8(&e.payload).expect("test payloads are text"))
        .collect()
}

async fn due_entries_come_oldest_due_first_up_to_the_limit(store: Arc<dyn TaskStore>) {
    let t = now();
    let (_, three) = with_entry(&store, "3s ago", t - TimeDelta::seconds(3)).await;
    let (_, one) = with_entry(&store, "1s ago", t - TimeDelta::seconds(1)).await;
    let (_, two) = with_entry(&store, "2s ago", t - TimeDelta::seconds(2)).await;
    let (_, later) = with_entry(&store, "in 60s", t + TimeDelta::seconds(60)).await;

    let due = store.due_outbox(t, 10).await.unwrap();

    assert_eq!(
        due,
        [three.clone(), two.clone(), one.clone()],
        "exact round trip, oldest due first"
    );
    assert_eq!(payloads(&store.due_outbox(t, 2).await.unwrap()), ["3s ago", "2s ago"]);
    assert!(
        store
            .due_outbox(t - TimeDelta::seconds(5), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.due_outbox(t + TimeDelta::seconds(60), 10).await.unwrap(),
        [three, two, one, later],
        "an entry is due at its due time"
    );
}

async fn a_retry_counts_the_attempt_and_pushes_the_due_time(store: Arc<dyn TaskStore>) {
    let t = now();
    let (p, first) = with_entry(&store, "deploy", t - TimeDelta::seconds(1)).await;
    let (_, other) = with_entry(&store, "other", t - TimeDelta::milliseconds(500)).await;

    store.outbox_retry(p.id, t + TimeDelta::seconds(30)).await.unwrap();

    assert_eq!(store.due_outbox(t, 10).await.unwrap(), std::slice::from_ref(&other));
    let retried = OutboxEntry {
        attempts: 1,
        due_at: t + TimeDelta::seconds(30),
        ..first
    };
    let due = store.due_outbox(t + TimeDelta::seconds(30), 10).await.unwrap();
    assert_eq!(due, [other.clone(), retried.clone()]);

    store.outbox_retry(p.id, t + TimeDelta::seconds(90)).await.unwrap();
    let due = store.due_outbox(t + TimeDelta::seconds(90), 10).await.unwrap();
    assert_eq!(
        due.last().map(|e| (e.attempts, e.due_at)),
        Some((2, t + TimeDelta::seconds(90)))
    );
}

async fn a_delivered_entry_is_gone_for_good(store: Arc<dyn TaskStore>) {
    let t = now();
    let (p, _) = with_entry(&store, "deploy", t - TimeDelta::seconds(1)).await;
    let (_, kept) = with_entry(&store, "kept", t - TimeDelta::seconds(1)).await;

    store.outbox_delivered(p.id).await.unwrap();

    let far = t + TimeDelta::days(365);
    assert_eq!(store.due_outbox(far, 10).await.unwrap(), std::slice::from_ref(&kept));
    // Delivering twice, or a late retry of a delivered entry, is harmless and brings nothing back.
    store.outbox_delivered(p.id).await.unwrap();
    store.outbox_retry(p.id, t).await.unwrap();
    store.outbox_delivered(PipelineId::new()).await.unwrap();
    assert_eq!(store.due_outbox(far, 10).await.unwrap(), [kept]);
}

async fn an_entry_replaces_a_pending_one_with_the_same_id(store: Arc<dyn TaskStore>) {
    let t = now();
    let (mut p, _) = with_entry(&store, "first", t - TimeDelta::seconds(1)).await;
    store.outbox_retry(p.id, t + TimeDelta::seconds(30)).await.unwrap();

    let fx = p.cancel("user-1", t).expect("cancel");
    let mut w = writes_for(&p, &fx, t);
    let replacement = entry(p.id, "second", t - TimeDelta::seconds(5));
    w.outbox = Some(replacement.clone());
    assert!(store.update_pipeline(&p, 1, &w).await.unwrap());

    let due = store.due_outbox(t + TimeDelta::days(1), 10).await.unwrap();
    assert_eq!(due, [replacement], "one entry per id, the newest as written");
}
