//! Verified deliveries and what they become in tasks and projects (the metrics effects are unit-tested in the tasks
//! crate's `src/app/intake/mapping/tests.rs`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Delivery, configured_app, deliveries_counted, eventually, fixture, github_pipeline, status_and_body};
use crate::helpers::{PROJECT, pipeline_jobs};

#[tokio::test]
async fn a_signed_workflow_run_is_accepted_within_a_second_and_tracked_as_a_github_pipeline() {
    // Arrange
    let (app, admin) = configured_app().await;
    let delivery = Delivery::signed(
        "workflow_run",
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        fixture("workflow_run.completed.json"),
    );

    // Act
    let started = Instant::now();
    let answer = status_and_body(delivery.send(&app).await).await;
    let took = started.elapsed();

    // Assert
    assert_eq!(answer, (202, json!({ "status": "accepted" })));
    assert!(took < Duration::from_secs(1), "answered in {took:?}");
    let pipeline = eventually(Duration::from_secs(10), "the run tracked in tasks", || {
        github_pipeline(&app, &admin, "289782451")
    })
    .await;
    assert_eq!(pipeline["project"], PROJECT);
    assert_eq!(pipeline["source"], "github");
    assert_eq!(pipeline["status"], "succeeded");
    assert_eq!(
        pipeline["externalUrl"],
        "https://github.com/octo-org/octo-repo/actions/runs/289782451"
    );
    assert_eq!(
        pipeline["commit"],
        json!({"sha": "3484a3fb816e0859fd6e1cea078d76385ff50625", "time": "2020-10-05T16:32:07Z"}),
        "head_sha and head_commit.timestamp"
    );
    assert_eq!(deliveries_counted(&app, "workflow_run", "accepted").await, 1);
}

#[tokio::test]
async fn workflow_job_deliveries_follow_one_job_of_the_run() {
    // Arrange
    let (app, admin) = configured_app().await;

    // Act
    let running = Delivery::signed("workflow_job", "job-1", fixture("workflow_job.in_progress.json"))
        .send(&app)
        .await;
    let running = status_and_body(running).await;
    let run = eventually(Duration::from_secs(10), "the job's run tracked", || {
        github_pipeline(&app, &admin, "2202229078")
    })
    .await;
    let done = Delivery::signed("workflow_job", "job-2", fixture("workflow_job.completed.json"))
        .send(&app)
        .await;
    let done = status_and_body(done).await;

    // Assert
    assert_eq!((running.0, done.0), (202, 202), "{running:?} {done:?}");
    let jobs = pipeline_jobs(&run);
    assert_eq!(jobs.len(), 1, "{run}");
    // "Analyze (javascript)", as tasks names a tracked job (DevOpsTrack job names are slugs).
    let name = jobs[0]["name"].as_str().unwrap_or_default().to_lowercase();
    assert!(
        name.starts_with("analyze") && name.contains("javascript"),
        "{}",
        jobs[0]
    );
    assert_eq!(jobs[0]["status"], "running");
    let failed = eventually(Duration::from_secs(10), "the job finished failed", || async {
        github_pipeline(&app, &admin, "2202229078")
            .await
            .filter(|p| pipeline_jobs(p).first().is_some_and(|j| j["status"] == "failed"))
    })
    .await;
    assert_eq!(pipeline_jobs(&failed).len(), 1, "the same job, updated: {failed}");
}

#[tokio::test]
async fn a_job_delivered_after_its_run_keeps_the_runs_commit_time() {
    // Arrange: the run (with head_commit.timestamp) is tracked first; then one of its jobs, whose payload names the
    // commit (head_sha) but has no time for it.
    let (app, admin) = configured_app().await;
    let run = Delivery::signed("workflow_run", "run-1", fixture("workflow_run.completed.json"))
        .send(&app)
        .await;
    assert_eq!(run.status().as_u16(), 202);
    eventually(Duration::from_secs(10), "the run tracked", || {
        github_pipeline(&app, &admin, "289782451")
    })
    .await;
    let mut job: Value = serde_json::from_slice(&fixture("workflow_job.completed.json")).expect("JSON");
    job["workflow_job"]["run_id"] = json!(289782451);

    // Act
    let delivered = Delivery::signed("workflow_job", "job-of-run-1", serde_json::to_vec(&job).expect("JSON"))
        .send(&app)
        .await;

    // Assert
    assert_eq!(delivered.status().as_u16(), 202);
    let merged = eventually(Duration::from_secs(10), "the job merged into the run", || async {
        github_pipeline(&app, &admin, "289782451")
            .await
            .filter(|p| !pipeline_jobs(p).is_empty())
    })
    .await;
    assert_eq!(
        merged["commit"],
        json!({"sha": "3484a3fb816e0859fd6e1cea078d76385ff50625", "time": "2020-10-05T16:32:07Z"}),
        "{merged}"
    );
}

#[tokio::test]
async fn a_replayed_delivery_is_a_duplicate_with_no_second_effect() {
    // Arrange
    let (app, admin) = configured_app().await;
    let body = fixture("workflow_run.completed.json");

    // Act
    let first = status_and_body(
        Delivery::signed("workflow_run", "replayed", body.clone())
            .send(&app)
            .await,
    )
    .await;
    let tracked = eventually(Duration::from_secs(10), "the first delivery processed", || {
        github_pipeline(&app, &admin, "289782451")
    })
    .await;
    let replay = status_and_body(Delivery::signed("workflow_run", "replayed", body).send(&app).await).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Assert
    assert_eq!(first, (202, json!({ "status": "accepted" })));
    assert_eq!(replay, (200, json!({ "status": "duplicate" })));
    let again = github_pipeline(&app, &admin, "289782451").await.expect("still tracked");
    assert_eq!(again["id"], tracked["id"], "the same run");
    assert_eq!(deliveries_counted(&app, "workflow_run", "duplicate").await, 1);
}

#[tokio::test]
async fn handled_events_of_every_kind_are_accepted() {
    // Arrange
    let (app, _admin) = configured_app().await;

    // Act
    let mut statuses = Vec::new();
    for (event, file) in [
        ("deployment_status", "deployment_status.success.json"),
        ("push", "push.default_branch.json"),
        ("issues", "issues.labeled.json"),
    ] {
        let (status, body) = status_and_body(Delivery::signed(event, event, fixture(file)).send(&app).await).await;
        statuses.push((event, status, body["status"].clone()));
    }

    // Assert
    assert_eq!(
        statuses,
        vec![
            ("deployment_status", 202, json!("accepted")),
            ("push", 202, json!("accepted")),
            ("issues", 202, json!("accepted")),
        ]
    );
}

#[tokio::test]
async fn a_successful_github_deployment_moves_the_environments_version() {
    // Arrange
    let (app, admin) = configured_app().await;
    let delivery = Delivery::signed("deployment_status", "d-1", fixture("deployment_status.success.json"));

    // Act
    let answer = status_and_body(delivery.send(&app).await).await;

    // Assert
    assert_eq!(answer.0, 202);
    let deployment = eventually(
        Duration::from_secs(10),
        "the deployment recorded in projects",
        || async {
            let page: Value = app
                .get("/api/v1/projects/api/deployments", Some(&admin))
                .await
                .json()
                .await
                .ok()?;
            page["items"].as_array()?.first().cloned()
        },
    )
    .await;
    assert_eq!(deployment["id"], "gh-deploy-status:209916254");
    assert_eq!(deployment["environment"], "production");
    assert_eq!(deployment["version"], "master");
    assert_eq!(deployment["status"], "succeeded");
    assert_eq!(deployment["commitSha"], "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
    let environment: Value = app
        .get_json("/api/v1/projects/api/environments/production", Some(&admin))
        .await;
    assert_eq!(environment["currentVersion"], "master", "{environment}");
}
