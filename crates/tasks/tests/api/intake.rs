//! The GitHub webhook intake end to end, on both stores: the real auth and projects services, GitHub's payload shapes
//! (`tests/fixtures/github/`, from octokit/webhooks), signatures computed as GitHub computes them. Accepted means
//! durable: a delivery answered ACCEPTED by a `devopstrack-tasks` process killed with SIGKILL before processing it is
//! processed, once, by the next process; a delivery whose processing died midway is processed again without a second
//! effect. Parking and replay are in `intake/parking.rs`.

mod parking;

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::process::Child;
use tonic::Code;
use tonic::transport::Channel;

use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::tasks::v1 as pb;
use devopstrack_proto::tasks::v1::task_service_client::TaskServiceClient;
use devopstrack_tasks::store::MetricEventKind;
use devopstrack_tasks::store::inbox::{InboxState, NewDelivery, Stores, connect_stores};

use crate::helpers::{
    Backend, Options, PROJECT, SERVICE_SECRET, TestApp, free_port, spawn_app_with, tasks_binary, with_token,
};

pub const SECRET: &str = "It's a Secret to Everybody";
/// Where metrics would be delivered: nothing listens, so metrics events stay in the outbox for the tests to count.
const NO_METRICS: &str = "http://127.0.0.1:9";

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn delivery(event: &str, id: &str, body: Vec<u8>) -> pb::ReceiveGithubDeliveryRequest {
    pb::ReceiveGithubDeliveryRequest {
        project: PROJECT.into(),
        event: event.into(),
        delivery_id: id.into(),
        signature: sign(SECRET, &body),
        body,
    }
}

/// The test stack with [`SECRET`] set on [`PROJECT`]; `processor` runs the in-process tasks' inbox processor.
pub async fn app(backend: Backend, processor: bool) -> Option<TestApp> {
    let app = spawn_app_with(
        Options {
            backend,
            ..Options::default()
        },
        |s| {
            s.webhook_processor = processor;
            s.metrics_url = NO_METRICS.into();
            s.webhook_lease_ms = 1_000;
        },
    )
    .await?;
    let secret = projects_pb::SetGithubIntegrationRequest {
        project: PROJECT.into(),
        webhook_secret: SECRET.into(),
    };
    app.projects
        .clone()
        .set_github_integration(with_token(secret, &app.admin))
        .await
        .expect("set the webhook secret");
    Some(app)
}

pub async fn stores(app: &TestApp) -> Stores {
    connect_stores(&app.database_url, &app.key_prefix, true)
        .await
        .expect("open the tasks store")
}

pub async fn verdict(
    client: &mut TaskServiceClient<Channel>,
    request: pb::ReceiveGithubDeliveryRequest,
) -> pb::DeliveryVerdict {
    let answer = client
        .receive_github_delivery(request)
        .await
        .expect("receive")
        .into_inner();
    pb::DeliveryVerdict::try_from(answer.verdict).expect("a known verdict")
}

/// The tracked pipelines of [`PROJECT`] with `external_id`.
pub async fn tracked(app: &TestApp, external_id: &str) -> Vec<pb::Pipeline> {
    let request = pb::ListPipelinesRequest {
        project: PROJECT.into(),
        page_size: 200,
        ..Default::default()
    };
    let page = app
        .client
        .clone()
        .list_pipelines(with_token(request, &app.admin))
        .await
        .expect("list pipelines")
        .into_inner();
    page.pipelines
        .into_iter()
        .filter(|p| p.external_id == external_id)
        .collect()
}

pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut read: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = read().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} did not happen within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The event ids of the job runs the webhook inbox queued in the metrics outbox (`gh-job:…`; tasks' own pipeline
/// writes queue the tracked job's run under its own ids).
async fn webhook_job_runs(stores: &Stores) -> Vec<String> {
    use prost::Message;
    let pending = stores.tasks.pending_metric_events(100).await.expect("metrics outbox");
    pending
        .iter()
        .filter(|m| m.event.kind == MetricEventKind::JobRun)
        .map(|m| devopstrack_proto::metrics::v1::JobRun::decode(m.event.payload.as_slice()).expect("a job run"))
        .map(|run| run.event_id)
        .filter(|id| id.starts_with("gh-job:"))
        .collect()
}

/// The real `devopstrack-tasks` binary (role `api`) on the test app's store, its processor on or off.
async fn tasks_process(app: &TestApp, processor: bool) -> (Child, TaskServiceClient<Channel>) {
    let port = free_port();
    let child = tasks_binary(app, &["--role", "api"], &app.database_url)
        .env("DEVOPSTRACK_TASKS__KEY_PREFIX", &app.key_prefix)
        .env("DEVOPSTRACK_TASKS__ALLOW_VOLATILE_REDIS", "true")
        .env("DEVOPSTRACK_TASKS__GRPC_ADDR", format!("127.0.0.1:{port}"))
        .env("DEVOPSTRACK_TASKS__METRICS_URL", NO_METRICS)
        .env("DEVOPSTRACK_TASKS__CLIENT_SECRET", SERVICE_SECRET)
        .env("DEVOPSTRACK_TASKS__WEBHOOK_PROCESSOR", processor.to_string())
        .spawn()
        .expect("start devopstrack-tasks");
    let client = eventually(Duration::from_secs(60), "devopstrack-tasks listening", || async move {
        TaskServiceClient::connect(format!("http://127.0.0.1:{port}"))
            .await
            .ok()
    })
    .await;
    (child, client)
}

async fn a_delivery_accepted_before_a_kill_9_is_processed_once_after_the_restart(backend: Backend) {
    // Arrange: no process of the stack processes deliveries yet.
    let Some(app) = app(backend, false).await else { return };
    let (mut first, mut client) = tasks_process(&app, false).await;

    // Act: accepted, then SIGKILL before any processing; a new process takes over.
    let answer = verdict(
        &mut client,
        delivery("workflow_job", "job-done-1", fixture("workflow_job.completed.json")),
    )
    .await;
    first.start_kill().expect("SIGKILL");
    first.wait().await.expect("reap the child");
    let kept = stores(&app)
        .await
        .inbox
        .list(InboxState::Pending, None, 10)
        .await
        .expect("list");
    let (_second, _client) = tasks_process(&app, true).await;
    let run = eventually(Duration::from_secs(20), "the run tracked", || async {
        tracked(&app, "2202229078").await.into_iter().next()
    })
    .await;
    let stores = stores(&app).await;
    eventually(Duration::from_secs(20), "the inbox emptied", || async {
        let pending = stores.inbox.list(InboxState::Pending, None, 10).await.expect("list");
        pending.is_empty().then_some(())
    })
    .await;

    // Assert
    assert_eq!(answer, pb::DeliveryVerdict::Accepted);
    assert_eq!(kept.len(), 1, "accepted means stored before the answer: {kept:?}");
    assert_eq!(crate::helpers::jobs(&run).count(), 1, "{run:?}");
    assert_eq!(
        webhook_job_runs(&stores).await,
        ["gh-job:289782451:1"],
        "the job run is queued once"
    );
    assert_eq!(tracked(&app, "2202229078").await.len(), 1);
}

on_both_backends!(
    a_delivery_accepted_before_a_kill_9_is_processed_once_after_the_restart =>
    a_delivery_accepted_before_a_kill_9_is_processed_once_after_the_restart_on_sqlite,
    a_delivery_accepted_before_a_kill_9_is_processed_once_after_the_restart_on_redis
);

async fn a_delivery_whose_processing_died_midway_is_processed_again_without_a_second_effect(backend: Backend) {
    // Arrange: a processor took the delivery (its lease is held), tracked the run, and died before completing it.
    let Some(app) = app(backend, false).await else { return };
    let stores = stores(&app).await;
    let body = fixture("workflow_job.completed.json");
    let record = NewDelivery {
        id: uuid::Uuid::now_v7(),
        project_id: "unused-by-processing".into(),
        project_slug: PROJECT.into(),
        delivery_id: "job-midway".into(),
        event: "workflow_job".into(),
        body: Some(body),
    };
    let now = chrono::Utc::now();
    stores
        .inbox
        .receive(&record, now - chrono::TimeDelta::seconds(1))
        .await
        .expect("record");
    let taken = stores
        .inbox
        .take_due(now, chrono::TimeDelta::seconds(2), 10)
        .await
        .expect("take, as the dead processor did");
    assert_eq!(taken.len(), 1);
    let (mut before, mut client) = (Vec::new(), app.client.clone());
    // The dead processor's first effect, made as the intake makes it (TrackExternalRun).
    let track = devopstrack_proto::tasks::v1::TrackExternalRunRequest {
        project: PROJECT.into(),
        source: pb::Source::Github as i32,
        external_id: "2202229078".into(),
        name: "CodeQL".into(),
        triggered_by: "octocat".into(),
        jobs: vec![pb::ExternalJob {
            external_id: "289782451".into(),
            name: "Analyze (javascript)".into(),
            status: pb::JobStatus::Running as i32,
            ..Default::default()
        }],
        ..Default::default()
    };
    client
        .track_external_run(with_token(track, &app.admin))
        .await
        .expect("the effect made before the crash");
    before.extend(tracked(&app, "2202229078").await);

    // Act: the lease lapses; a new process's processor takes the delivery again.
    let (_process, _client) = tasks_process(&app, true).await;
    eventually(Duration::from_secs(20), "the delivery processed again", || async {
        let pending = stores.inbox.list(InboxState::Pending, None, 10).await.expect("list");
        pending.is_empty().then_some(())
    })
    .await;

    // Assert: one run, one job, one job run queued.
    let after = tracked(&app, "2202229078").await;
    assert_eq!((before.len(), after.len()), (1, 1));
    assert_eq!(after[0].id, before[0].id);
    assert_eq!(webhook_job_runs(&stores).await, ["gh-job:289782451:1"]);
}

on_both_backends!(
    a_delivery_whose_processing_died_midway_is_processed_again_without_a_second_effect =>
    a_delivery_whose_processing_died_midway_is_processed_again_on_sqlite,
    a_delivery_whose_processing_died_midway_is_processed_again_on_redis
);

async fn forged_floods_are_refused_and_leave_nothing_to_process(backend: Backend) {
    // Arrange
    let Some(app) = app(backend, true).await else { return };
    let body = fixture("workflow_run.completed.json");

    // Act: 200 forged deliveries at once, then a genuine one.
    let mut calls = Vec::new();
    for n in 0..200 {
        let mut client = app.client.clone();
        let mut forged = delivery("workflow_run", &format!("forged-{n}"), body.clone());
        forged.signature = sign("not the project's secret, at all", &body);
        calls.push(tokio::spawn(
            async move { client.receive_github_delivery(forged).await },
        ));
    }
    let mut codes = Vec::new();
    for call in calls {
        codes.push(call.await.expect("join").expect_err("refused").code());
    }
    let stores = stores(&app).await;
    let kept = stores.inbox.list(InboxState::Pending, None, 10).await.expect("list");
    let started = Instant::now();
    let genuine = verdict(
        &mut app.client.clone(),
        delivery("workflow_run", "genuine", body.clone()),
    )
    .await;
    eventually(Duration::from_secs(10), "the genuine run tracked", || async {
        tracked(&app, "289782451").await.into_iter().next()
    })
    .await;
    let took = started.elapsed();
    let reused = verdict(&mut app.client.clone(), delivery("workflow_run", "forged-7", body)).await;

    // Assert
    assert!(codes.iter().all(|c| *c == Code::Unauthenticated), "{codes:?}");
    assert!(kept.is_empty(), "nothing forged was stored: {kept:?}");
    assert_eq!(genuine, pb::DeliveryVerdict::Accepted);
    assert!(took < Duration::from_secs(5), "the genuine delivery waited {took:?}");
    assert_eq!(
        reused,
        pb::DeliveryVerdict::Accepted,
        "a forged attempt did not use up the id"
    );
}

on_both_backends!(
    forged_floods_are_refused_and_leave_nothing_to_process =>
    forged_floods_are_refused_and_leave_nothing_to_process_on_sqlite,
    forged_floods_are_refused_and_leave_nothing_to_process_on_redis
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_and_refusals_name_what_is_wrong() {
    // Arrange
    let Some(app) = app(Backend::Sqlite, true).await else {
        return;
    };
    let mut client = app.client.clone();
    let mut unknown = delivery("ping", "d-unknown", fixture("ping.json"));
    unknown.project = "nope".into();
    let mut bad_event = delivery("Ping", "d-bad", fixture("ping.json"));
    bad_event.signature = sign(SECRET, &bad_event.body);
    let truncated = delivery("workflow_run", "d-trunc", b"{\"action\": \"completed\", ".to_vec());

    // Act
    let first = verdict(
        &mut client,
        delivery("workflow_run", "d-1", fixture("workflow_run.completed.json")),
    )
    .await;
    let again = verdict(
        &mut client,
        delivery("workflow_run", "d-1", fixture("workflow_run.completed.json")),
    )
    .await;
    let ping = verdict(&mut client, delivery("ping", "d-ping", fixture("ping.json"))).await;
    let unknown = client
        .receive_github_delivery(unknown)
        .await
        .expect_err("unknown project");
    let bad_event = client.receive_github_delivery(bad_event).await.expect_err("bad event");
    let truncated = client.receive_github_delivery(truncated).await.expect_err("not JSON");
    let redelivered = verdict(
        &mut client,
        delivery("workflow_run", "d-trunc", fixture("workflow_run.completed.json")),
    )
    .await;

    // Assert
    assert_eq!(
        (first, again, ping),
        (
            pb::DeliveryVerdict::Accepted,
            pb::DeliveryVerdict::Duplicate,
            pb::DeliveryVerdict::Ignored
        )
    );
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(bad_event.code(), Code::InvalidArgument);
    assert!(bad_event.message().starts_with("event:"), "{}", bad_event.message());
    assert_eq!(truncated.code(), Code::InvalidArgument);
    assert!(
        truncated.message().starts_with("body: not JSON"),
        "{}",
        truncated.message()
    );
    assert_eq!(
        redelivered,
        pb::DeliveryVerdict::Accepted,
        "a refused body did not use up the id"
    );
}
