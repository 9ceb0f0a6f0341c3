use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

use super::*;
use crate::domain::{Deployment, DeploymentStatus, Source};
use crate::store::{ReadQuery, StoreResult};

/// Keeps the size of every appended batch; the first `failures` appends fail. With a `gate`, each append first
/// takes a permit from it (the test hands them out) so a write can be held in flight; `entered` counts the appends
/// begun.
#[derive(Default)]
struct RecordingStore {
    failures: AtomicU32,
    entered: AtomicU32,
    batches: Mutex<Vec<usize>>,
    gate: Option<Semaphore>,
}

impl RecordingStore {
    fn gated() -> Self {
        Self {
            gate: Some(Semaphore::new(0)),
            ..Self::default()
        }
    }

    fn batches(&self) -> Vec<usize> {
        lock(&self.batches).clone()
    }

    fn entered(&self) -> u32 {
        self.entered.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl MetricsStore for RecordingStore {
    async fn append(&self, events: &[Event]) -> StoreResult<()> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            gate.acquire().await.expect("the gate stays open").forget();
        }
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::Unavailable("down".into()));
        }
        lock(&self.batches).push(events.len());
        Ok(())
    }

    async fn read(&self, _query: &ReadQuery) -> StoreResult<Vec<Event>> {
        Ok(Vec::new())
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}

fn deployments(from: usize, n: usize) -> Vec<Event> {
    (from..from + n)
        .map(|i| {
            Event::Deployment(Deployment {
                event_id: format!("d{i}"),
                project: "shop".into(),
                environment: "production".into(),
                status: DeploymentStatus::Succeeded,
                version: String::new(),
                commit_sha: String::new(),
                commit_time: None,
                started_at: None,
                finished_at: DateTime::<Utc>::UNIX_EPOCH,
                pipeline_id: String::new(),
                source: Source::DevOpsTrack,
                rollback: false,
            })
        })
        .collect()
}

fn settings(capacity: usize, batch: usize) -> AppSettings {
    AppSettings {
        buffer_capacity: capacity,
        flush_batch: batch,
        ..AppSettings::default()
    }
}

/// A writer running over `store`, stopped when the returned token is cancelled.
fn start(commits: &Arc<GroupCommit>, store: &Arc<RecordingStore>) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let (commits, store, token) = (commits.clone(), store.clone(), stop.clone());
    (stop, tokio::spawn(async move { commits.run(store, token).await }))
}

/// Waits (polling, at most 10 s) until `done` holds.
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..1_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the condition did not hold within 10 s");
}

#[tokio::test]
async fn a_call_is_answered_only_once_its_events_are_committed() {
    let commits = Arc::new(GroupCommit::new(&settings(1_000, 100), &MetricsRegistry::new()));
    let store = Arc::new(RecordingStore::gated());
    let (_stop, _writer) = start(&commits, &store);

    let call = tokio::spawn({
        let commits = commits.clone();
        async move { commits.write(deployments(0, 3)).await }
    });
    until(|| store.entered() == 1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!call.is_finished(), "answered before the store write ended");

    store.gate.as_ref().unwrap().add_permits(1);
    call.await.unwrap().expect("stored");
    assert_eq!(store.batches(), [3]);
}

#[tokio::test]
async fn calls_that_arrive_during_a_write_share_the_next_one() {
    let registry = MetricsRegistry::new();
    let commits = Arc::new(GroupCommit::new(&settings(1_000, 100), &registry));
    let store = Arc::new(RecordingStore::gated());
    let (_stop, _writer) = start(&commits, &store);
    let call = |from| {
        let commits = commits.clone();
        tokio::spawn(async move { commits.write(deployments(from, 2)).await })
    };
    let first = call(0);
    until(|| store.entered() == 1).await;

    let later: Vec<_> = (1..=5).map(|i| call(i * 10)).collect();
    until(|| commits.depth() == 10).await;
    store.gate.as_ref().unwrap().add_permits(2);
    first.await.unwrap().expect("stored");
    for call in later {
        call.await.unwrap().expect("stored");
    }

    assert_eq!(
        store.batches(),
        [2, 10],
        "one write for the first call, one for the five behind it"
    );
    let text = registry.encode();
    assert!(text.contains("devopstrack_metrics_store_commits_total 2"), "{text}");
    assert!(text.contains("devopstrack_metrics_points_ingested_total 12"), "{text}");
}

#[tokio::test]
async fn a_group_holds_whole_calls_up_to_flush_batch() {
    let commits = Arc::new(GroupCommit::new(&settings(1_000, 5), &MetricsRegistry::new()));
    let store = Arc::new(RecordingStore::default());
    let answers: Vec<_> = [3, 2, 4, 7, 1]
        .into_iter()
        .enumerate()
        .map(|(i, n)| commits.enqueue(deployments(i * 10, n)).unwrap())
        .collect();
    let (stop, writer) = start(&commits, &store);
    for answer in answers {
        answer.await.unwrap().expect("stored");
    }
    stop.cancel();
    writer.await.unwrap();
    assert_eq!(store.batches(), [5, 4, 7, 1], "a call larger than the batch goes alone");
}

#[test]
fn a_call_that_does_not_fit_is_refused_whole_and_counted_as_dropped() {
    let registry = MetricsRegistry::new();
    let commits = GroupCommit::new(&settings(10, 4), &registry);
    let _first = commits.enqueue(deployments(0, 8)).unwrap();
    assert_eq!(commits.enqueue(deployments(8, 3)).err(), Some(8));
    assert_eq!(commits.depth(), 8, "nothing of the refused call was kept");
    let _second = commits.enqueue(deployments(8, 2)).unwrap();
    let text = registry.encode();
    assert!(text.contains("devopstrack_metrics_points_dropped_total 3"), "{text}");
    assert!(text.contains("devopstrack_metrics_buffer_depth 10"), "{text}");
}

#[tokio::test]
async fn a_failed_write_answers_every_call_of_its_group_with_the_error_and_the_next_write_lands() {
    let registry = MetricsRegistry::new();
    let commits = Arc::new(GroupCommit::new(&settings(1_000, 100), &registry));
    let store = Arc::new(RecordingStore {
        failures: AtomicU32::new(1),
        ..RecordingStore::default()
    });
    let first = commits.enqueue(deployments(0, 2)).unwrap();
    let second = commits.enqueue(deployments(2, 2)).unwrap();
    let (_stop, _writer) = start(&commits, &store);
    for answer in [first, second] {
        let outcome = answer.await.unwrap();
        assert!(
            matches!(&outcome, Err(e) if matches!(**e, StoreError::Unavailable(_))),
            "{outcome:?}"
        );
    }
    commits.write(deployments(0, 4)).await.expect("the retry is stored");
    assert_eq!(store.batches(), [4]);
    let text = registry.encode();
    assert!(
        text.contains("devopstrack_metrics_store_write_failures_total 1"),
        "{text}"
    );
}

#[tokio::test]
async fn the_writer_stops_only_once_the_queue_is_written() {
    let commits = Arc::new(GroupCommit::new(&settings(1_000, 50), &MetricsRegistry::new()));
    let store = Arc::new(RecordingStore::default());
    let answer = commits.enqueue(deployments(0, 120)).unwrap();
    let stop = CancellationToken::new();
    stop.cancel();
    commits.run(store.clone(), stop).await;
    answer.await.unwrap().expect("stored before the writer ended");
    assert_eq!(store.batches(), [120]);
}

#[tokio::test]
async fn a_redelivered_deployment_is_counted_once() {
    let registry = MetricsRegistry::new();
    let commits = Arc::new(GroupCommit::new(&settings(1_000, 50), &registry));
    let store = Arc::new(RecordingStore::default());
    let (_stop, _writer) = start(&commits, &store);
    commits.write(deployments(0, 3)).await.unwrap();
    commits.write(deployments(0, 3)).await.unwrap();
    let text = registry.encode();
    assert!(
        text.contains(r#"devopstrack_deployments_total{environment="production",status="succeeded"} 3"#),
        "{text}"
    );
}
