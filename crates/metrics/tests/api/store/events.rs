//! Append and read semantics every store must have: idempotency by event id, the filters, `[from, to)` bounds,
//! ordering, exact round trips of every field, large batches, empty reads.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use devopstrack_metrics::domain::{
    Change, Deployment, DeploymentStatus, Event, Incident, JobRun, JobRunStatus, Measurement, Source,
};
use devopstrack_metrics::store::{MetricsStore, ReadQuery};

use super::{change, day, deployment, incident, job_run};

conformance!(
    appends_are_idempotent_by_event_id,
    reads_filter_by_measurement_project_environment_and_range,
    reads_are_ordered_by_time_then_event_id,
    every_field_of_every_kind_round_trips,
    dora_reads_keep_every_field_dora_uses,
    a_large_batch_is_stored_whole,
    reads_of_nothing_are_empty,
);

fn query(measurement: Measurement, from: DateTime<Utc>, to: DateTime<Utc>) -> ReadQuery {
    ReadQuery {
        measurement,
        project: None,
        environment: None,
        from,
        to,
    }
}

async fn ids(store: &dyn MetricsStore, q: &ReadQuery) -> Vec<String> {
    store
        .read(q)
        .await
        .expect("read")
        .iter()
        .map(|e| e.event_id().to_owned())
        .collect()
}

pub async fn appends_are_idempotent_by_event_id(store: Arc<dyn MetricsStore>) {
    let first = job_run("r1", "shop", "", day(0, 1));
    store
        .append(&[first.clone(), first.clone(), job_run("r2", "shop", "", day(0, 2))])
        .await
        .expect("append a batch holding a duplicate");
    let Event::JobRun(mut changed) = first.clone() else {
        unreachable!()
    };
    changed.job_name = "changed".into();
    store
        .append(&[Event::JobRun(changed), job_run("r3", "shop", "", day(0, 3))])
        .await
        .expect("append a batch repeating a stored id");

    let events = store
        .read(&query(Measurement::JobRun, day(0, 0), day(1, 0)))
        .await
        .unwrap();
    assert_eq!(events.len(), 3, "{events:#?}");
    assert_eq!(events[0], first, "a repeated id changes nothing");
}

pub async fn reads_filter_by_measurement_project_environment_and_range(store: Arc<dyn MetricsStore>) {
    let d = |id: &str, project: &str, env: &str, at| {
        Event::Deployment(deployment(id, project, env, DeploymentStatus::Succeeded, at))
    };
    store
        .append(&[
            job_run("j-shop-none", "shop", "", day(0, 1)),
            job_run("j-shop-prod", "shop", "production", day(0, 2)),
            job_run("j-blog-prod", "blog", "production", day(0, 3)),
            d("d-at-from", "shop", "production", day(1, 0)),
            d("d-inside", "shop", "staging", day(1, 12)),
            d("d-at-to", "shop", "production", day(2, 0)),
            d("d-before", "shop", "production", day(1, 0) - TimeDelta::microseconds(1)),
            change("c1", "shop", "abcdef1", day(0, 5)),
        ])
        .await
        .unwrap();

    let all_runs = query(Measurement::JobRun, day(0, 0), day(1, 0));
    assert_eq!(
        ids(&*store, &all_runs).await,
        ["j-shop-none", "j-shop-prod", "j-blog-prod"]
    );
    let shop = ReadQuery {
        project: Some("shop".into()),
        ..all_runs.clone()
    };
    assert_eq!(ids(&*store, &shop).await, ["j-shop-none", "j-shop-prod"]);
    let no_env = ReadQuery {
        environment: Some(String::new()),
        ..shop.clone()
    };
    assert_eq!(
        ids(&*store, &no_env).await,
        ["j-shop-none"],
        "\"\" selects events without an environment"
    );
    let prod = ReadQuery {
        environment: Some("production".into()),
        ..all_runs.clone()
    };
    assert_eq!(ids(&*store, &prod).await, ["j-shop-prod", "j-blog-prod"]);

    let window = query(Measurement::Deployment, day(1, 0), day(2, 0));
    assert_eq!(
        ids(&*store, &window).await,
        ["d-at-from", "d-inside"],
        "[from, to): to is exclusive"
    );
    assert_eq!(
        ids(&*store, &query(Measurement::Change, day(0, 0), day(3, 0))).await,
        ["c1"]
    );
    assert!(
        ids(&*store, &query(Measurement::Incident, day(0, 0), day(3, 0)))
            .await
            .is_empty()
    );
}

pub async fn reads_are_ordered_by_time_then_event_id(store: Arc<dyn MetricsStore>) {
    let at = day(0, 1);
    store
        .append(&[
            job_run("b", "shop", "", at),
            job_run("c", "shop", "", at - TimeDelta::microseconds(1)),
            job_run("a", "shop", "", at),
            job_run("z", "shop", "", at - TimeDelta::hours(1)),
        ])
        .await
        .unwrap();
    let q = query(Measurement::JobRun, day(0, 0), day(1, 0));
    assert_eq!(ids(&*store, &q).await, ["z", "c", "a", "b"]);
}

/// Every field set, with times that need microsecond precision; and the optional ones unset.
fn every_kind() -> Vec<Event> {
    let t = day(3, 4) + TimeDelta::microseconds(123_457);
    let full = vec![
        Event::JobRun(JobRun {
            event_id: "run-full".into(),
            project: "shop".into(),
            environment: "staging".into(),
            pipeline_id: "7f1c".into(),
            job_id: "job-9".into(),
            job_name: "unit tests, \"quoted\" = 1".into(),
            status: JobRunStatus::TimedOut,
            source: Source::Github,
            attempt: 3,
            queued_at: Some(t - TimeDelta::microseconds(90_000_001)),
            started_at: t - TimeDelta::microseconds(60_000_001),
            finished_at: t,
        }),
        Event::Deployment(Deployment {
            event_id: "dep-full".into(),
            project: "shop".into(),
            environment: "production".into(),
            status: DeploymentStatus::RolledBack,
            version: "2.5.0-rc.1".into(),
            commit_sha: "0123456789abcdef0123456789abcdef01234567".into(),
            commit_time: Some(t - TimeDelta::microseconds(7_200_000_003)),
            started_at: Some(t - TimeDelta::microseconds(300_000_009)),
            finished_at: t,
            pipeline_id: "pl-42".into(),
            source: Source::Github,
            rollback: true,
        }),
        Event::Change(Change {
            event_id: "chg-full".into(),
            project: "shop".into(),
            commit_sha: "abcdef0".into(),
            commit_time: t,
            repository: "https://github.com/acme/shop".into(),
            branch: "release/2.5".into(),
        }),
        Event::Incident(Incident {
            event_id: "inc-full".into(),
            project: "shop".into(),
            environment: "production".into(),
            incident_id: "github:acme/shop#42".into(),
            title: "Checkout 500s, back-slash \\ and comma, here".into(),
            opened_at: t - TimeDelta::microseconds(3_600_000_001),
            resolved_at: Some(t),
            url: "https://github.com/acme/shop/issues/42".into(),
        }),
    ];
    let mut sparse = vec![
        job_run("run-sparse", "shop", "", t),
        Event::Deployment(deployment("dep-sparse", "shop", "dev", DeploymentStatus::Succeeded, t)),
        incident("inc-sparse", "shop", "", "pagerduty:P1", t, None),
    ];
    if let Event::JobRun(run) = &mut sparse[0] {
        run.pipeline_id.clear();
        run.job_id.clear();
        run.attempt = 1;
    }
    full.into_iter().chain(sparse).collect()
}

pub async fn every_field_of_every_kind_round_trips(store: Arc<dyn MetricsStore>) {
    let events = every_kind();
    store.append(&events).await.expect("append every kind");
    for measurement in Measurement::ALL {
        let mut expected: Vec<Event> = events
            .iter()
            .filter(|e| e.measurement() == measurement)
            .cloned()
            .collect();
        expected.sort_by(|a, b| (a.time(), a.event_id()).cmp(&(b.time(), b.event_id())));
        let got = store.read(&query(measurement, day(3, 0), day(4, 0))).await.unwrap();
        assert_eq!(got, expected, "{measurement:?}");
    }
}

/// `event` with the fields `MetricsStore::read_dora` may leave empty emptied.
fn dora_fields(event: &Event) -> Event {
    match event.clone() {
        Event::Deployment(d) => Event::Deployment(Deployment {
            version: String::new(),
            started_at: None,
            pipeline_id: String::new(),
            source: Source::DevOpsTrack,
            ..d
        }),
        Event::Change(c) => Event::Change(Change {
            repository: String::new(),
            branch: String::new(),
            ..c
        }),
        Event::Incident(i) => Event::Incident(Incident {
            title: String::new(),
            url: String::new(),
            ..i
        }),
        run @ Event::JobRun(_) => run,
    }
}

pub async fn dora_reads_keep_every_field_dora_uses(store: Arc<dyn MetricsStore>) {
    let mut events = every_kind();
    events.push(Event::Deployment(deployment(
        "dep-other",
        "other",
        "dev",
        DeploymentStatus::Failed,
        day(3, 2),
    )));
    store.append(&events).await.expect("append every kind");
    for measurement in Measurement::ALL {
        for project in [None, Some("shop")] {
            let q = ReadQuery {
                project: project.map(str::to_owned),
                ..query(measurement, day(3, 0), day(4, 0))
            };
            let whole: Vec<Event> = store.read(&q).await.unwrap().iter().map(dora_fields).collect();
            let dora: Vec<Event> = store.read_dora(&q).await.unwrap().iter().map(dora_fields).collect();
            assert!(!whole.is_empty(), "{measurement:?}");
            assert_eq!(dora, whole, "{measurement:?} {project:?}");
        }
    }
}

pub async fn a_large_batch_is_stored_whole(store: Arc<dyn MetricsStore>) {
    let events: Vec<Event> = (0..20_000)
        .map(|i| job_run(&format!("run-{i:05}"), "shop", "ci", day(0, 0) + TimeDelta::seconds(i)))
        .collect();
    store.append(&events).await.expect("append 20k events");
    let got = store
        .read(&query(Measurement::JobRun, day(0, 0), day(1, 0)))
        .await
        .unwrap();
    assert_eq!(got.len(), 20_000);
    assert_eq!(got.first().map(Event::event_id), Some("run-00000"));
    assert_eq!(got.last().map(Event::event_id), Some("run-19999"));
}

pub async fn reads_of_nothing_are_empty(store: Arc<dyn MetricsStore>) {
    for measurement in Measurement::ALL {
        assert!(
            ids(&*store, &query(measurement, day(0, 0), day(400, 0)))
                .await
                .is_empty()
        );
    }
    store.append(&[]).await.expect("an empty append is fine");
    store.append(&[job_run("r1", "shop", "", day(0, 1))]).await.unwrap();
    let q = query(Measurement::JobRun, day(0, 1), day(0, 1));
    assert!(ids(&*store, &q).await.is_empty(), "an empty range");
    let other = ReadQuery {
        project: Some("nobody".into()),
        ..query(Measurement::JobRun, day(0, 0), day(1, 0))
    };
    assert!(ids(&*store, &other).await.is_empty(), "an unknown project");
    store.ping().await.expect("ping");
}
