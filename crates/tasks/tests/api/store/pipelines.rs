//! Pipelines: storing and reading them whole, idempotent creation, the job index, compare-and-set updates with their
//! writes (all or nothing), listing newest first, and the events a pipeline write carries.
//!
//! This file holds the shared helpers and the creation cases; updates and listing live in the submodules.

mod listing;
mod updates;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use devopstrack_tasks::domain::{JobId, Pipeline, PipelineId};
use devopstrack_tasks::store::{
    Created, NewEvent, OutboxEntry, PipelineFilter, StoredPipeline, TaskStore, Writes, number_stamp,
};

use super::{now, pipeline, pipeline_with_key};

conformance!(
    a_created_pipeline_reads_back_equal_at_version_1,
    every_job_is_indexed_to_its_pipeline,
    an_idempotent_create_returns_the_first_pipeline_and_writes_nothing,
    concurrent_creates_with_one_key_store_one_pipeline,
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

/// Creates `p` (which must be new) and sets the number the store gave it.
async fn create(store: &Arc<dyn TaskStore>, p: &mut Pipeline, w: &Writes) {
    match store.create_pipeline(p, w).await.expect("create the pipeline") {
        Created::Created { number } => p.number = number,
        Created::Existing(stored) => panic!("pipeline {} already held the key", stored.pipeline.id),
    }
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
    let (mut p, w) = pipeline("proj-a", 3, 2, now());

    create(&store, &mut p, &w).await;

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
    let (mut p, w) = pipeline("proj-a", 3, 3, now());
    let (mut other, other_w) = pipeline("proj-a", 1, 1, now());

    create(&store, &mut p, &w).await;
    create(&store, &mut other, &other_w).await;

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
    let (mut first, mut first_w) = pipeline_with_key("proj-a", 1, 2, Some("deploy-42"), now());
    first_w.events.push(event(&first, "first"));
    create(&store, &mut first, &first_w).await;
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
    let first_event = [b"first".as_slice(), &number_stamp(1)].concat();
    assert_eq!(payloads, [first_event.as_slice()], "with the first run's number");
    assert!(store.due_outbox(now(), 10).await.unwrap().is_empty());

    // The key is per project.
    let (mut elsewhere, elsewhere_w) = pipeline_with_key("proj-b", 1, 1, Some("deploy-42"), now());
    create(&store, &mut elsewhere, &elsewhere_w).await;
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
            (id, Created::Created { .. }) => winners.push(id),
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
