//! TrackExternalRun end to end: GitHub Actions runs reported by the webhook intake (role `service`) or an admin become
//! tracked pipelines, merged delivery by delivery in any order, shown live, never run by workers and never acted on.

use std::time::Duration;

use prost_types::Timestamp;
use tokio_stream::StreamExt;
use tonic::{Code, Status};

use devopstrack_proto::auth::v1 as auth_pb;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;
use devopstrack_proto::tasks::v1 as pb;

mod access_and_input;

use crate::helpers::{Backend, Options, PROJECT, SERVICE_SECRET, TestApp, job_named, spawn_app, stage, with_token};

pub(super) const RUN: &str = "9876543210";
const T0: i64 = 1_750_000_000;

pub(super) fn at(s: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: T0 + s,
        nanos: 0,
    })
}

pub(super) fn gh_job(
    id: &str,
    name: &str,
    status: pb::JobStatus,
    started: Option<i64>,
    finished: Option<i64>,
) -> pb::ExternalJob {
    pb::ExternalJob {
        external_id: id.into(),
        name: name.into(),
        status: status.into(),
        started_at: started.and_then(at),
        finished_at: finished.and_then(at),
        external_url: format!("https://github.com/acme/api/actions/runs/{RUN}/job/{id}"),
    }
}

pub(super) fn delivery(status: pb::PipelineStatus, jobs: Vec<pb::ExternalJob>) -> pb::TrackExternalRunRequest {
    pb::TrackExternalRunRequest {
        project: PROJECT.into(),
        source: pb::Source::Github.into(),
        external_id: RUN.into(),
        external_url: format!("https://github.com/acme/api/actions/runs/{RUN}"),
        name: "CI / Build & Test".into(),
        triggered_by: "octocat".into(),
        status: status.into(),
        created_at: at(0),
        jobs,
        ..Default::default()
    }
}

impl TestApp {
    pub(super) async fn track(
        &self,
        token: &str,
        request: pb::TrackExternalRunRequest,
    ) -> Result<pb::Pipeline, Status> {
        self.client
            .clone()
            .track_external_run(with_token(request, token))
            .await
            .map(tonic::Response::into_inner)
    }

    /// A `service` token, as the gateway's webhook intake holds one (auth's client-credentials grant).
    pub(super) async fn service_token(&self) -> String {
        self.service_token_of("gateway").await
    }

    /// A `service` token of the service client `client_id`.
    pub(super) async fn service_token_of(&self, client_id: &str) -> String {
        AuthServiceClient::connect(self.auth_url.clone())
            .await
            .expect("connect to auth")
            .issue_service_token(auth_pb::IssueServiceTokenRequest {
                client_id: client_id.into(),
                client_secret: SERVICE_SECRET.into(),
            })
            .await
            .expect("a service token")
            .into_inner()
            .access_token
    }
}

pub(super) fn status_of(p: &pb::Pipeline, job: &str) -> pb::JobStatus {
    pb::JobStatus::try_from(job_named(p, job).status).expect("a known status")
}

async fn deliveries_create_then_merge_into_one_tracked_run(backend: Backend) {
    let Some(app) = spawn_app(Options::on(backend)).await else {
        return;
    };

    let created = app
        .track(
            &app.admin,
            delivery(
                pb::PipelineStatus::Queued,
                vec![gh_job("501", "Build (ubuntu)", pb::JobStatus::Queued, Some(1), None)],
            ),
        )
        .await
        .expect("the first delivery creates the run");
    let merged = app
        .track(
            &app.admin,
            delivery(
                pb::PipelineStatus::Running,
                vec![
                    gh_job("501", "Build (ubuntu)", pb::JobStatus::Running, Some(2), None),
                    gh_job("502", "Test", pb::JobStatus::Queued, Some(3), None),
                ],
            ),
        )
        .await
        .expect("a later delivery merges");

    assert_eq!(created.source, i32::from(pb::Source::Github));
    assert_eq!(created.trigger, i32::from(pb::Trigger::Webhook));
    assert_eq!(created.triggered_by, "github:octocat");
    assert_eq!(created.external_id, RUN);
    assert_eq!(created.idempotency_key, format!("gh:{RUN}"));
    assert_eq!(merged.id, created.id, "one run, found by its external id");
    assert_eq!(merged.status, i32::from(pb::PipelineStatus::Running));
    assert_eq!(merged.stages.len(), 1);
    assert_eq!(merged.stages[0].name, "ci-build-test");
    assert_eq!(status_of(&merged, "build-ubuntu"), pb::JobStatus::Running);
    assert_eq!(status_of(&merged, "test"), pb::JobStatus::Queued);
    let build = job_named(&merged, "build-ubuntu");
    assert_eq!(build.id, job_named(&created, "build-ubuntu").id, "a job keeps its id");
    assert_eq!(build.executor, i32::from(pb::Executor::Unspecified));
    let params = build.params.as_ref().expect("params describe the source job");
    let text = |k: &str| match params.fields.get(k).and_then(|v| v.kind.as_ref()) {
        Some(prost_types::value::Kind::StringValue(s)) => s.clone(),
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!(text("externalId"), "501");
    assert_eq!(text("name"), "Build (ubuntu)");

    // A job added by a later delivery is found by its id like any other (RetryJob reaches the domain's refusal).
    let test_job = job_named(&merged, "test").id.clone();
    let retried = app
        .client
        .clone()
        .retry_job(with_token(pb::RetryJobRequest { job_id: test_job }, &app.admin))
        .await
        .expect_err("tracked jobs are not retried here");
    assert_eq!(retried.code(), Code::FailedPrecondition, "{retried:?}");
}

on_both_backends!(
    deliveries_create_then_merge_into_one_tracked_run =>
    deliveries_create_then_merge_into_one_tracked_run_on_sqlite,
    deliveries_create_then_merge_into_one_tracked_run_on_redis
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_delivery_arriving_last_does_not_move_the_run_back() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let finished = delivery(
        pb::PipelineStatus::Succeeded,
        vec![gh_job("501", "build", pb::JobStatus::Succeeded, Some(2), Some(60))],
    );
    let stale = delivery(
        pb::PipelineStatus::Running,
        vec![gh_job("501", "build", pb::JobStatus::Running, Some(2), None)],
    );

    let first = app.track(&app.admin, finished).await.expect("track");
    let last = app.track(&app.admin, stale).await.expect("track");

    assert_eq!(last.id, first.id);
    assert_eq!(last.status, i32::from(pb::PipelineStatus::Succeeded));
    assert_eq!(status_of(&last, "build"), pb::JobStatus::Succeeded);
    assert_eq!(last.finished_at, at(60));
    assert_eq!(app.get(&first.id).await, last, "what was answered is what is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_never_run_tracked_jobs_and_every_action_on_them_is_refused() {
    // Four in-process workers are leasing all along.
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let tracked = app
        .track(
            &app.admin,
            delivery(
                pb::PipelineStatus::Running,
                vec![
                    gh_job("1", "queued", pb::JobStatus::Queued, None, None),
                    gh_job("2", "running", pb::JobStatus::Running, Some(1), None),
                ],
            ),
        )
        .await
        .expect("track");

    // An ordinary pipeline created after it runs to the end, so the workers were there to take anything queued.
    let ours = pb::CreatePipelineRequest {
        project: PROJECT.into(),
        stages: vec![stage("build", vec![crate::helpers::job("compile", 50, 0.0)])],
        ..Default::default()
    };
    let ours = app.create(&app.operator, ours).await.expect("create");
    app.wait_status(&ours.id, pb::PipelineStatus::Succeeded, Duration::from_secs(20))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let now = app.get(&tracked.id).await;
    assert_eq!(now, tracked, "no worker touched the tracked run");
    assert_eq!(status_of(&now, "queued"), pb::JobStatus::Queued);
    assert!(job_named(&now, "queued").worker.is_empty());

    let mut client = app.client.clone();
    let job = job_named(&now, "queued").id.clone();
    let refusals = [
        client
            .cancel_pipeline(with_token(
                pb::CancelPipelineRequest { id: tracked.id.clone() },
                &app.admin,
            ))
            .await
            .map(drop),
        client
            .retry_job(with_token(pb::RetryJobRequest { job_id: job.clone() }, &app.admin))
            .await
            .map(drop),
        client
            .approve_job(with_token(pb::ApproveJobRequest { job_id: job.clone() }, &app.admin))
            .await
            .map(drop),
        client
            .reject_job(with_token(
                pb::RejectJobRequest {
                    job_id: job,
                    reason: "no".into(),
                },
                &app.admin,
            ))
            .await
            .map(drop),
    ];
    for refusal in refusals {
        let err = refusal.expect_err("refused");
        assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
        assert!(err.message().contains("tracked from GitHub"), "{err:?}");
        assert!(err.message().contains("act there"), "{err:?}");
    }
    assert_eq!(app.get(&tracked.id).await, tracked, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_see_tracked_runs_live() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let watch = pb::WatchEventsRequest {
        project: PROJECT.into(),
        ..Default::default()
    };
    let mut events = app.watch(watch).await;

    let created = app
        .track(&app.admin, delivery(pb::PipelineStatus::Queued, vec![]))
        .await
        .expect("track");
    let finished = delivery(
        pb::PipelineStatus::Failed,
        vec![gh_job("7", "deploy", pb::JobStatus::Failed, Some(5), Some(9))],
    );
    app.track(&app.admin, finished).await.expect("track");

    let mut seen = Vec::new();
    let done = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.next().await {
            let event = event.expect("an event");
            let pipeline = event.pipeline.expect("every event carries the pipeline");
            assert_eq!(pipeline.id, created.id);
            assert_eq!(pipeline.source, i32::from(pb::Source::Github));
            let kind = pb::EventType::try_from(event.r#type).expect("a known type");
            let status = match &event.job {
                Some(job) => format!("{}={}", job.name, job.status),
                None => format!("run={}", pipeline.status),
            };
            seen.push((kind, status));
            if kind == pb::EventType::PipelineUpdated && pipeline.status == i32::from(pb::PipelineStatus::Failed) {
                return;
            }
        }
    })
    .await;

    assert!(done.is_ok(), "events seen: {seen:?}");
    let failed_job = format!("deploy={}", i32::from(pb::JobStatus::Failed));
    let queued_run = format!("run={}", i32::from(pb::PipelineStatus::Queued));
    assert_eq!(seen[0], (pb::EventType::PipelineUpdated, queued_run), "{seen:?}");
    assert!(seen.contains(&(pb::EventType::JobUpdated, failed_job)), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_s_service_token_watches_every_project_and_no_other_service_s_does() {
    let app = spawn_app(Options::default()).await.expect("sqlite needs no server");
    let watch_as = |token: String| {
        let mut client = app.client.clone();
        async move {
            client
                .watch_events(with_token(pb::WatchEventsRequest::default(), &token))
                .await
        }
    };
    let refused = watch_as(app.service_token_of("tasks").await)
        .await
        .expect_err("the tasks client does not watch");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("WatchEvents"), "{refused:?}");

    let mut events = watch_as(app.service_token().await)
        .await
        .expect("the gateway's notifier watches")
        .into_inner();
    let created = app
        .track(&app.admin, delivery(pb::PipelineStatus::Queued, vec![]))
        .await
        .expect("track");
    let first = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream is open")
        .expect("an event");
    assert_eq!(first.pipeline.expect("the pipeline").id, created.id);
}
