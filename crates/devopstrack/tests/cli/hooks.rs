//! The SSRF reproduction against `devopstrack up`: even with `--allow-loopback-hooks`, a deploy hook aimed at
//! another service's admin port (`http://127.0.0.1:<auth admin port>/metrics`) fails its job with "destination not
//! allowed by policy", and nothing that port would answer shows in the job.

use std::time::{Duration, Instant};

use super::{Rest, Up};

#[tokio::test]
async fn a_hook_at_an_admin_port_is_refused_even_with_loopback_hooks_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start_with(
        dir.path(),
        &[("DEVOPSTRACK_ADMIN_PASSWORD", "a long admin password")],
        &["--allow-loopback-hooks"],
    );
    let base = up.base_url();
    let admin_port = up
        .wait_for("auth admin")
        .split_whitespace()
        .last()
        .and_then(|url| url.strip_prefix("http://127.0.0.1:"))
        .and_then(|rest| rest.split('/').next())
        .expect("the auth admin port in the banner")
        .to_owned();
    let admin = Rest::login(&base, "admin@localhost", "a long admin password").await;
    admin
        .create_project(serde_json::json!({"slug": "shop", "name": "Shop"}))
        .await;
    let hook = format!("http://127.0.0.1:{admin_port}/metrics");

    let pipeline: serde_json::Value = admin
        .post("/api/v1/pipelines")
        .json(&serde_json::json!({"project": "shop", "stages": [
            {"name": "deploy", "jobs": [{"name": "rollout", "executor": "http", "params": {"url": hook}}]}
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let id = pipeline["id"].as_str().expect("a pipeline id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let p = admin.get(&format!("/api/v1/pipelines/{id}")).await;
        if p["status"] == "failed" || p["status"] == "succeeded" {
            break p;
        }
        assert!(Instant::now() < deadline, "the pipeline did not end: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let reason = done["stages"][0]["jobs"][0]["exitReason"].as_str().unwrap_or_default();
    assert_eq!(done["status"], "failed", "{done}");
    assert!(reason.contains("destination not allowed by policy"), "{reason}");
    assert!(!reason.contains("HTTP"), "the admin port answered: {reason}");
}
