//! Job runs and deployments reach the metrics service through the outbox: written while metrics is down, kept across
//! a restart of tasks, and delivered once metrics comes up, in batches, each event under its deterministic id. The
//! metrics service here is a test double (a tonic server in this process) that records every call. A deployment
//! carries the commit its pipeline names.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prost_types::Timestamp;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use devopstrack_proto::metrics::v1 as mpb;
use devopstrack_proto::metrics::v1::metrics_service_server::{MetricsService, MetricsServiceServer};
use devopstrack_proto::tasks::v1 as pb;

use crate::helpers::{Backend, Options, PROJECT, TestApp, job, jobs, spawn_app_with, stage};

on_both_backends!(
    delivered_once_metrics_is_back =>
    job_runs_and_deployments_are_delivered_once_metrics_is_back_even_after_a_restart_sqlite,
    job_runs_and_deployments_are_delivered_once_metrics_is_back_even_after_a_restart_redis
);

/// What the double received: each call's events, and the authorization it came with.
#[derive(Clone, Default)]
struct FakeMetrics {
    runs: Arc<Mutex<Vec<Vec<mpb::JobRun>>>>,
    deployments: Arc<Mutex<Vec<Vec<mpb::Deployment>>>>,
    authorizations: Arc<Mutex<BTreeSet<String>>>,
}

impl FakeMetrics {
    fn seen<T>(&self, request: &Request<T>) {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        self.authorizations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(header);
    }

    fn run_batches(&self) -> Vec<Vec<mpb::JobRun>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn deployment_batches(&self) -> Vec<Vec<mpb::Deployment>> {
        self.deployments.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[tonic::async_trait]
impl MetricsService for FakeMetrics {
    async fn record_job_run(
        &self,
        request: Request<mpb::RecordJobRunRequest>,
    ) -> Result<Response<mpb::RecordResponse>, Status> {
        self.seen(&request);
        let runs = request.into_inner().runs;
        let accepted = runs.len() as u32;
        self.runs.lock().unwrap_or_else(PoisonError::into_inner).push(runs);
        Ok(Response::new(mpb::RecordResponse { accepted }))
    }

    async fn record_deployment(
        &self,
        request: Request<mpb::RecordDeploymentRequest>,
    ) -> Result<Response<mpb::RecordResponse>, Status> {
        self.seen(&request);
        let deployments = request.into_inner().deployments;
        let accepted = deployments.len() as u32;
        self.deployments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(deployments);
        Ok(Response::new(mpb::RecordResponse { accepted }))
    }

    async fn record_change(
        &self,
        _: Request<mpb::RecordChangeRequest>,
    ) -> Result<Response<mpb::RecordResponse>, Status> {
        Err(Status::unimplemented("not used by tasks"))
    }

    async fn record_incident(
        &self,
        _: Request<mpb::RecordIncidentRequest>,
    ) -> Result<Response<mpb::RecordResponse>, Status> {
        Err(Status::unimplemented("not used by tasks"))
    }

    async fn query_series(
        &self,
        _: Request<mpb::QuerySeriesRequest>,
    ) -> Result<Response<mpb::QuerySeriesResponse>, Status> {
        Err(Status::unimplemented("not used by tasks"))
    }

    async fn get_dora(&self, _: Request<mpb::GetDoraRequest>) -> Result<Response<mpb::DoraReport>, Status> {
        Err(Status::unimplemented("not used by tasks"))
    }

    async fn get_overview(&self, _: Request<mpb::GetOverviewRequest>) -> Result<Response<mpb::Overview>, Status> {
        Err(Status::unimplemented("not used by tasks"))
    }
}

/// A port nothing listens on yet (bound and let go: nothing else on this machine is told about it).
async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    listener.local_addr().expect("a bound address").port()
}

async fn serve(fake: FakeMetrics, port: u16, stop: CancellationToken) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    tonic::transport::Server::builder()
        .add_service(MetricsServiceServer::new(fake))
        .serve_with_shutdown(addr, stop.cancelled_owned())
        .await
        .expect("serve the metrics double");
}

/// The commit the deploy pipeline names, and when it was made: metrics counts the deploy's lead time from it.
const DEPLOYED_SHA: &str = "5e2bf57d3f40c4b6df69daf1936cb766f832374b";

fn deployed_commit_time() -> Option<Timestamp> {
    Some(Timestamp {
        seconds: 1_750_000_000,
        nanos: 0,
    })
}

async fn pipelines(app: &TestApp) -> Vec<pb::Pipeline> {
    let build = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![
            stage("build", vec![job("compile", 50, 0.0), job("lint", 50, 0.0)]),
            stage("test", vec![job("unit", 50, 0.0)]),
        ],
        ..Default::default()
    };
    let deploy = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        environment: "staging".into(),
        version: "3.1.0".into(),
        stages: vec![stage("deploy", vec![job("rollout", 50, 0.0)])],
        commit_sha: DEPLOYED_SHA.into(),
        commit_time: deployed_commit_time(),
        ..Default::default()
    };
    let mut flaky = job("flaky", 20, 1.0);
    flaky.retry = Some(pb::RetryPolicy {
        max_attempts: 2,
        initial_backoff_ms: 100,
        max_backoff_ms: 100,
    });
    let failing = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![stage("check", vec![flaky])],
        ..Default::default()
    };
    let mut out = Vec::new();
    for (request, end) in [
        (build, pb::PipelineStatus::Succeeded),
        (deploy, pb::PipelineStatus::Succeeded),
        (failing, pb::PipelineStatus::Failed),
    ] {
        let p = app.create(&app.operator, request).await.expect("create");
        out.push(app.wait_status(&p.id, end, Duration::from_secs(30)).await);
    }
    out
}

async fn delivered_once_metrics_is_back(backend: Backend) {
    let port = free_port().await;
    let url = format!("http://127.0.0.1:{port}");
    let Some(app) = spawn_app_with(
        Options {
            backend,
            ..Options::default()
        },
        |s| s.metrics_url = url.clone(),
    )
    .await
    else {
        return;
    };

    // Metrics is down while every pipeline runs, and tasks restarts before it comes back.
    let ended = pipelines(&app).await;
    app.tasks_shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let restarted = CancellationToken::new();
    let _stop_restarted = restarted.clone().drop_guard();
    let tasks = devopstrack_tasks::startup::Application::build(&app.tasks_settings)
        .await
        .expect("build tasks again");
    tokio::spawn(tasks.run_until_stopped(restarted.clone()));
    let fake = FakeMetrics::default();
    let stop_fake = CancellationToken::new();
    let _stop_fake = stop_fake.clone().drop_guard();
    tokio::spawn(serve(fake.clone(), port, stop_fake.clone()));

    // Every attempt that ran: (event id) → (pipeline, job name, attempt, status).
    let mut expected = BTreeMap::new();
    for p in &ended {
        for j in jobs(p) {
            let statuses: Vec<mpb::JobRunStatus> = if j.name == "flaky" {
                vec![mpb::JobRunStatus::Failed, mpb::JobRunStatus::Failed]
            } else {
                vec![mpb::JobRunStatus::Succeeded]
            };
            for (i, status) in statuses.into_iter().enumerate() {
                let attempt = i as u32 + 1;
                expected.insert(
                    format!("{}:{attempt}", j.id),
                    (p.id.clone(), j.name.clone(), attempt, status),
                );
            }
        }
    }
    let store = devopstrack_tasks::store::connect(&app.database_url, &app.key_prefix)
        .await
        .expect("open the tasks store");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while store.metric_events_backlog().await.expect("backlog") > 0 || fake.run_batches().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the outbox never drained");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let batches = fake.run_batches();
    assert_eq!(
        batches.len(),
        1,
        "everything pending went in one RecordJobRun call: {batches:#?}"
    );
    let got: BTreeMap<String, (String, String, u32, mpb::JobRunStatus)> = batches[0]
        .iter()
        .map(|r| {
            let status = mpb::JobRunStatus::try_from(r.status).expect("a known status");
            (
                r.event_id.clone(),
                (r.pipeline_id.clone(), r.job_name.clone(), r.attempt, status),
            )
        })
        .collect();
    assert_eq!(got, expected, "every attempt once, under <job id>:<attempt>");
    assert_eq!(batches[0].len(), expected.len(), "no event twice in the batch");
    for run in &batches[0] {
        assert_eq!(run.project, PROJECT);
        assert_eq!(run.source, i32::from(mpb::Source::Devopstrack));
        assert!(
            run.started_at.is_some() && run.finished_at.is_some() && run.queued_at.is_some(),
            "{run:?}"
        );
        let deploy = ended[1].id == run.pipeline_id;
        assert_eq!(run.environment, if deploy { "staging" } else { "" });
    }
    let deployments = fake.deployment_batches();
    assert_eq!(deployments.len(), 1, "{deployments:#?}");
    let [deployment] = deployments[0].as_slice() else {
        panic!("one deployment: {deployments:#?}")
    };
    assert_eq!(
        (
            deployment.environment.as_str(),
            deployment.version.as_str(),
            deployment.pipeline_id.as_str()
        ),
        ("staging", "3.1.0", ended[1].id.as_str())
    );
    assert_eq!(deployment.status, i32::from(mpb::DeploymentStatus::Succeeded));
    assert_eq!(
        (deployment.commit_sha.as_str(), deployment.commit_time),
        (DEPLOYED_SHA, deployed_commit_time()),
        "the deployment carries its pipeline's commit, for lead time"
    );
    assert!(deployment.event_id.starts_with(&format!("{}:", ended[1].id)));
    let authorizations = fake
        .authorizations
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert!(
        authorizations.iter().all(|a| a.starts_with("Bearer ") && a.len() > 20),
        "every call carries the service token: {authorizations:?}"
    );
}
