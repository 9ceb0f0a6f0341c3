//! The outbox: a deploy that ends while the projects service is down is recorded once projects is back.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::tasks::v1 as pb;

use crate::helpers::{Options, PROJECT, job, spawn_app, stage, start_projects};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_is_delivered_after_projects_comes_back() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let request = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        environment: "staging".into(),
        version: "1.4.0".into(),
        stages: vec![stage("deploy", vec![job("rollout", 1_500, 0.0)])],
        ..Default::default()
    };
    let p = app.create(&app.operator, request).await.expect("create");
    // Projects goes down while the deploy runs, and stays down past its end.
    app.projects_shutdown.cancel();
    app.wait_status(&p.id, pb::PipelineStatus::Succeeded, Duration::from_secs(20))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Back on the same port and database.
    let mut port = 0;
    for _ in 0..50 {
        let started = tokio::spawn({
            let dir = app.dir.path().to_owned();
            let auth_url = app.auth_url.clone();
            let wanted = app.projects_port;
            async move { start_projects(&dir, &auth_url, wanted, CancellationToken::new()).await }
        })
        .await;
        if let Ok(bound) = started {
            port = bound;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(port, app.projects_port, "projects restarted on its port");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(deployments) = app.deployments("staging").await
            && !deployments.is_empty()
        {
            assert_eq!(deployments.len(), 1, "recorded once");
            let d = &deployments[0];
            assert_eq!(d.version, "1.4.0");
            assert_eq!(d.pipeline_id, p.id);
            assert_eq!(d.status, i32::from(projects_pb::DeploymentStatus::Succeeded));
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the deployment never arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
