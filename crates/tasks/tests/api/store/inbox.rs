//! The webhook inbox conformance suite ([`InboxStore`]), run on SQLite and on Redis like the rest of the store's:
//! a delivery and its id are recorded together and deduplicated for the window, processing is leased, a completion
//! queues its effects in the outboxes atomically, failures are retried then parked, parked deliveries are listed and
//! replayed.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use devopstrack_tasks::domain::PipelineId;
use devopstrack_tasks::store::inbox::{
    DEDUP_WINDOW, InboxEffects, InboxState, InboxStore, NewDelivery, Received, Stores, connect_stores,
};
use devopstrack_tasks::store::{MetricEvent, MetricEventKind, OutboxEntry};

use super::now;

/// For each test function `f`, declares `mod f { fn sqlite(); fn redis(); }` running `f` against that store.
macro_rules! inbox_conformance {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir = tempfile::tempdir().expect("a temp dir");
                let url = format!("sqlite://{}/tasks.db", dir.path().display());
                let stores = super::connect_stores(&url, "", true).await.expect("open SQLite");
                super::$test(stores).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                let Some(redis) = devopstrack_testkit::redis().await else { return };
                let stores = super::connect_stores(&redis.url, &redis.prefix, true).await.expect("connect to Redis");
                super::$test(stores).await;
            }
        }
    )+};
}

inbox_conformance!(
    a_delivery_and_its_id_are_recorded_together_and_a_second_copy_is_a_duplicate,
    an_ignored_delivery_records_only_its_id,
    an_id_older_than_the_window_is_recorded_again,
    a_taken_delivery_is_leased_until_its_lease_lapses,
    completing_removes_the_delivery_and_queues_its_effects_once,
    failures_are_retried_then_parked_and_a_replay_starts_afresh,
    deliveries_are_listed_by_state_in_arrival_order_a_page_at_a_time,
);

fn delivery(delivery_id: &str, body: Option<&str>) -> NewDelivery {
    NewDelivery {
        id: Uuid::now_v7(),
        project_id: "0191d5f2-0000-7000-8000-000000000001".into(),
        project_slug: "api".into(),
        delivery_id: delivery_id.into(),
        event: "workflow_run".into(),
        body: body.map(|b| b.as_bytes().to_vec()),
    }
}

async fn recorded(inbox: &Arc<dyn InboxStore>, d: &NewDelivery, at: DateTime<Utc>) -> Received {
    inbox.receive(d, at).await.expect("receive")
}

async fn a_delivery_and_its_id_are_recorded_together_and_a_second_copy_is_a_duplicate(stores: Stores) {
    // Arrange
    let inbox = stores.inbox;
    let t = now();
    let first = delivery("d-1", Some("{\"n\":1}"));
    let copy = delivery("d-1", Some("{\"n\":2}"));
    let other_project = NewDelivery {
        project_id: "another".into(),
        ..delivery("d-1", Some("{}"))
    };

    // Act
    let answers = [
        recorded(&inbox, &first, t).await,
        recorded(&inbox, &copy, t + TimeDelta::days(6)).await,
        recorded(&inbox, &other_project, t).await,
    ];

    // Assert
    assert_eq!(answers, [Received::Recorded, Received::Duplicate, Received::Recorded]);
    let due = inbox.take_due(t, TimeDelta::minutes(1), 10).await.expect("take");
    let ids: Vec<Uuid> = due.iter().map(|d| d.id).collect();
    assert_eq!(ids, [first.id, other_project.id], "the duplicate stored nothing");
    assert_eq!(due[0].body, b"{\"n\":1}");
    assert_eq!(
        (due[0].state, due[0].attempts, due[0].event.as_str()),
        (InboxState::Pending, 0, "workflow_run")
    );
}

async fn an_ignored_delivery_records_only_its_id(stores: Stores) {
    let inbox = stores.inbox;
    let t = now();

    let first = recorded(&inbox, &delivery("ping-1", None), t).await;
    let again = recorded(&inbox, &delivery("ping-1", None), t).await;

    assert_eq!((first, again), (Received::Recorded, Received::Duplicate));
    assert!(
        inbox
            .take_due(t, TimeDelta::minutes(1), 10)
            .await
            .expect("take")
            .is_empty()
    );
    assert!(
        inbox
            .list(InboxState::Pending, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
}

async fn an_id_older_than_the_window_is_recorded_again(stores: Stores) {
    // Arrange: recorded just over the window ago.
    let inbox = stores.inbox;
    let long_ago = now() - DEDUP_WINDOW - TimeDelta::minutes(1);
    assert_eq!(
        recorded(&inbox, &delivery("d-old", None), long_ago).await,
        Received::Recorded
    );

    // Act
    let again = recorded(&inbox, &delivery("d-old", Some("{}")), now()).await;
    let pruned = inbox.prune_ids(now() - DEDUP_WINDOW).await.expect("prune");

    // Assert
    assert_eq!(again, Received::Recorded);
    assert_eq!(pruned, 0, "the fresh record is within the window");
    assert_eq!(
        recorded(&inbox, &delivery("d-old", None), now()).await,
        Received::Duplicate
    );
}

async fn a_taken_delivery_is_leased_until_its_lease_lapses(stores: Stores) {
    let inbox = stores.inbox;
    let t = now();
    let d = delivery("d-lease", Some("{}"));
    recorded(&inbox, &d, t).await;
    let lease = TimeDelta::seconds(30);

    let first = inbox.take_due(t, lease, 10).await.expect("take");
    let during = inbox
        .take_due(t + TimeDelta::seconds(29), lease, 10)
        .await
        .expect("take");
    let after = inbox
        .take_due(t + TimeDelta::seconds(31), lease, 10)
        .await
        .expect("take");

    assert_eq!(first.len(), 1);
    assert!(during.is_empty(), "leased: {during:?}");
    assert_eq!(
        after.iter().map(|d| d.id).collect::<Vec<_>>(),
        [d.id],
        "taken again once the lease lapsed"
    );
}

async fn completing_removes_the_delivery_and_queues_its_effects_once(stores: Stores) {
    // Arrange
    let (inbox, tasks) = (stores.inbox, stores.tasks);
    let t = now();
    let d = delivery("d-done", Some("{}"));
    recorded(&inbox, &d, t).await;
    let entry = OutboxEntry {
        id: PipelineId::new(),
        payload: b"deployment".to_vec(),
        attempts: 0,
        due_at: t,
    };
    let effects = InboxEffects {
        metrics: vec![
            MetricEvent {
                kind: MetricEventKind::Change,
                payload: b"change".to_vec(),
            },
            MetricEvent {
                kind: MetricEventKind::Incident,
                payload: b"incident".to_vec(),
            },
        ],
        outbox: vec![entry.clone()],
    };

    // Act
    let done = inbox.complete(d.id, &effects).await.expect("complete");
    let again = inbox.complete(d.id, &effects).await.expect("complete again");

    // Assert
    assert!(done && !again, "completed once: {done} {again}");
    let metrics = tasks.pending_metric_events(10).await.expect("metrics outbox");
    let kinds: Vec<_> = metrics
        .iter()
        .map(|m| (m.event.kind, m.event.payload.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (MetricEventKind::Change, b"change".to_vec()),
            (MetricEventKind::Incident, b"incident".to_vec())
        ]
    );
    let due = tasks.due_outbox(t, 10).await.expect("deployment outbox");
    assert_eq!(due, [entry]);
    assert!(
        inbox
            .take_due(t + TimeDelta::days(1), TimeDelta::minutes(1), 10)
            .await
            .expect("take")
            .is_empty()
    );
    assert_eq!(
        recorded(&inbox, &delivery("d-done", Some("{}")), t).await,
        Received::Duplicate,
        "the id stays"
    );
}

async fn failures_are_retried_then_parked_and_a_replay_starts_afresh(stores: Stores) {
    // Arrange
    let inbox = stores.inbox;
    let t = now();
    let d = delivery("d-fail", Some("{}"));
    recorded(&inbox, &d, t).await;
    let lease = TimeDelta::minutes(1);
    inbox.take_due(t, lease, 10).await.expect("take");

    // Act: one retry, then parked.
    let retried = inbox
        .retry(d.id, "metrics down", t + TimeDelta::seconds(5))
        .await
        .expect("retry");
    let early = inbox
        .take_due(t + TimeDelta::seconds(4), lease, 10)
        .await
        .expect("take");
    let taken = inbox
        .take_due(t + TimeDelta::seconds(5), lease, 10)
        .await
        .expect("take");
    let parked = inbox
        .park(d.id, "still down", t + TimeDelta::seconds(6))
        .await
        .expect("park");
    let after_park = inbox.take_due(t + TimeDelta::days(1), lease, 10).await.expect("take");
    let counted = (
        inbox.count(InboxState::Pending).await.expect("count"),
        inbox.count(InboxState::Parked).await.expect("count"),
    );
    let listed = inbox.list(InboxState::Parked, None, 10).await.expect("list");
    let replayed = inbox.replay(d.id, t + TimeDelta::seconds(7)).await.expect("replay");
    let replayed_twice = inbox.replay(d.id, t + TimeDelta::seconds(7)).await.expect("replay");
    let due_again = inbox
        .take_due(t + TimeDelta::seconds(7), lease, 10)
        .await
        .expect("take");

    // Assert
    assert!(retried && parked);
    assert!(early.is_empty(), "not due before the retry time");
    assert_eq!(
        taken.first().map(|d| (d.attempts, d.last_error.clone())),
        Some((1, Some("metrics down".into())))
    );
    assert!(after_park.is_empty(), "a parked delivery is not processed");
    assert_eq!(counted, (0, 1), "(pending, parked) once parked");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].id,
            listed[0].state,
            listed[0].attempts,
            listed[0].last_error.as_deref()
        ),
        (d.id, InboxState::Parked, 2, Some("still down"))
    );
    let replayed = replayed.expect("it was parked");
    assert_eq!((replayed.state, replayed.attempts), (InboxState::Pending, 0));
    assert_eq!(replayed_twice, None, "no longer parked");
    assert_eq!(due_again.iter().map(|d| d.id).collect::<Vec<_>>(), [d.id]);
    assert!(
        !inbox.park(Uuid::now_v7(), "unknown", t).await.expect("park"),
        "an unknown id"
    );
    assert!(inbox.list(InboxState::Parked, None, 10).await.expect("list").is_empty());
    assert_eq!(inbox.count(InboxState::Parked).await.expect("count"), 0);
    assert_eq!(
        inbox.count(InboxState::Pending).await.expect("count"),
        1,
        "replayed: pending again"
    );
}

async fn deliveries_are_listed_by_state_in_arrival_order_a_page_at_a_time(stores: Stores) {
    let inbox = stores.inbox;
    let t = now();
    let all: Vec<NewDelivery> = (0..3).map(|n| delivery(&format!("d-{n}"), Some("{}"))).collect();
    for d in &all {
        recorded(&inbox, d, t).await;
    }

    let first = inbox.list(InboxState::Pending, None, 2).await.expect("list");
    let rest = inbox
        .list(InboxState::Pending, first.last().map(|d| d.id), 2)
        .await
        .expect("list");
    let parked = inbox.list(InboxState::Parked, None, 10).await.expect("list");

    let ids = |page: &[devopstrack_tasks::store::inbox::InboxDelivery]| page.iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids(&first), [all[0].id, all[1].id]);
    assert_eq!(ids(&rest), [all[2].id]);
    assert!(parked.is_empty());
}
