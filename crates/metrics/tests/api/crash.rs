//! Accepted means durable: the real `devopstrack-metrics` binary, as a child process on a SQLite file, is killed with
//! SIGKILL right after its last acknowledged `Record*` call; restarted on the same file, it holds every acknowledged
//! event.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use tokio::process::{Child, Command};
use tonic::transport::Channel;

use devopstrack_proto::metrics::v1 as pb;
use devopstrack_proto::metrics::v1::metrics_service_client::MetricsServiceClient;

use crate::helpers::{TestAuth, job_run, spawn_auth, ts, with_token};

/// Concurrent senders, calls each, job runs per call.
const SENDERS: usize = 8;
const CALLS: usize = 10;
const PER_CALL: usize = 50;
/// How long the child may take to answer after it was started (a loaded machine, a debug build).
const START_WITHIN: Duration = Duration::from_secs(60);

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("a bound address").port()
}

/// `devopstrack-metrics` on `database_url`, verifying tokens with `auth_url`; its log goes to `log`.
struct MetricsProcess {
    child: Child,
    client: MetricsServiceClient<Channel>,
}

impl MetricsProcess {
    async fn start(database_url: &str, auth: &TestAuth, log: &Path) -> Self {
        let grpc = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let admin = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let log = std::fs::File::create(log).expect("create the child's log file");
        let child = Command::new(env!("CARGO_BIN_EXE_devopstrack-metrics"))
            .env_remove("DEVOPSTRACK_CONFIG")
            .env("DEVOPSTRACK_LOG", "info")
            .env("DEVOPSTRACK_LOG_FORMAT", "json")
            .env("DEVOPSTRACK_METRICS__GRPC_ADDR", grpc.to_string())
            .env("DEVOPSTRACK_METRICS__ADMIN_ADDR", admin.to_string())
            .env("DEVOPSTRACK_METRICS__DATABASE_URL", database_url)
            .env("DEVOPSTRACK_METRICS__AUTH_URL", &auth.url)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start devopstrack-metrics");
        let client = answering(&format!("http://{grpc}"), &auth.viewer).await;
        Self { child, client }
    }

    /// SIGKILL: no shutdown hook, no flush, no destructor runs in the child.
    async fn kill_9(mut self) {
        self.child.start_kill().expect("send SIGKILL");
        let status = self.child.wait().await.expect("reap the child");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "{status}"
        );
    }
}

/// A client of the metrics service at `url` once it answers a read (polled until [`START_WITHIN`]).
async fn answering(url: &str, viewer: &str) -> MetricsServiceClient<Channel> {
    let deadline = tokio::time::Instant::now() + START_WITHIN;
    loop {
        if let Ok(mut client) = MetricsServiceClient::connect(url.to_owned()).await
            && client
                .get_overview(with_token(pb::GetOverviewRequest::default(), viewer))
                .await
                .is_ok()
        {
            return client;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "metrics did not answer within {START_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Job runs in the last hour, counted through QuerySeries.
async fn job_runs_stored(client: &mut MetricsServiceClient<Channel>, viewer: &str) -> f64 {
    let now = Utc::now();
    let query = pb::QuerySeriesRequest {
        measure: pb::Measure::JobRuns.into(),
        from: Some(ts(now - TimeDelta::hours(1))),
        to: Some(ts(now + TimeDelta::minutes(1))),
        step_seconds: 3_600,
        ..Default::default()
    };
    let answer = client
        .query_series(with_token(query, viewer))
        .await
        .expect("QuerySeries")
        .into_inner();
    answer.buckets.iter().map(|b| b.values["total"]).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_record_survives_a_kill_9_of_the_metrics_process() {
    let auth = spawn_auth().await;
    let database_url = format!("sqlite://{}/metrics.db", auth.dir.path().display());
    let metrics = MetricsProcess::start(&database_url, &auth, &auth.dir.path().join("first.log")).await;

    // Concurrent senders, as tasks' outboxes and the gateway are; each call is acknowledged (OK) or not.
    let now = Utc::now() - TimeDelta::minutes(5);
    let senders = (0..SENDERS).map(|s| {
        let mut client = metrics.client.clone();
        let token = auth.service.clone();
        tokio::spawn(async move {
            let mut acknowledged = 0;
            for c in 0..CALLS {
                let runs = (0..PER_CALL)
                    .map(|i| job_run(format!("s{s}-c{c}-r{i}"), now + TimeDelta::milliseconds(i as i64)))
                    .collect();
                let call = client.record_job_run(with_token(pb::RecordJobRunRequest { runs }, &token));
                let accepted = call.await.expect("RecordJobRun").into_inner().accepted;
                assert_eq!(accepted as usize, PER_CALL);
                acknowledged += PER_CALL;
            }
            acknowledged
        })
    });
    let mut acknowledged = 0;
    for sender in futures::future::join_all(senders).await {
        acknowledged += sender.expect("a sender");
    }
    // The moment the last acknowledgement is in: no time for a flush interval to pass.
    metrics.kill_9().await;

    let mut restarted = MetricsProcess::start(&database_url, &auth, &auth.dir.path().join("second.log")).await;
    let stored = job_runs_stored(&mut restarted.client, &auth.viewer).await;
    assert_eq!(acknowledged, SENDERS * CALLS * PER_CALL);
    assert_eq!(
        stored,
        acknowledged as f64,
        "every acknowledged job run is stored after kill -9 and a restart (lost: {})",
        acknowledged as f64 - stored
    );
}
