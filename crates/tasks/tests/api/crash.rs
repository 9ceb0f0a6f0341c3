//! Accepted means durable on the embedded store too: the real `devopstrack-tasks` binary on SQLite (WAL,
//! `synchronous=NORMAL`) killed with SIGKILL right after its last acknowledged create still has every acknowledged
//! pipeline in its database file. (NORMAL survives a crash of the process; a power loss may roll back the last
//! transactions: see the README's durability notes.)

use std::time::{Duration, Instant};

use devopstrack_proto::tasks::v1 as pb;
use devopstrack_proto::tasks::v1::task_service_client::TaskServiceClient;
use devopstrack_tasks::domain::PipelineId;

use crate::helpers::{Options, PROJECT, free_port, job, spawn_app, stage, tasks_binary, with_token};

const PIPELINES: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_create_survives_a_kill_9_of_tasks_on_sqlite() {
    let Some(app) = spawn_app(Options::default()).await else {
        return;
    };
    let database_url = format!("sqlite://{}/crash.db", app.dir.path().display());
    let port = free_port();
    let mut child = tasks_binary(&app, &["--role", "api"], &database_url)
        .env("DEVOPSTRACK_TASKS__GRPC_ADDR", format!("127.0.0.1:{port}"))
        .env("DEVOPSTRACK_TASKS__METRICS_URL", "")
        .spawn()
        .expect("start devopstrack-tasks");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut client = loop {
        if let Ok(client) = TaskServiceClient::connect(format!("http://127.0.0.1:{port}")).await {
            break client;
        }
        assert!(
            Instant::now() < deadline,
            "devopstrack-tasks did not listen within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let mut acknowledged = Vec::new();
    for n in 0..PIPELINES {
        let request = pb::CreatePipelineRequest {
            project: PROJECT.into(),
            stages: vec![stage("build", vec![job(&format!("j{n}"), 10, 0.0)])],
            ..Default::default()
        };
        let created = client
            .create_pipeline(with_token(request, &app.operator))
            .await
            .expect("create")
            .into_inner()
            .pipeline
            .expect("a pipeline");
        acknowledged.push(created.id);
    }
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("reap the child");

    let store = devopstrack_tasks::store::connect(&database_url, "")
        .await
        .expect("open the killed process's database");
    let mut lost = Vec::new();
    for id in &acknowledged {
        let id = PipelineId::parse(id).expect("a pipeline id");
        if store.pipeline(id).await.expect("read").is_none() {
            lost.push(id);
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {PIPELINES} acknowledged pipelines lost: {lost:?}",
        lost.len()
    );
}
