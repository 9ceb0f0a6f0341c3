//! A worker that cannot renew its lease stops executing the job (its executor is cancelled) and reports no finish:
//! the delivery is no longer its own. Three ways to lose it, on both stores: renewals fail, renewals hang, and the
//! delivery is taken away and handed to another worker. The job is a deploy hook that never answers, so only the
//! worker's own decision can end it (its request would time out after 30 s, after these tests have looked).

mod flaky_store;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tempfile::TempDir;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use devopstrack_tasks::app::TasksApp;
use devopstrack_tasks::domain::{JobStatus, Pipeline, PipelineInput, PipelineMeta, PipelineSpec, Source, Trigger};
use devopstrack_tasks::executor::outbound::OutboundPolicy;
use devopstrack_tasks::executor::{ExecutorSettings, Executors};
use devopstrack_tasks::projects::Projects;
use devopstrack_tasks::store::{PipelineStore, QueuedJob, TaskStore, Writes};
use devopstrack_tasks::worker::{self, WorkerSettings};

use crate::helpers::Backend;
use flaky_store::{FlakyStore, Renewals};

const WORKER: &str = "lease-test-worker";
const LEASE: Duration = Duration::from_millis(1_500);
/// Far more than the one renewal interval (500 ms) the worker needs, far less than the hook request's 30 s timeout.
const PATIENCE: Duration = Duration::from_secs(20);
const CANCELLED_LINE: &str = "deploy hook: cancelled";

/// How the worker loses its lease.
#[derive(Debug, Clone, Copy)]
enum Loss {
    RenewalsFail,
    RenewalsHang,
    Taken,
}

/// A hook that reads the request and never answers; counts the requests it got.
async fn silent_hook() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the hook");
    let url = format!("http://{}/deploy", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut counted = false;
                // Read until the client goes away; answer nothing.
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if !counted {
                        counted = true;
                        seen.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    (url, requests)
}

async fn store(backend: Backend) -> Option<(Arc<dyn TaskStore>, TempDir)> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (url, prefix) = match backend {
        Backend::Sqlite => (format!("sqlite://{}/tasks.db", dir.path().display()), String::new()),
        Backend::Redis => {
            let redis = devopstrack_testkit::redis().await?;
            (redis.url, redis.prefix)
        }
    };
    let store = devopstrack_tasks::store::connect(&url, &prefix)
        .await
        .expect("connect the store");
    Some((store, dir))
}

async fn eventually(what: &str, done: impl AsyncFn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_worker_that_loses_its_lease_stops_the_job_and_reports_nothing(backend: Backend, loss: Loss) {
    devopstrack_testkit::init_test_logging();
    let Some((inner, _dir)) = store(backend).await else {
        return;
    };
    let store = Arc::new(FlakyStore::new(inner.clone()));
    let (hook, requests) = silent_hook().await;
    let input: PipelineInput = serde_json::from_value(json!({"stages": [{"name": "deploy", "jobs": [
        {"name": "rollout", "executor": "http", "params": {"url": hook}}
    ]}]}))
    .unwrap();
    let meta = PipelineMeta {
        project: "api".into(),
        target: None,
        trigger: Trigger::Api,
        triggered_by: "alice".into(),
        idempotency_key: None,
        source: Source::DevOpsTrack,
        commit: None,
    };
    let (pipeline, _) = Pipeline::new(PipelineSpec::parse(&input).unwrap(), meta, chrono::Utc::now());
    let job = pipeline.stages[0].jobs[0].id;
    let queued = QueuedJob {
        pipeline: pipeline.id,
        job,
        attempt: 1,
        not_before: None,
    };
    let writes = Writes {
        enqueue: vec![queued],
        ..Writes::default()
    };
    store
        .create_pipeline(&pipeline, &writes)
        .await
        .expect("store the pipeline");
    let nowhere = "http://127.0.0.1:9";
    let projects = Projects::new(nowhere, nowhere, Duration::from_secs(1), "tasks", None).unwrap();
    let app = Arc::new(TasksApp::new(store.clone(), projects, TasksApp::system_clock()));
    let executors = Executors::new(ExecutorSettings {
        hook_secrets: BTreeMap::new(),
        hook_poll: Duration::from_millis(50),
        outbound: OutboundPolicy::parse(&["127.0.0.0/8".into()], &[]).unwrap(),
    })
    .unwrap();
    let settings = WorkerSettings {
        name: WORKER.into(),
        count: 1,
        leasers: 1,
        lease: LEASE,
        grace: Duration::from_millis(100),
    };
    let shutdown = CancellationToken::new();
    let workers = tokio::spawn(worker::run(app, Arc::new(executors), settings, shutdown.clone()));
    eventually("the hook call", async || requests.load(Ordering::SeqCst) == 1).await;

    store.stop_leasing();
    match loss {
        Loss::RenewalsFail => store.set(Renewals::Fail),
        Loss::RenewalsHang => store.set(Renewals::Hang),
        Loss::Taken => {
            let delivery = store.leased().pop().expect("the worker leased the job");
            inner.release(WORKER, &delivery).await.expect("take the delivery away");
            let stolen = inner.lease("thief", 1, LEASE, Duration::from_secs(5)).await.unwrap();
            assert_eq!(stolen.len(), 1, "another worker holds it now");
        }
    }

    eventually("the executor's cancellation", async || {
        let log = inner.read_log(job, 1, 0, 100).await.expect("read the log");
        log.lines.iter().any(|l| l.starts_with(CANCELLED_LINE))
    })
    .await;
    shutdown.cancel();
    workers.await.expect("the workers stop");
    let stored = inner.pipeline(pipeline.id).await.unwrap().expect("the pipeline");
    let rollout = &stored.pipeline.stages[0].jobs[0];
    assert_eq!(
        (rollout.status, rollout.attempt, rollout.worker.as_deref()),
        (JobStatus::Running, 1, Some(WORKER)),
        "{loss:?}: the worker reported a finish it no longer owned: {:?}",
        rollout.exit_reason
    );
    assert_eq!(requests.load(Ordering::SeqCst), 1, "the hook was called once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_renewals_stop_the_job_on_sqlite() {
    a_worker_that_loses_its_lease_stops_the_job_and_reports_nothing(Backend::Sqlite, Loss::RenewalsFail).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_renewals_stop_the_job_on_redis() {
    a_worker_that_loses_its_lease_stops_the_job_and_reports_nothing(Backend::Redis, Loss::RenewalsFail).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_renewals_stop_the_job_on_sqlite() {
    a_worker_that_loses_its_lease_stops_the_job_and_reports_nothing(Backend::Sqlite, Loss::RenewalsHang).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_renewals_stop_the_job_on_redis() {
    a_worker_that_loses_its_lease_stops_the_job_and_reports_nothing(Backend::Redis, Loss::RenewalsHang).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_taken_by_another_worker_stops_the_job_on_sqlite() {
    a_worker_that_loses_its_lease_stops_the_job_and_reports_nothing(Backend::Sqlite, Loss::Taken).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_taken_by_another_worker_stops_the_job_on_redis() {
    a_worker_that_loses_its_lease_stops_the_job_and_reports_nothing(Backend::Redis, Loss::Taken).await;
}
