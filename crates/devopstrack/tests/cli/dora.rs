//! The DORA numbers moved end to end by a simulated deploy pipeline, and the RFC 3339 spelling its commit time needs.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Rest, Up};

/// The metrics issue's end-to-end check: a simulated deploy pipeline run through REST in `devopstrack up` ends as a
/// deployment that tasks' outbox delivers to metrics and projects, so the DORA numbers and the environment's version
/// move, with no other help.
#[tokio::test]
async fn a_simulated_deploy_pipeline_changes_the_dora_numbers_and_the_environment_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(dir.path(), &[("DEVOPSTRACK_ADMIN_PASSWORD", "a long admin password")]);
    let base = up.base_url();
    let admin = Rest::login(&base, "admin@localhost", "a long admin password").await;
    admin
        .create_project(serde_json::json!({
            "slug": "shop", "name": "Shop",
            "environments": [{"name": "staging", "tier": "staging"}]
        }))
        .await;

    let dora = |http: reqwest::Client, base: String, token: String| async move {
        let response = http
            .get(format!("{base}/api/v1/metrics/dora?project=shop&environment=staging"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<serde_json::Value>().await.unwrap()
    };
    let before = dora(admin.http.clone(), base.clone(), admin.token.clone()).await;
    assert_eq!(before["overall"]["deploymentFrequency"]["deployments"], 0, "{before}");
    assert_eq!(
        before["overall"]["deploymentFrequency"]["level"],
        serde_json::Value::Null
    );

    // The commit deployed was made an hour ago: its lead time is the hour (plus the pipeline's few hundred ms).
    let committed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
        - 3600;
    let pipeline = admin
        .post("/api/v1/pipelines")
        .json(&serde_json::json!({
            "project": "shop", "environment": "staging", "version": "2.0.0",
            "commit": {"sha": "3484a3fb816e0859fd6e1cea078d76385ff50625", "time": rfc3339(committed)},
            "stages": [
                {"name": "build", "jobs": [{"name": "compile", "executor": "simulate", "params": {"durationMs": 50}}]},
                {"name": "deploy", "jobs": [{"name": "rollout", "executor": "simulate", "params": {"durationMs": 50}}]}
            ]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(pipeline.status(), 201, "{}", pipeline.text().await.unwrap());

    // Delivery is asynchronous (outbox → metrics' write buffer): poll, bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let report = dora(admin.http.clone(), base.clone(), admin.token.clone()).await;
        let overall = &report["overall"];
        if overall["deploymentFrequency"]["deployments"] == 1
            && overall["leadTime"]["changes"].as_u64().is_some_and(|n| n >= 1)
        {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "DORA never counted the deployment and its lead time: {report}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let frequency = &after["overall"]["deploymentFrequency"];
    assert!(frequency["perDay"].as_f64().unwrap() > 0.0, "{after}");
    assert!(
        frequency["level"].is_string(),
        "one deployment in the window has a level: {after}"
    );
    assert_eq!(after["overall"]["changeFailureRate"]["deployments"], 1, "{after}");
    assert_eq!(after["overall"]["changeFailureRate"]["failures"], 0, "{after}");
    let lead = after["overall"]["leadTime"]["medianSeconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("a median lead time: {after}"));
    assert!(
        (3600.0..3660.0).contains(&lead),
        "deployed about an hour after the commit: {lead} s; {after}"
    );
    assert_eq!(after["breakdown"][0]["project"], "shop");
    assert_eq!(after["breakdown"][0]["environment"], "staging");

    loop {
        let environment = admin.get("/api/v1/projects/shop/environments/staging").await;
        if environment["currentVersion"] == "2.0.0" {
            break;
        }
        assert!(Instant::now() < deadline, "the version never moved: {environment}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(up.interrupt().code(), Some(0));
}

/// `unix` seconds as RFC 3339 in UTC (`2026-11-22T01:35:06Z`), without a date crate: days to a civil date by
/// H. Hinnant's `civil_from_days`.
fn rfc3339(unix: u64) -> String {
    let (days, rest) = (unix / 86_400, unix % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

#[test]
fn rfc3339_spells_unix_seconds_as_a_utc_date() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_601_915_527), "2020-10-05T16:32:07Z");
    assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
}
