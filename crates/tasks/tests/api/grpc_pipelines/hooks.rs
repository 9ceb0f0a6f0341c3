//! The SSRF reproduction through the whole service: a deploy hook aimed at the tasks service's own admin port
//! (`/metrics`) fails its job with "destination not allowed by policy", with or without loopback in the allowlist, and
//! no answer of that port reaches the job's reason or log.

use devopstrack_proto::tasks::v1 as pb;

use super::LONG;
use crate::helpers::{Options, PROJECT, job_named, spawn_app_with, stage, with_token};

async fn a_hook_at_the_admin_port_fails_the_job_refused_by_policy(allow: &[&str]) {
    let allow: Vec<String> = allow.iter().map(|a| (*a).to_owned()).collect();
    let app = spawn_app_with(Options::default(), move |s| s.outbound_allow = allow)
        .await
        .expect("sqlite needs no server");
    let params = serde_json::json!({"url": format!("http://127.0.0.1:{}/metrics", app.admin_port)});
    let Some(prost_types::value::Kind::StructValue(params)) = devopstrack_tasks::convert::value_to_struct(&params)
    else {
        panic!("an object is a Struct")
    };
    let hook = pb::Job {
        name: "rollout".into(),
        executor: pb::Executor::Http.into(),
        params: Some(params),
        ..Default::default()
    };
    let request = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![stage("deploy", vec![hook])],
        ..Default::default()
    };

    let created = app.create(&app.operator, request).await.expect("create");
    let failed = app.wait_status(&created.id, pb::PipelineStatus::Failed, LONG).await;

    let rollout = job_named(&failed, "rollout");
    assert!(
        rollout.exit_reason.contains("destination not allowed by policy"),
        "{}",
        rollout.exit_reason
    );
    let log = app
        .client
        .clone()
        .get_job_log(with_token(
            pb::GetJobLogRequest {
                job_id: rollout.id.clone(),
                ..Default::default()
            },
            &app.viewer,
        ))
        .await
        .expect("read the log")
        .into_inner();
    assert!(
        log.lines.iter().all(|l| !l.contains("answered HTTP")),
        "the admin port answered: {:?}",
        log.lines
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_at_the_admin_port_is_refused_by_default() {
    a_hook_at_the_admin_port_fails_the_job_refused_by_policy(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_at_the_admin_port_is_refused_even_with_loopback_allowed() {
    a_hook_at_the_admin_port_fails_the_job_refused_by_policy(&["127.0.0.0/8"]).await;
}
