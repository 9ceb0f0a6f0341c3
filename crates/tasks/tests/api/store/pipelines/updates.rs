//! Pipeline updates: a compare-and-set on the stored version that applies its writes (all or nothing) when it wins,
//! writes nothing when it is stale, lets exactly one of many concurrent updates win, and carries events in write
//! order.

use std::sync::Arc;

use devopstrack_tasks::domain::{PipelineId, PipelineStatus};
use devopstrack_tasks::store::{PipelineFilter, QueuedJob, StoredPipeline, TaskStore, number_stamp};

use super::{NO_WAIT, create, event, lease_all, outbox_entry};
use crate::store::{now, pipeline, writes_for};

conformance!(
    an_update_on_the_stored_version_bumps_it_and_applies_its_writes,
    a_stale_update_writes_nothing,
    of_concurrent_updates_on_one_version_exactly_one_wins,
    events_of_pipeline_writes_are_read_in_write_order,
);

async fn an_update_on_the_stored_version_bumps_it_and_applies_its_writes(store: Arc<dyn TaskStore>) {
    let (mut p, w) = pipeline("proj-a", 2, 1, now());
    create(&store, &mut p, &w).await;
    let job = p.stages[0].jobs[0].id;
    let retry = QueuedJob {
        pipeline: p.id,
        job,
        attempt: 2,
        not_before: None,
    };

    let fx = p.start_job(job, 1, "worker-1", now()).expect("start the job");
    let mut started = writes_for(&p, &fx, now());
    started.enqueue.push(retry.clone());
    started.events.push(event(&p, "started"));
    started.outbox = Some(outbox_entry(p.id, "deploy"));
    assert!(store.update_pipeline(&p, 1, &started).await.unwrap());

    assert_eq!(
        store.pipeline(p.id).await.unwrap(),
        Some(StoredPipeline {
            pipeline: p.clone(),
            version: 2
        })
    );
    let leased = lease_all(&store).await;
    assert!(
        leased.contains(&(job, 2)),
        "the update's enqueue is on the queue: {leased:?}"
    );
    let events = store.read_events(None, 100, NO_WAIT).await.unwrap();
    assert_eq!(events.last().map(|e| e.payload.as_slice()), Some(b"started".as_slice()));
    let due = store.due_outbox(now(), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|e| e.payload.as_slice()).collect::<Vec<_>>(),
        [b"deploy".as_slice()]
    );

    let fx = p.cancel("user-1", now()).expect("cancel");
    let cancelled = writes_for(&p, &fx, now());
    assert_eq!(cancelled.stop, [(job, 1)]);
    assert!(!store.stop_requested(job, 1).await.unwrap());
    assert!(store.update_pipeline(&p, 2, &cancelled).await.unwrap());
    assert!(store.stop_requested(job, 1).await.unwrap());
    let stored = store.pipeline(p.id).await.unwrap().expect("stored");
    assert_eq!((stored.version, stored.pipeline.status), (3, PipelineStatus::Cancelled));
}

async fn a_stale_update_writes_nothing(store: Arc<dyn TaskStore>) {
    let (mut p, w) = pipeline("proj-a", 1, 2, now());
    create(&store, &mut p, &w).await;
    let job = p.stages[0].jobs[0].id;
    let fx = p.start_job(job, 1, "worker-1", now()).expect("start");
    assert!(store.update_pipeline(&p, 1, &writes_for(&p, &fx, now())).await.unwrap());
    let depth = store.queue_depth().await.unwrap();
    let last_event = store.last_event_id().await.unwrap();

    let mut stale = p.clone();
    let fx = stale.cancel("user-1", now()).expect("cancel");
    let mut writes = writes_for(&stale, &fx, now());
    writes.enqueue.push(QueuedJob {
        pipeline: p.id,
        job,
        attempt: 2,
        not_before: None,
    });
    writes.events.push(event(&p, "stale"));
    writes.outbox = Some(outbox_entry(p.id, "stale"));
    assert!(!writes.stop.is_empty());

    assert!(
        !store.update_pipeline(&stale, 1, &writes).await.unwrap(),
        "version 1 is stale"
    );
    assert!(
        !store.update_pipeline(&stale, 3, &writes).await.unwrap(),
        "version 3 is not there yet"
    );
    let (gone, _) = pipeline("proj-a", 1, 1, now());
    assert!(!store.update_pipeline(&gone, 1, &writes).await.unwrap(), "never stored");

    assert_eq!(
        store.pipeline(p.id).await.unwrap(),
        Some(StoredPipeline {
            pipeline: p,
            version: 2
        })
    );
    assert_eq!(store.queue_depth().await.unwrap(), depth);
    assert!(!store.stop_requested(job, 1).await.unwrap());
    assert_eq!(store.last_event_id().await.unwrap(), last_event);
    assert!(store.due_outbox(now(), 10).await.unwrap().is_empty());
    let listed = store
        .list_pipelines(
            &PipelineFilter {
                project: None,
                status: Some(PipelineStatus::Cancelled),
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert!(listed.is_empty(), "the status index did not move either");
}

async fn of_concurrent_updates_on_one_version_exactly_one_wins(store: Arc<dyn TaskStore>) {
    let (mut p, w) = pipeline("proj-a", 1, 1, now());
    create(&store, &mut p, &w).await;

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let mut mine = p.clone();
            tokio::spawn(async move {
                let by = format!("user-{i}");
                let fx = mine.cancel(&by, now()).expect("cancel");
                let mut writes = writes_for(&mine, &fx, now());
                writes.events.push(event(&mine, &by));
                let won = store.update_pipeline(&mine, 1, &writes).await.expect("update");
                (by, won)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (by, won) = task.await.unwrap();
        if won {
            winners.push(by);
        }
    }

    assert_eq!(winners.len(), 1, "exactly one compare-and-set wins: {winners:?}");
    let stored = store.pipeline(p.id).await.unwrap().expect("stored");
    assert_eq!(stored.version, 2);
    assert_eq!(stored.pipeline.cancelled_by.as_deref(), Some(winners[0].as_str()));
    let events = store.read_events(None, 100, NO_WAIT).await.unwrap();
    let payloads: Vec<&[u8]> = events.iter().map(|e| e.payload.as_slice()).collect();
    assert_eq!(payloads, [winners[0].as_bytes()], "only the winner's event is written");
}

async fn events_of_pipeline_writes_are_read_in_write_order(store: Arc<dyn TaskStore>) {
    let (mut p, mut w) = pipeline("proj-a", 1, 1, now());
    w.events = vec![event(&p, "one"), event(&p, "two")];
    create(&store, &mut p, &w).await;
    let fx = p.cancel("user-1", now()).expect("cancel");
    let mut cancelled = writes_for(&p, &fx, now());
    cancelled.events = vec![event(&p, "three")];
    assert!(store.update_pipeline(&p, 1, &cancelled).await.unwrap());
    store.append_events(&[event(&p, "four")]).await.unwrap();

    let events = store.read_events(None, 100, NO_WAIT).await.unwrap();

    let got: Vec<(&str, PipelineId, &[u8])> = events
        .iter()
        .map(|e| (e.project.as_str(), e.pipeline, e.payload.as_slice()))
        .collect();
    // The create's events carry its run number (`number_stamp`); later writes' events already have it.
    let created = |payload: &str| [payload.as_bytes(), &number_stamp(1)].concat();
    let payloads = [created("one"), created("two"), b"three".to_vec(), b"four".to_vec()];
    let want: Vec<(&str, PipelineId, &[u8])> = payloads
        .iter()
        .map(|payload| ("proj-a", p.id, payload.as_slice()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        store.last_event_id().await.unwrap().as_deref(),
        Some(events[3].id.as_str())
    );
    let rest = store.read_events(Some(&events[1].id), 100, NO_WAIT).await.unwrap();
    assert_eq!(rest, events[2..]);
}
