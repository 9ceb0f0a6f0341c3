//! The job queue: FIFO delivery, leases that lapse, renew, ack and release, delayed retries, waiting for work, stop
//! flags and the depth gauge. Entries are enqueued the way the app does it: through a pipeline write's `Writes`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use devopstrack_tasks::domain::{JobId, Pipeline};
use devopstrack_tasks::store::{Delivery, QueueDepth, QueuedJob, TaskStore, Writes};

use super::{now, pipeline};

conformance!(
    ready_entries_are_delivered_in_enqueue_order,
    a_lapsed_lease_is_delivered_again_and_its_old_holder_cannot_renew,
    renewing_keeps_an_entry_from_being_reclaimed,
    an_acked_entry_is_gone_for_good,
    a_released_entry_is_delivered_again_at_once,
    a_delayed_entry_waits_for_its_time,
    a_waiting_lease_returns_when_an_entry_arrives,
    a_waiting_lease_wakes_for_a_delayed_entry_coming_due,
    a_waiting_lease_on_an_empty_queue_returns_nothing_after_the_wait,
    stop_flags_are_set_per_attempt_by_pipeline_writes,
    queue_depth_counts_ready_delayed_and_leased,
    a_lost_compare_and_set_enqueues_nothing,
);

const SHORT_LEASE: Duration = Duration::from_millis(250);
const LONG_LEASE: Duration = Duration::from_secs(60);
const NO_WAIT: Duration = Duration::ZERO;

/// Stores a new pipeline of one stage with `jobs` jobs, whose writes enqueue them in job order; returns the job ids.
async fn enqueue_jobs(store: &Arc<dyn TaskStore>, jobs: usize) -> (Pipeline, Vec<JobId>) {
    let (p, writes) = pipeline("web", 1, jobs, now());
    assert_eq!(writes.enqueue.len(), jobs, "the new pipeline queues its first stage");
    store.create_pipeline(&p, &writes).await.expect("create the pipeline");
    let ids = writes.enqueue.iter().map(|q| q.job).collect();
    (p, ids)
}

/// Stores a new pipeline without queue writes, then enqueues `job` of it with `not_before` through an update.
async fn enqueue_delayed(store: &Arc<dyn TaskStore>, delay: Duration) -> JobId {
    let (p, _) = pipeline("web", 1, 1, now());
    store
        .create_pipeline(&p, &Writes::default())
        .await
        .expect("create the pipeline");
    let job = p.stages[0].jobs[0].id;
    let writes = Writes {
        enqueue: vec![QueuedJob {
            pipeline: p.id,
            job,
            attempt: 2,
            not_before: Some(now() + TimeDelta::from_std(delay).expect("a small delay")),
        }],
        ..Writes::default()
    };
    assert!(
        store
            .update_pipeline(&p, 1, &writes)
            .await
            .expect("update the pipeline")
    );
    job
}

fn jobs_of(deliveries: &[Delivery]) -> Vec<JobId> {
    deliveries.iter().map(|d| d.job).collect()
}

async fn ready_entries_are_delivered_in_enqueue_order(store: Arc<dyn TaskStore>) {
    let (p, jobs) = enqueue_jobs(&store, 3).await;

    let first = store.lease("w1", 2, LONG_LEASE, NO_WAIT).await.expect("lease");
    let rest = store.lease("w2", 10, LONG_LEASE, NO_WAIT).await.expect("lease");
    let none = store.lease("w3", 10, LONG_LEASE, NO_WAIT).await.expect("lease");

    assert_eq!(
        jobs_of(&first),
        jobs[..2],
        "the first two, in order, and no more than asked"
    );
    assert_eq!(jobs_of(&rest), jobs[2..]);
    assert!(none.is_empty(), "every entry is leased: {none:?}");
    for d in first.iter().chain(&rest) {
        assert_eq!((d.pipeline, d.attempt, d.deliveries), (p.id, 1, 1));
    }
    let entries: HashSet<_> = first.iter().chain(&rest).map(|d| &d.entry).collect();
    assert_eq!(entries.len(), 3, "each delivery names its own entry");
}

async fn a_lapsed_lease_is_delivered_again_and_its_old_holder_cannot_renew(store: Arc<dyn TaskStore>) {
    let (_, jobs) = enqueue_jobs(&store, 1).await;
    let old = store.lease("w1", 1, SHORT_LEASE, NO_WAIT).await.expect("lease");
    assert_eq!(jobs_of(&old), jobs);

    assert!(
        store
            .lease("w2", 1, SHORT_LEASE, NO_WAIT)
            .await
            .expect("lease")
            .is_empty(),
        "still leased"
    );
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(150)).await;
    let again = store.lease("w2", 1, SHORT_LEASE, NO_WAIT).await.expect("lease");

    assert_eq!(jobs_of(&again), jobs, "the lapsed lease is handed out again");
    assert_eq!(again[0].deliveries, 2);
    assert_eq!(again[0].attempt, 1, "a redelivery is the same attempt");
    assert!(
        !store.renew("w1", &old[0], SHORT_LEASE).await.expect("renew"),
        "w1 lost it"
    );
    assert!(
        store.renew("w2", &again[0], SHORT_LEASE).await.expect("renew"),
        "w2 holds it"
    );
}

async fn renewing_keeps_an_entry_from_being_reclaimed(store: Arc<dyn TaskStore>) {
    let lease = Duration::from_millis(300);
    enqueue_jobs(&store, 1).await;
    let held = store.lease("w1", 1, lease, NO_WAIT).await.expect("lease");
    assert_eq!(held.len(), 1);

    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            store.renew("w1", &held[0], lease).await.expect("renew"),
            "w1 still holds it"
        );
    }
    // 600 ms after the lease began: it would have lapsed twice without the renewals.
    let taken = store.lease("w2", 1, lease, NO_WAIT).await.expect("lease");

    assert!(taken.is_empty(), "a renewed lease is not reclaimed: {taken:?}");
    assert!(
        !store.renew("w2", &held[0], lease).await.expect("renew"),
        "only the holder renews"
    );
}

async fn an_acked_entry_is_gone_for_good(store: Arc<dyn TaskStore>) {
    enqueue_jobs(&store, 1).await;
    let held = store.lease("w1", 1, SHORT_LEASE, NO_WAIT).await.expect("lease");
    assert_eq!(held.len(), 1);

    store.ack(&held[0]).await.expect("ack");
    store.ack(&held[0]).await.expect("acking twice is not an error");
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(150)).await;

    let again = store.lease("w2", 1, SHORT_LEASE, NO_WAIT).await.expect("lease");
    assert!(again.is_empty(), "an acked entry is not delivered again: {again:?}");
    assert!(
        !store.renew("w1", &held[0], SHORT_LEASE).await.expect("renew"),
        "nothing left to renew"
    );
    assert_eq!(store.queue_depth().await.expect("depth"), QueueDepth::default());
}

async fn a_released_entry_is_delivered_again_at_once(store: Arc<dyn TaskStore>) {
    let (_, jobs) = enqueue_jobs(&store, 1).await;
    let held = store.lease("w1", 1, LONG_LEASE, NO_WAIT).await.expect("lease");
    assert_eq!(jobs_of(&held), jobs);

    store.release("w1", &held[0]).await.expect("release");
    let again = store.lease("w2", 1, LONG_LEASE, NO_WAIT).await.expect("lease");

    assert_eq!(
        jobs_of(&again),
        jobs,
        "released: ready again without waiting for the lease"
    );
    assert_eq!((again[0].attempt, again[0].deliveries), (1, 2));
    assert!(
        !store.renew("w1", &held[0], LONG_LEASE).await.expect("renew"),
        "w1 gave it up"
    );
    assert!(
        store
            .lease("w3", 1, LONG_LEASE, NO_WAIT)
            .await
            .expect("lease")
            .is_empty(),
        "a release hands out one copy, not two"
    );
}

async fn a_delayed_entry_waits_for_its_time(store: Arc<dyn TaskStore>) {
    let delay = Duration::from_millis(400);
    let job = enqueue_delayed(&store, delay).await;

    let early = store.lease("w1", 1, LONG_LEASE, NO_WAIT).await.expect("lease");
    assert!(early.is_empty(), "not before its time: {early:?}");
    tokio::time::sleep(delay + Duration::from_millis(100)).await;
    let due = store.lease("w1", 1, LONG_LEASE, NO_WAIT).await.expect("lease");

    assert_eq!(jobs_of(&due), [job]);
    assert_eq!((due[0].attempt, due[0].deliveries), (2, 1));
}

async fn a_waiting_lease_returns_when_an_entry_arrives(store: Arc<dyn TaskStore>) {
    let (p, writes) = pipeline("web", 1, 1, now());
    let writer = Arc::clone(&store);
    let enqueue = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        writer.create_pipeline(&p, &writes).await.expect("create the pipeline");
    });

    let started = Instant::now();
    let got = store
        .lease("w1", 1, LONG_LEASE, Duration::from_secs(5))
        .await
        .expect("lease");
    let waited = started.elapsed();
    enqueue.await.expect("the enqueue task");

    assert_eq!(got.len(), 1, "the entry that arrived during the wait");
    assert!(
        waited >= Duration::from_millis(90),
        "it waited for the entry: {waited:?}"
    );
    assert!(
        waited < Duration::from_millis(1500),
        "it returned soon after the entry arrived: {waited:?}"
    );
}

async fn a_waiting_lease_wakes_for_a_delayed_entry_coming_due(store: Arc<dyn TaskStore>) {
    let job = enqueue_delayed(&store, Duration::from_millis(300)).await;

    let started = Instant::now();
    let got = store
        .lease("w1", 1, LONG_LEASE, Duration::from_secs(5))
        .await
        .expect("lease");
    let waited = started.elapsed();

    assert_eq!(jobs_of(&got), [job]);
    assert!(
        waited < Duration::from_millis(1500),
        "it did not sleep through the due time: {waited:?}"
    );
}

async fn a_waiting_lease_on_an_empty_queue_returns_nothing_after_the_wait(store: Arc<dyn TaskStore>) {
    let wait = Duration::from_millis(300);
    let started = Instant::now();
    let got = store.lease("w1", 4, LONG_LEASE, wait).await.expect("lease");
    let waited = started.elapsed();

    assert!(got.is_empty());
    assert!(waited >= Duration::from_millis(250), "it waited: {waited:?}");
    assert!(waited < Duration::from_millis(1500), "and not much longer: {waited:?}");
}

async fn stop_flags_are_set_per_attempt_by_pipeline_writes(store: Arc<dyn TaskStore>) {
    let (p, _) = pipeline("web", 1, 2, now());
    store
        .create_pipeline(&p, &Writes::default())
        .await
        .expect("create the pipeline");
    let (stopped, other) = (p.stages[0].jobs[0].id, p.stages[0].jobs[1].id);
    assert!(
        !store.stop_requested(stopped, 1).await.expect("stop flag"),
        "no flag before the write"
    );

    let writes = Writes {
        stop: vec![(stopped, 1)],
        ..Writes::default()
    };
    assert!(store.update_pipeline(&p, 1, &writes).await.expect("update"));

    assert!(store.stop_requested(stopped, 1).await.expect("stop flag"));
    assert!(
        !store.stop_requested(stopped, 2).await.expect("stop flag"),
        "another attempt runs on"
    );
    assert!(
        !store.stop_requested(other, 1).await.expect("stop flag"),
        "another job runs on"
    );
}

async fn queue_depth_counts_ready_delayed_and_leased(store: Arc<dyn TaskStore>) {
    assert_eq!(store.queue_depth().await.expect("depth"), QueueDepth::default());
    enqueue_jobs(&store, 3).await;
    enqueue_delayed(&store, Duration::from_secs(60)).await;

    let held = store.lease("w1", 1, LONG_LEASE, NO_WAIT).await.expect("lease");
    assert_eq!(held.len(), 1);
    assert_eq!(
        store.queue_depth().await.expect("depth"),
        QueueDepth {
            ready: 2,
            delayed: 1,
            leased: 1
        }
    );

    store.ack(&held[0]).await.expect("ack");
    assert_eq!(
        store.queue_depth().await.expect("depth"),
        QueueDepth {
            ready: 2,
            delayed: 1,
            leased: 0
        }
    );
}

async fn a_lost_compare_and_set_enqueues_nothing(store: Arc<dyn TaskStore>) {
    let (p, _) = pipeline("web", 1, 1, now());
    store
        .create_pipeline(&p, &Writes::default())
        .await
        .expect("create the pipeline");
    let job = p.stages[0].jobs[0].id;
    let writes = Writes {
        enqueue: vec![QueuedJob {
            pipeline: p.id,
            job,
            attempt: 1,
            not_before: None,
        }],
        stop: vec![(job, 1)],
        ..Writes::default()
    };

    assert!(
        !store.update_pipeline(&p, 7, &writes).await.expect("update"),
        "the version is 1, not 7"
    );

    assert!(
        store
            .lease("w1", 1, LONG_LEASE, NO_WAIT)
            .await
            .expect("lease")
            .is_empty()
    );
    assert!(!store.stop_requested(job, 1).await.expect("stop flag"));
    assert_eq!(store.queue_depth().await.expect("depth"), QueueDepth::default());
}
