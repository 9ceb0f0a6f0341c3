//! The job and pipeline actions: cancel, retry, reject (approve is in `ws`, followed live), and reading a job's log.

use serde_json::{Value, json};

use super::{WITHIN, job, status_is};
use crate::helpers::{PROJECT, assert_error, gated_deploy, spawn_app_with_tasks};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_are_cancelled_and_failed_jobs_retried() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let slow = json!({"project": PROJECT, "stages": [{"name": "build", "jobs": [
        {"name": "long", "params": {"durationMs": 60_000}}]}, {"name": "next", "jobs": [{"name": "never"}]}]});
    let failing = json!({"project": PROJECT, "stages": [{"name": "build", "jobs": [
        {"name": "flaky", "params": {"durationMs": 50, "failRate": 1}}]}]});
    let (_, slow) = app.create_pipeline(&admin, &slow).await;
    let (_, failing) = app.create_pipeline(&admin, &failing).await;
    let slow_id = slow["id"].as_str().unwrap();
    let failing_id = failing["id"].as_str().unwrap();

    let cancel = app
        .post(&format!("/api/v1/pipelines/{slow_id}/cancel"), Some(&admin))
        .await;
    assert_eq!(cancel.status().as_u16(), 200);
    let cancelled = app
        .wait_for_pipeline(&admin, slow_id, WITHIN, status_is("cancelled"))
        .await;
    assert_eq!(job(&cancelled, "never")["status"], "cancelled");
    assert!(cancelled["cancelledBy"].is_string(), "{cancelled}");
    let again = app
        .post(&format!("/api/v1/pipelines/{slow_id}/cancel"), Some(&admin))
        .await;
    assert_error(again, 409, "conflict").await;

    let failed = app
        .wait_for_pipeline(&admin, failing_id, WITHIN, status_is("failed"))
        .await;
    let flaky = job(&failed, "flaky");
    assert_eq!(flaky["status"], "failed");
    let retry = app
        .post(
            &format!("/api/v1/jobs/{}/retry", flaky["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(retry.status().as_u16(), 200);
    let retried: Value = retry.json().await.unwrap();
    assert_eq!(job(&retried, "flaky")["attempt"], 2, "{retried}");
    assert_ne!(retried["status"], "failed", "the pipeline resumes: {retried}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_waiting_for_approval_is_rejected_with_a_reason() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, operator) = app.user_with_token(&admin, "op@example.com", "operator").await;
    let waiting = app
        .pipeline_in(&admin, &gated_deploy("staging", "2.0.0", 50), "waiting_approval")
        .await;
    let id = waiting["id"].as_str().unwrap();
    let job_id = job(&waiting, "rollout")["id"].as_str().unwrap().to_owned();

    let empty = app
        .post_json(
            &format!("/api/v1/jobs/{job_id}/reject"),
            Some(&operator),
            &json!({"reason": ""}),
        )
        .await;
    let rejected = app
        .post_json(
            &format!("/api/v1/jobs/{job_id}/reject"),
            Some(&operator),
            &json!({"reason": "not during the freeze"}),
        )
        .await;

    assert_error(empty, 400, "invalid_argument").await;
    assert_eq!(rejected.status().as_u16(), 200);
    let rejected: Value = rejected.json().await.unwrap();
    let rollout = job(&rejected, "rollout");
    assert_eq!(rollout["status"], "failed", "{rejected}");
    assert!(
        rollout["exitReason"]
            .as_str()
            .unwrap()
            .contains("not during the freeze"),
        "{rollout}"
    );
    assert!(rollout["rejectedBy"].is_string(), "{rollout}");
    let failed = app.wait_for_pipeline(&admin, id, WITHIN, status_is("failed")).await;
    assert_eq!(job(&failed, "rollout")["status"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_log_is_read_from_an_offset() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let body = json!({"project": PROJECT, "stages": [{"name": "build", "jobs": [
        {"name": "compile", "params": {"durationMs": 50, "logLines": 5}}]}]});
    let (_, created) = app.create_pipeline(&admin, &body).await;
    let id = created["id"].as_str().unwrap();
    let done = app.wait_for_pipeline(&admin, id, WITHIN, status_is("succeeded")).await;
    let job_id = job(&done, "compile")["id"].as_str().unwrap().to_owned();

    let all: Value = app.get_json(&format!("/api/v1/jobs/{job_id}/log"), Some(&admin)).await;
    let tail: Value = app
        .get_json(
            &format!("/api/v1/jobs/{job_id}/log?offset=3&limit=10&attempt=1"),
            Some(&admin),
        )
        .await;

    assert_eq!(all["lines"].as_array().map(Vec::len), Some(5), "{all}");
    assert_eq!(
        (
            &all["jobId"],
            &all["attempt"],
            &all["offset"],
            &all["nextOffset"],
            &all["eof"]
        ),
        (&json!(job_id), &json!(1), &json!(0), &json!(5), &json!(true))
    );
    assert_eq!(
        tail["lines"].as_array().unwrap()[..],
        all["lines"].as_array().unwrap()[3..]
    );
    assert_eq!((&tail["offset"], &tail["nextOffset"]), (&json!(3), &json!(5)));
}
