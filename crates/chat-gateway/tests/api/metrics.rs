//! `/api/v1/metrics/**` over the real metrics service: DORA, series and the overview move when a deploy pipeline
//! finishes (tasks' outbox → metrics), viewers may read, and bad queries are 400s naming the parameter.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{PROJECT, TestApp, assert_error, spawn_app_with_tasks};

/// Reads `path` as `token` until `done` holds, at most 30 s.
async fn poll(app: &TestApp, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = app.get(path, Some(token)).await;
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        let body: Value = response.json().await.unwrap();
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "GET {path} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn deploy(version: &str) -> Value {
    let job = |name: &str| json!({"name": name, "executor": "simulate", "params": {"durationMs": 20, "logLines": 1}});
    json!({
        "project": PROJECT, "environment": "staging", "version": version,
        "stages": [{"name": "build", "jobs": [job("compile")]}, {"name": "deploy", "jobs": [job("rollout")]}],
    })
}

#[tokio::test]
async fn a_finished_deploy_moves_dora_the_series_and_the_overview_for_a_viewer() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, viewer) = app.user_with_token(&admin, "viewer@example.com", "viewer").await;

    let empty = poll(&app, &viewer, "/api/v1/metrics/dora", |_| true).await;
    assert_eq!(empty["overall"]["deploymentFrequency"]["deployments"], 0, "{empty}");
    assert_eq!(
        empty["overall"]["overallLevel"],
        Value::Null,
        "no data, no level: {empty}"
    );
    assert_eq!(empty["breakdown"], json!([]));

    let (status, pipeline) = app.create_pipeline(&admin, &deploy("1.0.0")).await;
    assert_eq!(status, 201, "{pipeline}");

    let path = format!("/api/v1/metrics/dora?project={PROJECT}&environment=staging");
    let dora = poll(&app, &viewer, &path, |d| {
        d["overall"]["deploymentFrequency"]["deployments"] == 1
    })
    .await;
    assert_eq!(dora["project"], PROJECT);
    assert_eq!(dora["environment"], "staging");
    assert!(dora["overall"]["deploymentFrequency"]["level"].is_string(), "{dora}");
    assert_eq!(dora["overall"]["changeFailureRate"]["rate"], 0.0, "{dora}");
    assert_eq!(dora["breakdown"][0]["environment"], "staging");
    // Another environment's numbers did not move.
    let production = poll(
        &app,
        &viewer,
        &format!("/api/v1/metrics/dora?project={PROJECT}&environment=production"),
        |_| true,
    )
    .await;
    assert_eq!(
        production["overall"]["deploymentFrequency"]["deployments"], 0,
        "{production}"
    );

    let series = poll(
        &app,
        &viewer,
        "/api/v1/metrics/series?measure=deployments&step=1h",
        |s| {
            s["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["values"]["succeeded"] == 1.0)
        },
    )
    .await;
    assert_eq!(series["measure"], "deployments");
    assert_eq!(series["stepSeconds"], 3600);
    let jobs = poll(&app, &viewer, "/api/v1/metrics/series?measure=job_runs&step=15m", |s| {
        let total: f64 = s["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["values"]["succeeded"].as_f64())
            .sum();
        total >= 2.0
    })
    .await;
    assert!(
        jobs["buckets"].as_array().unwrap().len() >= 90,
        "24 h in 15 min buckets: {}",
        jobs["buckets"]
    );

    let overview = poll(&app, &viewer, "/api/v1/metrics/overview?days=7", |o| {
        o["environments"].as_array().is_some_and(|e| !e.is_empty()) && o["jobRuns24h"].as_u64() >= Some(2)
    })
    .await;
    let staging = overview["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["environment"] == "staging");
    let staging = staging.unwrap_or_else(|| panic!("a staging tile: {overview}"));
    assert_eq!(
        staging["metrics"]["deploymentFrequency"]["deployments"], 1,
        "{overview}"
    );
    assert_eq!(overview["failedJobRuns24h"], 0, "{overview}");
    assert_eq!(overview["jobSuccessRate24h"], 1.0, "{overview}");
}

#[tokio::test]
async fn metrics_need_a_token_and_refuse_bad_queries_with_the_parameter_named() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;

    let anonymous = app.get("/api/v1/metrics/dora", None).await;
    assert_error(anonymous, 401, "unauthenticated").await;

    for (path, names) in [
        ("/api/v1/metrics/dora?from=yesterday", "from"),
        ("/api/v1/metrics/dora?bogus=1", "bogus"),
        ("/api/v1/metrics/series", "measure"),
        ("/api/v1/metrics/series?measure=coffee", "measure"),
        ("/api/v1/metrics/series?measure=job_runs&step=1w", "step"),
        ("/api/v1/metrics/series?measure=job_runs&step=5", "step"),
        ("/api/v1/metrics/overview?days=-1", "days"),
        ("/api/v1/metrics/overview?days=1000", "days"),
        (
            "/api/v1/metrics/dora?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        (
            "/api/v1/metrics/dora?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "window",
        ),
        ("/api/v1/metrics/dora?project=Not%20A%20Slug", "project"),
    ] {
        let response = app.get(path, Some(&admin)).await;
        let message = assert_error(response, 400, "invalid_argument").await;
        assert!(message.contains(names), "{path}: {message:?} should name {names}");
    }
}
