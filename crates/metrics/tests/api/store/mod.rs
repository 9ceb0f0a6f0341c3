//! The metrics store conformance suite. Each case is one generic async function over `Arc<dyn MetricsStore>`, and
//! [`conformance!`] runs it twice: against SQLite in a fresh temp file ([`sqlite`]), and against InfluxDB 2 in a
//! fresh bucket on the server named by `DEVOPSTRACK_TEST_INFLUXDB_URL` ([`influx`]; without it, that variant prints
//! one line and passes).
//!
//! [`events`]: append and read semantics. [`dora`]: the DORA fixed dataset, appended to the store and computed
//! through the app, so both stores are held to the same hand-computed numbers.

/// For each case `f`, declares `mod f { fn sqlite(); fn influxdb(); }` running `f` against that store.
macro_rules! conformance {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (store, _dir) = $crate::store::sqlite::store().await;
                super::$test(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn influxdb() {
                $crate::store::influx::with_fresh_influxdb(super::$test).await;
            }
        }
    )+};
}

pub mod dora;
mod events;
mod influx;
mod sqlite;

use chrono::{DateTime, TimeDelta, Utc};
use devopstrack_metrics::domain::{
    Change, Deployment, DeploymentStatus, Event, Incident, JobRun, JobRunStatus, Source,
};

/// 2024-03-01T00:00:00Z plus `day` days and `hour` hours.
pub fn day(day: i64, hour: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_709_251_200, 0).unwrap() + TimeDelta::days(day) + TimeDelta::hours(hour)
}

pub fn job_run(id: &str, project: &str, env: &str, finished: DateTime<Utc>) -> Event {
    Event::JobRun(JobRun {
        event_id: id.into(),
        project: project.into(),
        environment: env.into(),
        pipeline_id: "pl-1".into(),
        job_id: "job-1".into(),
        job_name: "build".into(),
        status: JobRunStatus::Succeeded,
        source: Source::DevOpsTrack,
        attempt: 1,
        queued_at: None,
        started_at: finished - TimeDelta::seconds(30),
        finished_at: finished,
    })
}

pub fn deployment(id: &str, project: &str, env: &str, status: DeploymentStatus, finished: DateTime<Utc>) -> Deployment {
    Deployment {
        event_id: id.into(),
        project: project.into(),
        environment: env.into(),
        status,
        version: "1.0.0".into(),
        commit_sha: String::new(),
        commit_time: None,
        started_at: None,
        finished_at: finished,
        pipeline_id: String::new(),
        source: Source::DevOpsTrack,
        rollback: false,
    }
}

pub fn change(id: &str, project: &str, sha: &str, at: DateTime<Utc>) -> Event {
    Event::Change(Change {
        event_id: id.into(),
        project: project.into(),
        commit_sha: sha.into(),
        commit_time: at,
        repository: "https://github.com/acme/shop".into(),
        branch: "main".into(),
    })
}

pub fn incident(
    id: &str,
    project: &str,
    env: &str,
    incident_id: &str,
    opened: DateTime<Utc>,
    resolved: Option<DateTime<Utc>>,
) -> Event {
    Event::Incident(Incident {
        event_id: id.into(),
        project: project.into(),
        environment: env.into(),
        incident_id: incident_id.into(),
        title: "checkout is down".into(),
        opened_at: opened,
        resolved_at: resolved,
        url: String::new(),
    })
}
