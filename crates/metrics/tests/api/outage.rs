//! A store that is down is UNAVAILABLE, never INTERNAL or a hang: metrics on an InfluxDB URL where nothing listens
//! refuses Record* calls and reads UNAVAILABLE (the sender keeps its events and retries) and `/readyz` says not ready.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use tonic::Code;

use devopstrack_proto::metrics::v1 as pb;

use crate::helpers::{job_run, spawn_app_with, with_token};

/// A refused connection is answered at once; anything near the store's 10 s request timeout would be a hang.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_influxdb_where_nothing_listens_makes_records_and_reads_unavailable_quickly() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let app = spawn_app_with(|s| s.database_url = format!("http://127.0.0.1:{closed_port}")).await;
    let finished = Utc::now() - TimeDelta::minutes(1);
    let run = job_run("r1".into(), finished);

    let started = Instant::now();
    let record = app
        .client
        .clone()
        .record_job_run(with_token(pb::RecordJobRunRequest { runs: vec![run] }, &app.service))
        .await;
    let record_took = started.elapsed();
    let started = Instant::now();
    let read = app
        .client
        .clone()
        .get_dora(with_token(pb::GetDoraRequest::default(), &app.viewer))
        .await;
    let read_took = started.elapsed();
    let ready = app.admin_get("/readyz").await;

    let record = record.unwrap_err();
    assert_eq!(record.code(), Code::Unavailable, "{record:?}");
    assert!(record_took < ANSWER_WITHIN, "the record took {record_took:?}");
    assert_eq!(read.unwrap_err().code(), Code::Unavailable);
    assert!(read_took < ANSWER_WITHIN, "the read took {read_took:?}");
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    let text = app.prometheus().await;
    assert!(
        text.contains("devopstrack_metrics_store_write_failures_total 1"),
        "{text}"
    );
}
