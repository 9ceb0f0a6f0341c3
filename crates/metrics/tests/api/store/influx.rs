//! The InfluxDB store, two ways.
//!
//! - Always: against [`mock_server::MockInflux`], a local HTTP server that records the exact requests (paths, `org`/
//!   `bucket`/`precision`, `Authorization: Token …`, line-protocol bodies, Flux) and answers canned InfluxDB 2.7
//!   replies (annotated CSV, error JSON, health). `requests.rs`: writes, errors, health, settings; `answers.rs`:
//!   parsing of read answers into events.
//! - With `DEVOPSTRACK_TEST_INFLUXDB_URL` (plus `DEVOPSTRACK_TEST_INFLUXDB_TOKEN` and `DEVOPSTRACK_TEST_INFLUXDB_ORG`;
//!   CI runs InfluxDB 2.7): [`with_fresh_influxdb`] runs a conformance test against a real server, in a bucket of
//!   its own created through `/api/v2/buckets` and deleted afterwards (also when the test panics). Without the
//!   variable it prints one line and passes: `DEVOPSTRACK_REQUIRE_BACKENDS=1` requires MongoDB, PostgreSQL and
//!   Redis only, since no InfluxDB 2 can be installed on the development machines.

mod answers;
mod mock_server;
mod requests;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use devopstrack_metrics::domain::{
    Change, Deployment, DeploymentStatus, Event, Incident, JobRun, JobRunStatus, Measurement, Source,
};
use devopstrack_metrics::store::influx::InfluxStore;
use devopstrack_metrics::store::{InfluxSettings, MetricsStore, ReadQuery};
use futures::FutureExt;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

pub const INFLUXDB_URL_VAR: &str = "DEVOPSTRACK_TEST_INFLUXDB_URL";
pub const INFLUXDB_TOKEN_VAR: &str = "DEVOPSTRACK_TEST_INFLUXDB_TOKEN";
pub const INFLUXDB_ORG_VAR: &str = "DEVOPSTRACK_TEST_INFLUXDB_ORG";

/// Runs `test` against an InfluxDB store on a new bucket of the server named by `DEVOPSTRACK_TEST_INFLUXDB_URL`,
/// then deletes the bucket (after passing on a panic of the test only once the bucket is gone). Without the
/// variable: prints one line and returns.
pub async fn with_fresh_influxdb<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn MetricsStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Ok(url) = std::env::var(INFLUXDB_URL_VAR) else {
        println!(
            "SKIPPED: {INFLUXDB_URL_VAR} not set (InfluxDB 2 runs in CI only; DEVOPSTRACK_REQUIRE_BACKENDS skips it)"
        );
        return;
    };
    let token =
        std::env::var(INFLUXDB_TOKEN_VAR).unwrap_or_else(|_| panic!("{INFLUXDB_URL_VAR} needs {INFLUXDB_TOKEN_VAR}"));
    let org = std::env::var(INFLUXDB_ORG_VAR).unwrap_or_else(|_| panic!("{INFLUXDB_URL_VAR} needs {INFLUXDB_ORG_VAR}"));
    let admin = BucketAdmin {
        http: reqwest::Client::new(),
        url: url.trim_end_matches('/').to_owned(),
        token,
    };
    let bucket = unique_bucket_name();
    let bucket_id = admin.create(&org, &bucket).await;
    let settings = InfluxSettings {
        url,
        org,
        bucket,
        token: Some(SecretString::from(admin.token.clone())),
    };
    let outcome = AssertUnwindSafe(async {
        let store = InfluxStore::connect(&settings)
            .await
            .expect("connect to the test InfluxDB");
        test(Arc::new(store)).await;
    })
    .catch_unwind()
    .await;
    let deleted = admin.delete(&bucket_id).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    deleted.expect("delete the test bucket");
}

fn unique_bucket_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!(
        "devopstrack_test_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `/api/v2/orgs` and `/api/v2/buckets`, for test buckets only.
struct BucketAdmin {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl BucketAdmin {
    async fn create(&self, org: &str, name: &str) -> String {
        let orgs: serde_json::Value = self
            .http
            .get(format!("{}/api/v2/orgs", self.url))
            .query(&[("org", org)])
            .header("Authorization", format!("Token {}", self.token))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("look up the test organization")
            .json()
            .await
            .expect("an organizations list");
        let org_id = orgs["orgs"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no organization {org}: {orgs}"));
        let created: serde_json::Value = self
            .http
            .post(format!("{}/api/v2/buckets", self.url))
            .header("Authorization", format!("Token {}", self.token))
            .json(&serde_json::json!({ "orgID": org_id, "name": name, "retentionRules": [] }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("create the test bucket")
            .json()
            .await
            .expect("the created bucket");
        created["id"].as_str().expect("a bucket id").to_owned()
    }

    async fn delete(&self, id: &str) -> Result<(), reqwest::Error> {
        self.http
            .delete(format!("{}/api/v2/buckets/{id}", self.url))
            .header("Authorization", format!("Token {}", self.token))
            .send()
            .await?
            .error_for_status()
            .map(drop)
    }
}

/// Strings InfluxDB and Flux treat specially survive a real write and read: tags with spaces, commas, equals and
/// quotes; fields with quotes, backslashes, line breaks, `${`; empty strings; a missing environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_influxdb_round_trips_hostile_strings() {
    with_fresh_influxdb(|store| async move {
        let mut hostile = incident("i1", "acme api,v=2 \"x\"", "eu west=1", at(0));
        if let Event::Incident(i) = &mut hostile {
            i.title = "DB \"primary\" down \\ ${oops}\nsecond line, x=1".to_owned();
            i.resolved_at = Some(at(60));
        }
        let plain = incident("i2", "acme api,v=2 \"x\"", "", at(30));
        store.append(&[hostile.clone(), plain.clone()]).await.expect("append");
        store.append(&[hostile.clone()]).await.expect("append again");
        let read = |project: Option<&str>, environment: Option<&str>| {
            let query = ReadQuery {
                measurement: Measurement::Incident,
                project: project.map(str::to_owned),
                environment: environment.map(str::to_owned),
                from: at(0),
                to: at(61),
            };
            let store = Arc::clone(&store);
            async move { store.read(&query).await.expect("read") }
        };
        assert_eq!(read(None, None).await, vec![plain.clone(), hostile.clone()]);
        assert_eq!(read(Some("acme api,v=2 \"x\""), Some("eu west=1")).await, vec![hostile]);
        assert_eq!(read(Some("acme api,v=2 \"x\""), Some("")).await, vec![plain]);
        assert_eq!(read(Some("acme api"), None).await, vec![]);
    })
    .await;
}

// ---- fixtures shared by the mock tests ----

/// A fixed instant with a non-zero microsecond part, plus `seconds` (2026-05-28T20:26:40.123457Z + s).
pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_780_000_000_123_457).expect("a valid instant") + TimeDelta::seconds(seconds)
}

/// The documented point timestamp: the event's second × 10⁹ + (first 8 bytes of SHA-256(event_id), big-endian,
/// mod 10⁹).
pub fn point_time_ns(event_id: &str, time: DateTime<Utc>) -> i64 {
    let digest = Sha256::digest(event_id.as_bytes());
    let hash = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    time.timestamp() * 1_000_000_000 + i64::try_from(hash % 1_000_000_000).expect("below 10⁹")
}

pub fn job_run(event_id: &str, project: &str, environment: &str, finished_at: DateTime<Utc>) -> Event {
    Event::JobRun(JobRun {
        event_id: event_id.to_owned(),
        project: project.to_owned(),
        environment: environment.to_owned(),
        pipeline_id: "pipe-1".to_owned(),
        job_id: format!("job-{event_id}"),
        job_name: "build".to_owned(),
        status: JobRunStatus::Succeeded,
        source: Source::DevOpsTrack,
        attempt: 1,
        queued_at: Some(finished_at - TimeDelta::seconds(90)),
        started_at: finished_at - TimeDelta::seconds(60),
        finished_at,
    })
}

pub fn deployment(event_id: &str, project: &str, environment: &str, finished_at: DateTime<Utc>) -> Event {
    Event::Deployment(Deployment {
        event_id: event_id.to_owned(),
        project: project.to_owned(),
        environment: environment.to_owned(),
        status: DeploymentStatus::RolledBack,
        version: "2.5.0".to_owned(),
        commit_sha: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        commit_time: Some(finished_at - TimeDelta::hours(3)),
        started_at: Some(finished_at - TimeDelta::minutes(4)),
        finished_at,
        pipeline_id: "pipe-9".to_owned(),
        source: Source::Github,
        rollback: false,
    })
}

pub fn change(event_id: &str, project: &str, commit_time: DateTime<Utc>) -> Event {
    Event::Change(Change {
        event_id: event_id.to_owned(),
        project: project.to_owned(),
        commit_sha: "abc123".to_owned(),
        commit_time,
        repository: "https://github.com/acme/api".to_owned(),
        branch: "main".to_owned(),
    })
}

pub fn incident(event_id: &str, project: &str, environment: &str, opened_at: DateTime<Utc>) -> Event {
    Event::Incident(Incident {
        event_id: event_id.to_owned(),
        project: project.to_owned(),
        environment: environment.to_owned(),
        incident_id: "INC-7".to_owned(),
        title: "API down".to_owned(),
        opened_at,
        resolved_at: None,
        url: "https://status.example.com/7".to_owned(),
    })
}

/// A store on `url` with org `acme`, bucket `devopstrack` and token `s3cret-token`.
pub async fn store_on(url: &str) -> InfluxStore {
    InfluxStore::connect(&settings(url))
        .await
        .expect("connect to the mock InfluxDB")
}

pub fn settings(url: &str) -> InfluxSettings {
    InfluxSettings {
        url: url.to_owned(),
        org: "acme".to_owned(),
        bucket: "devopstrack".to_owned(),
        token: Some(SecretString::from("s3cret-token")),
    }
}

pub const TOKEN_HEADER: &str = "Token s3cret-token";
