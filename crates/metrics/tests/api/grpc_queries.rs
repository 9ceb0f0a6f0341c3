//! End to end through gRPC: the DORA fixed dataset recorded through the Record* RPCs (twice: idempotent), then
//! GetDora, QuerySeries and GetOverview; the Prometheus counters; and what a Record* call acknowledged is readable at
//! once.

use chrono::{TimeDelta, Utc};

use devopstrack_metrics::domain::{DeploymentStatus, Event, JobRunStatus, Measurement, Source};
use devopstrack_metrics::store::sqlite::SqliteStore;
use devopstrack_metrics::store::{MetricsStore, ReadQuery};
use devopstrack_proto::metrics::v1 as pb;

use crate::helpers::{TestApp, sample, spawn_app, ts, with_token};
use crate::store::day;

fn source(s: Source) -> i32 {
    match s {
        Source::DevOpsTrack => pb::Source::Devopstrack.into(),
        Source::Github => pb::Source::Github.into(),
    }
}

/// Records `events` through the four Record* RPCs as the service account.
async fn record(app: &TestApp, events: &[Event]) {
    let (mut runs, mut deps, mut changes, mut incidents) = (vec![], vec![], vec![], vec![]);
    for e in events.iter().cloned() {
        match e {
            Event::JobRun(r) => runs.push(pb::JobRun {
                event_id: r.event_id,
                project: r.project,
                environment: r.environment,
                pipeline_id: r.pipeline_id,
                job_id: r.job_id,
                job_name: r.job_name,
                status: match r.status {
                    JobRunStatus::Succeeded => pb::JobRunStatus::Succeeded,
                    JobRunStatus::Failed => pb::JobRunStatus::Failed,
                    JobRunStatus::Cancelled => pb::JobRunStatus::Cancelled,
                    JobRunStatus::TimedOut => pb::JobRunStatus::TimedOut,
                }
                .into(),
                source: source(r.source),
                attempt: r.attempt,
                queued_at: r.queued_at.map(ts),
                started_at: Some(ts(r.started_at)),
                finished_at: Some(ts(r.finished_at)),
            }),
            Event::Deployment(d) => deps.push(pb::Deployment {
                event_id: d.event_id,
                project: d.project,
                environment: d.environment,
                status: match d.status {
                    DeploymentStatus::Succeeded => pb::DeploymentStatus::Succeeded,
                    DeploymentStatus::Failed => pb::DeploymentStatus::Failed,
                    DeploymentStatus::RolledBack => pb::DeploymentStatus::RolledBack,
                }
                .into(),
                version: d.version,
                commit_sha: d.commit_sha,
                commit_time: d.commit_time.map(ts),
                started_at: d.started_at.map(ts),
                finished_at: Some(ts(d.finished_at)),
                pipeline_id: d.pipeline_id,
                rollback: d.rollback,
                source: source(d.source),
            }),
            Event::Change(c) => changes.push(pb::Change {
                event_id: c.event_id,
                project: c.project,
                commit_sha: c.commit_sha,
                commit_time: Some(ts(c.commit_time)),
                repository: c.repository,
                branch: c.branch,
            }),
            Event::Incident(i) => incidents.push(pb::Incident {
                event_id: i.event_id,
                project: i.project,
                environment: i.environment,
                incident_id: i.incident_id,
                title: i.title,
                opened_at: Some(ts(i.opened_at)),
                resolved_at: i.resolved_at.map(ts),
                url: i.url,
            }),
        }
    }
    let mut c = app.client.clone();
    let token = &app.service;
    let n = c
        .record_job_run(with_token(pb::RecordJobRunRequest { runs }, token))
        .await
        .unwrap();
    let d = c
        .record_deployment(with_token(pb::RecordDeploymentRequest { deployments: deps }, token))
        .await
        .unwrap();
    let ch = c
        .record_change(with_token(pb::RecordChangeRequest { changes }, token))
        .await
        .unwrap();
    let i = c
        .record_incident(with_token(pb::RecordIncidentRequest { incidents }, token))
        .await
        .unwrap();
    let accepted = [n, d, ch, i].into_iter().map(|r| r.into_inner().accepted).sum::<u32>();
    assert_eq!(accepted as usize, events.len());
}

/// Asserts that `n` points in all were written to the store (the `points_ingested_total` counter): an acknowledged
/// Record* call's events are committed before its answer, so no waiting.
async fn ingested(app: &TestApp, n: usize) {
    let text = app.prometheus().await;
    assert_eq!(
        sample(&text, "devopstrack_metrics_points_ingested_total"),
        Some(n as f64),
        "{text}"
    );
}

async fn fixed_window_dora(app: &TestApp) -> pb::DoraReport {
    let request = pb::GetDoraRequest {
        from: Some(ts(day(0, 0))),
        to: Some(ts(day(14, 0))),
        ..Default::default()
    };
    app.client
        .clone()
        .get_dora(with_token(request, &app.viewer))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn the_fixed_dataset_recorded_twice_gives_the_hand_computed_dora() {
    let app = spawn_app().await;
    let dataset = crate::store::dora::dataset();
    record(&app, &dataset).await;
    ingested(&app, dataset.len()).await;
    let report = fixed_window_dora(&app).await;
    record(&app, &dataset).await;
    ingested(&app, 2 * dataset.len()).await;
    let again = fixed_window_dora(&app).await;
    assert_eq!(again, report, "recording the same events again changes nothing");
    assert_eq!(fixed_window_dora(&app).await, report, "and it stays so");

    // The numbers worked out in tests/api/store/dora.rs.
    let o = report.overall.unwrap();
    let lead = o.lead_time.unwrap();
    assert_eq!((lead.changes, lead.median_seconds), (10, Some(18_000.0)));
    assert!((lead.p90_seconds.unwrap() - 190_440.0).abs() < 1e-6, "{lead:?}");
    let cfr = o.change_failure_rate.unwrap();
    assert_eq!((cfr.deployments, cfr.failures), (9, 5));
    assert_eq!(cfr.level, i32::from(pb::PerformanceLevel::Low));
    assert_eq!(o.recovery_time.unwrap().median_seconds, Some(9_000.0));
    assert_eq!(
        o.deployment_frequency.unwrap().level,
        i32::from(pb::PerformanceLevel::Elite)
    );
    assert_eq!(o.overall_level, i32::from(pb::PerformanceLevel::Low));
    let scopes: Vec<_> = report
        .breakdown
        .iter()
        .map(|b| (b.project.as_str(), b.environment.as_str()))
        .collect();
    assert_eq!(
        scopes,
        [("blog", "production"), ("shop", "production"), ("shop", "staging")]
    );

    // Deployments per day over the window: p1 s1 | b1 | | p2 p3 | | s2 | p4 | … | p5 p6 | (b2 is at `to`).
    let series = pb::QuerySeriesRequest {
        measure: pb::Measure::Deployments.into(),
        from: Some(ts(day(0, 0))),
        to: Some(ts(day(14, 0))),
        step_seconds: 86_400,
        ..Default::default()
    };
    let answer = app.series(series).await;
    let totals: Vec<f64> = answer.buckets.iter().map(|b| b.values["total"]).collect();
    assert_eq!(
        totals,
        [2.0, 1.0, 0.0, 2.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(answer.buckets[10].values["rolled_back"], 1.0);
    assert_eq!(answer.step_seconds, 86_400);

    let text = app.prometheus().await;
    let deployed = r#"devopstrack_deployments_total{environment="production",status="succeeded"}"#;
    assert_eq!(sample(&text, deployed), Some(7.0), "{text}");
    assert_eq!(
        sample(&text, "devopstrack_metrics_points_dropped_total"),
        Some(0.0),
        "{text}"
    );
    let ingested = sample(&text, "devopstrack_metrics_points_ingested_total").unwrap();
    assert_eq!(ingested as usize, 2 * dataset.len());
}

#[tokio::test]
async fn the_overview_counts_the_last_day_and_tiles_each_environment() {
    let app = spawn_app().await;
    let now = Utc::now();
    let run = |id: &str, status, hours_ago: i64| {
        let mut e = crate::store::job_run(id, "shop", "", now - TimeDelta::hours(hours_ago));
        if let Event::JobRun(r) = &mut e {
            r.status = status;
        }
        e
    };
    let dep = |id: &str, env: &str, hours_ago: i64| {
        Event::Deployment(crate::store::deployment(
            id,
            "shop",
            env,
            DeploymentStatus::Succeeded,
            now - TimeDelta::hours(hours_ago),
        ))
    };
    let events = vec![
        run("r1", JobRunStatus::Succeeded, 1),
        run("r2", JobRunStatus::Succeeded, 2),
        run("r3", JobRunStatus::Failed, 3),
        run("r4", JobRunStatus::Cancelled, 4),
        run("r5", JobRunStatus::TimedOut, 30),
        dep("d1", "production", 5),
        dep("d2", "staging", 6),
    ];
    record(&app, &events).await;
    let overview = app
        .client
        .clone()
        .get_overview(with_token(
            pb::GetOverviewRequest {
                days: 7,
                ..Default::default()
            },
            &app.viewer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((overview.environments.len(), overview.job_runs_24h), (2, 4));
    assert_eq!(overview.failed_job_runs_24h, 1);
    assert_eq!(overview.job_success_rate_24h, Some(2.0 / 3.0));
    let envs: Vec<&str> = overview.environments.iter().map(|e| e.environment.as_str()).collect();
    assert_eq!(envs, ["production", "staging"]);
    let runs = overview.job_runs.unwrap();
    assert_eq!(runs.step_seconds, 86_400);
    let total: f64 = runs.buckets.iter().map(|b| b.values["total"]).sum();
    assert_eq!(total, 5.0);
    let deployments: f64 = overview
        .deployments
        .unwrap()
        .buckets
        .iter()
        .map(|b| b.values["total"])
        .sum();
    assert_eq!(deployments, 2.0);
}

#[tokio::test]
async fn an_acknowledged_record_is_in_the_store_at_once_and_the_service_stops_cleanly() {
    let app = spawn_app().await;
    let events: Vec<Event> = (0..50)
        .map(|i| crate::store::job_run(&format!("r{i}"), "shop", "", Utc::now() - TimeDelta::seconds(i)))
        .collect();
    record(&app, &events).await;
    // Straight from the database file, on a connection of its own, before anything else happens.
    let store = SqliteStore::connect(&app.database_url).await.unwrap();
    let query = ReadQuery {
        measurement: Measurement::JobRun,
        project: None,
        environment: None,
        from: Utc::now() - TimeDelta::hours(1),
        to: Utc::now() + TimeDelta::hours(1),
    };
    assert_eq!(store.read(&query).await.unwrap().len(), 50);
    app.stop.cancel();
    let TestApp { running, .. } = app;
    running.await.expect("join").expect("the service stops cleanly");
}

#[tokio::test]
async fn an_empty_store_answers_without_levels() {
    let app = spawn_app().await;
    let report = app
        .client
        .clone()
        .get_dora(with_token(pb::GetDoraRequest::default(), &app.viewer))
        .await
        .unwrap()
        .into_inner();
    let overall = report.overall.unwrap();
    assert_eq!(overall.overall_level, i32::from(pb::PerformanceLevel::Unspecified));
    assert_eq!(overall.lead_time.unwrap().median_seconds, None);
    assert!(report.breakdown.is_empty());
    let from = report.from.unwrap().seconds;
    let to = report.to.unwrap().seconds;
    assert_eq!(to - from, 30 * 86_400, "the default window is the last 30 days");
    let series = pb::QuerySeriesRequest {
        measure: pb::Measure::JobDuration.into(),
        ..Default::default()
    };
    let answer = app.series(series).await;
    assert_eq!(answer.step_seconds, 1_800);
    assert!(answer.buckets.len() >= 48 && answer.buckets.len() <= 49);
    assert!(
        answer
            .buckets
            .iter()
            .all(|b| b.values.len() == 1 && b.values["count"] == 0.0)
    );
}
