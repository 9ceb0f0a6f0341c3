//! The admin `/metrics` endpoint exposes the tasks business metrics once a pipeline has run.

use std::time::Duration;

use devopstrack_proto::tasks::v1 as pb;

use crate::helpers::{Options, PROJECT, job, jobs, spawn_app, stage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_pipeline_durations_and_backlogs_are_scraped_from_the_admin_port() {
    // Arrange
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let request = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![stage("build", vec![job("compile", 50, 0.0), job("lint", 50, 1.0)])],
        ..Default::default()
    };
    let created = app.create(&app.operator, request).await.expect("create");

    // Act
    // The pipeline fails with lint; compile, running beside it, is recorded when it ends.
    app.wait_for(&created.id, Duration::from_secs(20), |p| {
        p.status == i32::from(pb::PipelineStatus::Failed)
            && jobs(p).all(|j| {
                j.status == i32::from(pb::JobStatus::Succeeded) || j.status == i32::from(pb::JobStatus::Failed)
            })
    })
    .await;
    let url = format!("http://127.0.0.1:{}/metrics", app.admin_port);
    let expected = [
        r#"devopstrack_jobs_finished_total{status="succeeded",source="devopstrack"} 1"#,
        r#"devopstrack_jobs_finished_total{status="failed",source="devopstrack"} 1"#,
        r#"devopstrack_pipeline_duration_seconds_count{status="failed",source="devopstrack"} 1"#,
        r#"devopstrack_queue_depth{state="ready"} "#,
        r#"devopstrack_queue_depth{state="leased"} "#,
        "devopstrack_queue_oldest_ready_age_seconds ",
        r#"devopstrack_outbox_backlog{outbox="deployments"} 0"#,
        "devopstrack_event_watchers ",
        // Text format 0.0.4 (no OpenMetrics in Accept): the counter family is named with its `_total`.
        "# TYPE devopstrack_jobs_finished_total counter",
        "# TYPE devopstrack_pipeline_duration_seconds histogram",
    ];

    // Assert: counters move right after the write that the pipeline read already shows, and gauges are sampled
    // periodically, so scrape until every line is there (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let text = reqwest::get(&url)
            .await
            .expect("scrape")
            .error_for_status()
            .expect("a 200")
            .text()
            .await
            .expect("a body");
        let missing: Vec<&str> = expected.iter().copied().filter(|line| !text.contains(line)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{missing:?} not in:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
