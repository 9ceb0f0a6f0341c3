//! Pipeline helpers: creating one, waiting for a state, a three-stage body, and the jobs of an answer.

use serde_json::{Value, json};

use super::{PROJECT, TestApp};

impl TestApp {
    /// Creates a pipeline through the API as `token`; returns the answer's status and body.
    pub async fn create_pipeline(&self, token: &str, body: &Value) -> (u16, Value) {
        let response = self.post_json("/api/v1/pipelines", Some(token), body).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    /// Creates a pipeline as `token` (a new one: 201) and waits, at most 20 s, until its status is `status`: the
    /// pipeline then.
    pub async fn pipeline_in(&self, token: &str, body: &Value, status: &str) -> Value {
        let (code, created) = self.create_pipeline(token, body).await;
        assert_eq!(code, 201, "{created}");
        let id = created["id"].as_str().expect("a pipeline id");
        self.wait_for_pipeline(token, id, std::time::Duration::from_secs(20), |p| p["status"] == status)
            .await
    }

    /// Reads the pipeline until `done` holds (polling every 50 ms), panicking after `within`.
    pub async fn wait_for_pipeline(
        &self,
        token: &str,
        id: &str,
        within: std::time::Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + within;
        loop {
            let pipeline = self.get_json(&format!("/api/v1/pipelines/{id}"), Some(token)).await;
            if done(&pipeline) {
                return pipeline;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "pipeline {id} did not get there within {within:?}: {pipeline}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// A one-job build that fails (`failRate` 1) after 20 ms.
pub fn failing_build() -> Value {
    json!({"project": PROJECT, "stages": [{"name": "build", "jobs": [
        {"name": "flaky", "params": {"durationMs": 20, "failRate": 1}}]}]})
}

/// A deploy of `version` to `environment` whose one job, `rollout`, waits for an approval and then takes `ms`.
pub fn gated_deploy(environment: &str, version: &str, ms: u64) -> Value {
    json!({"project": PROJECT, "environment": environment, "version": version, "stages": [
        {"name": "deploy", "jobs": [{"name": "rollout", "requiresApproval": true, "params": {"durationMs": ms}}]}]})
}

/// A pipeline of simulate jobs, each `ms` long with three log lines: build, test (two jobs), deploy.
pub fn three_stage_pipeline(ms: u64) -> Value {
    let job = |name: &str| json!({"name": name, "executor": "simulate", "params": {"durationMs": ms, "logLines": 3}});
    json!({
        "project": PROJECT,
        "stages": [
            {"name": "build", "jobs": [job("compile")]},
            {"name": "test", "jobs": [job("unit"), job("lint")]},
            {"name": "deploy", "jobs": [job("rollout")]},
        ],
    })
}

/// Every job of a pipeline answer, in order.
pub fn pipeline_jobs(pipeline: &Value) -> Vec<&Value> {
    pipeline["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["jobs"].as_array().into_iter().flatten())
        .collect()
}
