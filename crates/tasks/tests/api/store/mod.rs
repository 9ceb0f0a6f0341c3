//! The tasks store conformance suite. Each test is one generic async function over `Arc<dyn TaskStore>`, and
//! [`conformance!`] runs it twice: against SQLite in a fresh temp file, and against Redis under a fresh key prefix
//! (the server from `DEVOPSTRACK_TEST_REDIS_URL`, or a throwaway one the testkit starts; with
//! `DEVOPSTRACK_REQUIRE_BACKENDS=1` a missing Redis fails the test instead of skipping it).
//!
//! Helpers for building pipelines and writes live here; the cases live in the submodules, one area per focused trait
//! of the store (each store implements every one of them; `TaskStore` is their sum):
//! - `PipelineStore`: `pipelines` (create, read, compare-and-set updates, listing), `run_numbers`, `tracked` (which
//!   also samples `TaskStore::backlog`);
//! - `JobQueue`: `queue`;
//! - `EventLog`: `logs_events`;
//! - `DeploymentOutbox`: `outbox`;
//! - `MetricEventOutbox`: `metric_events_outbox`.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use devopstrack_tasks::domain::spec::{JobInput, StageInput};
use devopstrack_tasks::domain::{Pipeline, PipelineInput, PipelineMeta, PipelineSpec, Source, Trigger};
use devopstrack_tasks::store::{QueuedJob, TaskStore, Writes};
use tempfile::TempDir;

/// For each test function `f`, declares `mod f { fn sqlite(); fn redis(); }` running `f` against that store.
macro_rules! conformance {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (store, _dir) = $crate::store::sqlite().await;
                super::$test(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                let Some(store) = $crate::store::redis().await else { return };
                super::$test(store).await;
            }
        }
    )+};
}

mod inbox;
mod logs_events;
mod metric_events_outbox;
mod outbox;
mod pipelines;
mod queue;
mod run_numbers;
mod tracked;

/// A store on a new SQLite database in a temp dir that lives as long as the returned guard.
pub async fn sqlite() -> (Arc<dyn TaskStore>, TempDir) {
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite database");
    let url = format!("sqlite://{}/tasks.db", dir.path().display());
    let store = devopstrack_tasks::store::connect(&url, "")
        .await
        .expect("open the SQLite test store");
    (store, dir)
}

/// A store under a fresh key prefix on the test Redis, or `None` (skipped, loudly) when there is none.
pub async fn redis() -> Option<Arc<dyn TaskStore>> {
    let redis = devopstrack_testkit::redis().await?;
    Some(
        devopstrack_tasks::store::connect(&redis.url, &redis.prefix)
            .await
            .expect("connect to the test Redis"),
    )
}

/// A pipeline of `stages` stages with `jobs` simulate jobs each, for `project`, created at `now`, and the writes that
/// `Pipeline::new` asks for (its enqueues; events are left to the tests that need them).
pub fn pipeline(project: &str, stages: usize, jobs: usize, now: DateTime<Utc>) -> (Pipeline, Writes) {
    pipeline_with_key(project, stages, jobs, None, now)
}

pub fn pipeline_with_key(
    project: &str,
    stages: usize,
    jobs: usize,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> (Pipeline, Writes) {
    let input = PipelineInput {
        stages: (0..stages)
            .map(|s| StageInput {
                name: format!("stage-{s}"),
                jobs: (0..jobs)
                    .map(|j| JobInput {
                        name: format!("job-{j}"),
                        ..JobInput::default()
                    })
                    .collect(),
            })
            .collect(),
    };
    let spec = PipelineSpec::parse(&input).expect("a valid spec");
    let meta = PipelineMeta {
        project: project.to_owned(),
        target: None,
        trigger: Trigger::Api,
        triggered_by: "user-1".to_owned(),
        idempotency_key: key.map(str::to_owned),
        source: Source::DevOpsTrack,
        commit: None,
    };
    let (p, effects) = Pipeline::new(spec, meta, now);
    let writes = writes_for(&p, &effects, now);
    (p, writes)
}

/// The queue writes for `effects` (Enqueue and Retry), as the app derives them.
pub fn writes_for(p: &Pipeline, effects: &[devopstrack_tasks::domain::Effect], _now: DateTime<Utc>) -> Writes {
    use devopstrack_tasks::domain::Effect;
    let mut w = Writes::default();
    for e in effects {
        match e {
            Effect::Enqueue { job, attempt } => w.enqueue.push(QueuedJob {
                pipeline: p.id,
                job: *job,
                attempt: *attempt,
                not_before: None,
            }),
            Effect::Retry { job, attempt, at } => w.enqueue.push(QueuedJob {
                pipeline: p.id,
                job: *job,
                attempt: *attempt,
                not_before: Some(*at),
            }),
            Effect::StopRunning { job, attempt } => w.stop.push((*job, *attempt)),
            Effect::CancelQueued { .. } | Effect::Event(_) => {}
        }
    }
    w
}

/// Now, truncated to milliseconds (what every store keeps exactly).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now - TimeDelta::nanoseconds(i64::from(now.timestamp_subsec_nanos() % 1_000_000))
}
