//! The metrics outbox and acks carried by pipeline writes: events arrive with the write that produced them (or not
//! at all when its compare-and-set loses), come out oldest first, and go only when delivered; a write's acks remove
//! its deliveries from the queue.

use std::sync::Arc;
use std::time::Duration;

use devopstrack_tasks::store::{MetricEvent, MetricEventKind, TaskStore, Writes};

use super::{now, pipeline};

conformance!(
    metrics_events_come_out_oldest_first_until_delivered,
    a_lost_compare_and_set_writes_no_metrics_event,
    delivering_unknown_or_delivered_ids_is_harmless,
    a_write_acks_the_deliveries_it_names,
);

fn event(kind: MetricEventKind, payload: &str) -> MetricEvent {
    MetricEvent {
        kind,
        payload: payload.as_bytes().to_vec(),
    }
}

fn payloads(store_events: &[devopstrack_tasks::store::PendingMetricEvent]) -> Vec<&str> {
    store_events
        .iter()
        .map(|p| std::str::from_utf8(&p.event.payload).expect("test payloads are text"))
        .collect()
}

async fn metrics_events_come_out_oldest_first_until_delivered(store: Arc<dyn TaskStore>) {
    let (p, mut w) = pipeline("proj-a", 1, 1, now());
    w.metric_events = vec![
        event(MetricEventKind::JobRun, "run-1"),
        event(MetricEventKind::Deployment, "deploy-1"),
    ];
    store.create_pipeline(&p, &w).await.unwrap();
    let update = Writes {
        metric_events: vec![event(MetricEventKind::JobRun, "run-2")],
        ..Writes::default()
    };
    assert!(store.update_pipeline(&p, 1, &update).await.unwrap());

    let all = store.pending_metric_events(10).await.unwrap();
    let first_two = store.pending_metric_events(2).await.unwrap();

    assert_eq!(payloads(&all), ["run-1", "deploy-1", "run-2"]);
    assert_eq!(
        all.iter().map(|p| p.event.kind).collect::<Vec<_>>(),
        [
            MetricEventKind::JobRun,
            MetricEventKind::Deployment,
            MetricEventKind::JobRun
        ]
    );
    assert_eq!(first_two, all[..2]);
    assert_eq!(store.metric_events_backlog().await.unwrap(), 3);

    store
        .metric_events_delivered(&[all[0].id.clone(), all[1].id.clone()])
        .await
        .unwrap();

    assert_eq!(payloads(&store.pending_metric_events(10).await.unwrap()), ["run-2"]);
    assert_eq!(store.metric_events_backlog().await.unwrap(), 1);
    assert!(store.pending_metric_events(0).await.unwrap().is_empty());
}

async fn a_lost_compare_and_set_writes_no_metrics_event(store: Arc<dyn TaskStore>) {
    let (p, w) = pipeline("proj-a", 1, 1, now());
    store.create_pipeline(&p, &w).await.unwrap();
    let stale = Writes {
        metric_events: vec![event(MetricEventKind::JobRun, "lost")],
        ..Writes::default()
    };

    assert!(!store.update_pipeline(&p, 7, &stale).await.unwrap());

    assert!(store.pending_metric_events(10).await.unwrap().is_empty());
}

async fn delivering_unknown_or_delivered_ids_is_harmless(store: Arc<dyn TaskStore>) {
    let (p, mut w) = pipeline("proj-a", 1, 1, now());
    w.metric_events = vec![event(MetricEventKind::JobRun, "a"), event(MetricEventKind::JobRun, "b")];
    store.create_pipeline(&p, &w).await.unwrap();
    let pending = store.pending_metric_events(10).await.unwrap();

    store.metric_events_delivered(&[pending[0].id.clone()]).await.unwrap();
    store
        .metric_events_delivered(&[
            pending[0].id.clone(),
            "not-an-id".into(),
            "999999999-0".into(),
            "424242".into(),
        ])
        .await
        .unwrap();
    store.metric_events_delivered(&[]).await.unwrap();

    assert_eq!(payloads(&store.pending_metric_events(10).await.unwrap()), ["b"]);
}

async fn a_write_acks_the_deliveries_it_names(store: Arc<dyn TaskStore>) {
    let (p, w) = pipeline("proj-a", 1, 3, now());
    store.create_pipeline(&p, &w).await.unwrap();
    let leased = store
        .lease("w1", 3, Duration::from_secs(60), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(leased.len(), 3);

    let lost = Writes {
        ack: vec![leased[0].clone()],
        ..Writes::default()
    };
    assert!(!store.update_pipeline(&p, 9, &lost).await.unwrap());
    assert_eq!(
        store.queue_depth().await.unwrap().leased,
        3,
        "a lost write acks nothing"
    );

    let acks = Writes {
        ack: vec![leased[0].clone(), leased[2].clone()],
        ..Writes::default()
    };
    assert!(store.update_pipeline(&p, 1, &acks).await.unwrap());

    let depth = store.queue_depth().await.unwrap();
    assert_eq!((depth.ready, depth.leased), (0, 1));
    // The acked entries are gone for good: not renewable, and the one left is still held.
    assert!(!store.renew("w1", &leased[0], Duration::from_secs(60)).await.unwrap());
    assert!(store.renew("w1", &leased[1], Duration::from_secs(60)).await.unwrap());
    assert!(
        leased.iter().all(|d| d.queued_at.is_some()),
        "both stores know when an entry was queued"
    );
}
