//! The SQLite side of the conformance suite: a store on a fresh file in a temp dir, plus what only a file shows.

use std::sync::Arc;

use devopstrack_metrics::domain::Measurement;
use devopstrack_metrics::store::sqlite::SqliteStore;
use devopstrack_metrics::store::{MetricsStore, ReadQuery, StoreSettings};
use tempfile::TempDir;

use super::{day, job_run};

pub fn url(dir: &TempDir) -> String {
    format!("sqlite://{}/metrics.db", dir.path().display())
}

/// A store on a new SQLite database in a temp dir that lives as long as the returned guard, opened by URL the way
/// the service opens it.
pub async fn store() -> (Arc<dyn MetricsStore>, TempDir) {
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite database");
    let settings = StoreSettings {
        url: url(&dir),
        influx_org: String::new(),
        influx_bucket: String::new(),
        influx_token: None,
    };
    let store = devopstrack_metrics::store::open(&settings)
        .await
        .expect("open the SQLite test store");
    (store, dir)
}

#[tokio::test]
async fn events_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStore::connect(&url(&dir)).await.unwrap();
    first.append(&[job_run("r1", "shop", "", day(0, 1))]).await.unwrap();
    drop(first);
    let again = SqliteStore::connect(&url(&dir)).await.unwrap();
    let query = ReadQuery {
        measurement: Measurement::JobRun,
        project: None,
        environment: None,
        from: day(0, 0),
        to: day(1, 0),
    };
    assert_eq!(again.read(&query).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_unknown_url_scheme_is_refused() {
    let settings = StoreSettings {
        url: "postgres://x/y".into(),
        influx_org: String::new(),
        influx_bucket: String::new(),
        influx_token: None,
    };
    let err = devopstrack_metrics::store::open(&settings)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("postgres://x/y"), "{err}");
}
