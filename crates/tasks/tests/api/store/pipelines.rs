//! Pipelines: storing and reading them whole, idempotent creation, the job index, compare-and-set updates with their
//! writes (all or nothing), listing newest first, and the events a pipeline write carries.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use devopstrack_tasks::domain::{JobId, Pipeline, PipelineId, PipelineStatus};
use devopstrack_tasks::store::{
    Created, NewEvent, OutboxEntry, PipelineFilter, QueuedJob, StoredPipeline, TaskStore, Writes,
};

use super::{now, pipeline, pipeline_with_key, writes_for};

conformance!(
    a_created_pipeline_reads_back_equal_at_version_1,
    every_job_is_indexed_to_its_pipeline,
    an_idempotent_create_returns_the_first_pipeline_and_writes_nothing,
    concurrent_creates_with_one_key_store_one_pipeline,
    an_update_on_the_stored_version_bumps_it_and_applies_its_writes,
    a_stale_update_writes_nothing,
    of_concurrent_updates_on_one_version_exactly_one_wins,
    listing_pages_newest_first_without_gaps_or_duplicates_for_every_filter,
    events_of_pipeline_writes_are_read_in_write_order,
);

const LEASE: Duration = Duration::from_secs(60);
/// Short but not zero: a blocking read with no wait at all means "forever" to some servers.
const NO_WAIT: Duration = Duration::from_millis(50);

fn event(p: &Pipeline, payload: &str) -> NewEvent {
    NewEvent {
        project: p.meta.project.clone(),
        pipeline: p.id,
        payload: payload.as_bytes().to_vec(),
    }
}

fn outbox_entry(id: PipelineId, payload: &str) -> OutboxEntry {
    OutboxEntry {
        id,
        payload: payload.as_bytes().to_vec(),
        attempts: 0,
        due_at: now() - chrono::TimeDelta::seconds(1),
    }
}

async fn create(store: &Arc<dyn TaskStore>, p: &Pipeline, w: &Writes) {
    let created = store.create_pipeline(p, w).await.expect("create the pipeline");
    assert_eq!(created, Created::Created);
}

/// Every queue entry leaseable now, as `(job, attempt)`.
async fn lease_all(store: &Arc<dyn TaskStore>) -> Vec<(JobId, u32)> {
    let deliveries = store.lease("w", 1000, LEASE, NO_WAIT).await.expect("lease");
    deliveries.into_iter().map(|d| (d.job, d.attempt)).collect()
}

fn enqueued(w: &Writes) -> HashSet<(JobId, u32)> {
    w.enqueue.iter().map(|q| (q.job, q.attempt)).collect()
}

async fn a_created_pipeline_reads_back_equal_at_version_1(store: Arc<dyn TaskStore>) {
    let (p, w) = pipeline("proj-a", 3, 2, now());

    create(&store, &p, &w).await;

    let stored = store.pipeline(p.id).await.unwrap().expect("the pipeline is stored");
    assert_eq!(
        stored,
        StoredPipeline {
            pipeline: p,
            version: 1
        }
    );
    assert_eq!(store.pipeline(PipelineId::new()).await.unwrap(), None);
}

async fn every_job_is_indexed_to_its_pipeline(store: Arc<dyn TaskStore>) {
    let (p, w) = pipeline("proj-a", 3, 3, now());
    let (other, other_w) = pipeline("proj-a", 1, 1, now());

    create(&store, &p, &w).await;
    create(&store, &other, &other_w).await;

    for job in p.jobs() {
        assert_eq!(
            store.pipeline_of_job(job.id).await.unwrap(),
            Some(p.id),
            "job {}",
            job.id
        );
    }
    for job in other.jobs() {
        assert_eq!(store.pipeline_of_job(job.id).await.unwrap(), Some(other.id));
    }
    assert_eq!(store.pipeline_of_job(JobId::new()).await.unwrap(), None);
}

async fn an_idempotent_create_returns_the_first_pipeline_and_writes_nothing(store: Arc<dyn TaskStore>) {
    let (first, mut first_w) = pipeline_with_key("proj-a", 1, 2, Some("deploy-42"), now());
    first_w.events.push(event(&first, "first"));
    create(&store, &first, &first_w).await;
    let (again, mut again_w) = pipeline_with_key("proj-a", 1, 2, Some("deploy-42"), now());
    again_w.events.push(event(&again, "again"));
    again_w.outbox = Some(outbox_entry(again.id, "again"));

    let created = store.create_pipeline(&again, &again_w).await.unwrap();

    assert_eq!(
        created,
        Created::Existing(StoredPipeline {
            pipeline: first.clone(),
            version: 1
        })
    );
    assert_eq!(store.pipeline(again.id).await.unwrap(), None);
    for job in again.jobs() {
        assert_eq!(store.pipeline_of_job(job.id).await.unwrap(), None);
    }
    let leased: HashSet<_> = lease_all(&store).await.into_iter().collect();
    assert_eq!(leased, enqueued(&first_w), "only the first pipeline's jobs are queued");
    let events = store.read_events(None, 100, NO_WAIT).await.unwrap();
    let payloads: Vec<&[u8]> = events.iter().map(|e| e.payload.as_slice()).collect();
    assert_eq!(payloads, [b"first".as_slice()]);
    assert!(store.due_outbox(now(), 10).await.unwrap().is_empty());

    // The key is per project.
    let (elsewhere, elsewhere_w) = pipeline_with_key("proj-b", 1, 1, Some("deploy-42"), now());
    create(&store, &elsewhere, &elsewhere_w).await;
    assert_eq!(
        store.pipeline(elsewhere.id).await.unwrap().map(|s| s.pipeline),
        Some(elsewhere)
    );
}

async fn concurrent_creates_with_one_key_store_one_pipeline(store: Arc<dyn TaskStore>) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let (p, w) = pipeline_with_key("proj-a", 1, 1, Some("same-key"), now());
            tokio::spawn(async move { (p.id, store.create_pipeline(&p, &w).await.expect("create")) })
        })
        .collect();
    let mut winners = Vec::new();
    let mut existing = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (id, Created::Created) => winners.push(id),
            (_, Created::Existing(stored)) => existing.push(stored.pipeline.id),
        }
    }

    assert_eq!(winners.len(), 1, "exactly one create stores its pipeline");
    assert_eq!(existing, vec![winners[0]; 7], "the others get the winner");
    let listed = store
        .list_pipelines(&PipelineFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|p| p.id).collect::<Vec<_>>(), winners);
    assert_eq!(lease_all(&store).await.len(), 1, "one job queued once");
}

async fn an_update_on_the_stored_version_bumps_it_and_applies_its_writes(store: Arc<dyn TaskStore>) {
    let (mut p, w) = pipeline("proj-a", 2, 1, now());
    create(&store, &p, &w).await;
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
    create(&store, &p, &w).await;
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
    let (p, w) = pipeline("proj-a", 1, 1, now());
    create(&store, &p, &w).await;

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

/// Every pipeline `filter` selects, walked `page` at a time from the newest; asserts each page's size.
async fn walk(store: &Arc<dyn TaskStore>, filter: &PipelineFilter, page: u32) -> Vec<Pipeline> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let got = store.list_pipelines(filter, before, page).await.expect("list");
        assert!(
            got.len() <= page as usize,
            "a page of {} for a limit of {page}",
            got.len()
        );
        let Some(last) = got.last() else { return all };
        before = Some(last.id);
        all.extend(got);
        assert!(all.len() <= 100, "the walk does not end");
    }
}

async fn listing_pages_newest_first_without_gaps_or_duplicates_for_every_filter(store: Arc<dyn TaskStore>) {
    let mut stored = Vec::new();
    for i in 0..14 {
        let project = if i % 3 == 0 { "proj-b" } else { "proj-a" };
        let (mut p, w) = pipeline(project, 1, 1, now());
        create(&store, &p, &w).await;
        let fx = match i % 4 {
            0 => p.cancel("user-1", now()).expect("cancel"),
            1 => {
                let job = p.stages[0].jobs[0].id;
                p.start_job(job, 1, "worker-1", now()).expect("start")
            }
            _ => Vec::new(),
        };
        if !fx.is_empty() {
            assert!(store.update_pipeline(&p, 1, &writes_for(&p, &fx, now())).await.unwrap());
        }
        stored.push(p);
    }
    stored.sort_by_key(|p| std::cmp::Reverse(p.id));

    let projects = [None, Some("proj-a"), Some("proj-b"), Some("proj-c")];
    let statuses = [
        None,
        Some(PipelineStatus::Queued),
        Some(PipelineStatus::Running),
        Some(PipelineStatus::Cancelled),
        Some(PipelineStatus::Succeeded),
    ];
    for project in projects {
        for status in statuses {
            let filter = PipelineFilter {
                project: project.map(str::to_owned),
                status,
            };
            let expected: Vec<&Pipeline> = stored
                .iter()
                .filter(|p| project.is_none_or(|want| p.meta.project == want))
                .filter(|p| status.is_none_or(|want| p.status == want))
                .collect();
            for page in [1, 4, 100] {
                let listed = walk(&store, &filter, page).await;
                assert_eq!(
                    listed.iter().collect::<Vec<_>>(),
                    expected,
                    "{filter:?}, pages of {page}"
                );
            }
        }
    }

    // The status filter follows updates.
    let mut moved = stored
        .iter()
        .find(|p| p.status == PipelineStatus::Queued)
        .cloned()
        .expect("a queued pipeline");
    let version = store.pipeline(moved.id).await.unwrap().expect("stored").version;
    let fx = moved.cancel("user-2", now()).expect("cancel");
    assert!(
        store
            .update_pipeline(&moved, version, &writes_for(&moved, &fx, now()))
            .await
            .unwrap()
    );
    let of_status = |status| PipelineFilter {
        project: None,
        status: Some(status),
    };
    let queued = walk(&store, &of_status(PipelineStatus::Queued), 100).await;
    let cancelled = walk(&store, &of_status(PipelineStatus::Cancelled), 100).await;
    assert!(!queued.iter().any(|p| p.id == moved.id));
    assert!(cancelled.contains(&moved));
}

async fn events_of_pipeline_writes_are_read_in_write_order(store: Arc<dyn TaskStore>) {
    let (mut p, mut w) = pipeline("proj-a", 1, 1, now());
    w.events = vec![event(&p, "one"), event(&p, "two")];
    create(&store, &p, &w).await;
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
    let want: Vec<(&str, PipelineId, &[u8])> = ["one", "two", "three", "four"]
        .iter()
        .map(|payload| ("proj-a", p.id, payload.as_bytes()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        store.last_event_id().await.unwrap().as_deref(),
        Some(events[3].id.as_str())
    );
    let rest = store.read_events(Some(&events[1].id), 100, NO_WAIT).await.unwrap();
    assert_eq!(rest, events[2..]);
}
