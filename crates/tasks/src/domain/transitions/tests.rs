use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::json;

use crate::domain::*;

pub(super) fn t(ms: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap() + TimeDelta::milliseconds(ms)
}

pub(super) fn spec(stages: serde_json::Value) -> PipelineSpec {
    PipelineSpec::parse(&serde_json::from_value(json!({ "stages": stages })).unwrap()).unwrap()
}

pub(super) fn meta(target: Option<(Tier, bool)>) -> PipelineMeta {
    PipelineMeta {
        project: "api".into(),
        target: target.map(|(tier, protected)| DeployTarget {
            environment: "env".into(),
            version: "1.4.0".into(),
            tier,
            protected,
        }),
        trigger: Trigger::Api,
        triggered_by: "alice".into(),
        idempotency_key: None,
        source: Source::DevOpsTrack,
        commit: None,
    }
}

pub(super) fn three_stages() -> PipelineSpec {
    spec(json!([
        {"name": "build", "jobs": [{"name": "compile"}]},
        {"name": "test", "jobs": [{"name": "unit"}, {"name": "lint"}]},
        {"name": "deploy", "jobs": [{"name": "rollout"}]}
    ]))
}

pub(super) fn id(p: &Pipeline, stage: &str, job: &str) -> JobId {
    p.find(stage, job).unwrap().id
}

pub(super) fn status(p: &Pipeline, stage: &str, job: &str) -> JobStatus {
    p.find(stage, job).unwrap().status
}

/// Names of the jobs the effects enqueue (now or later), in order.
pub(super) fn enqueued(p: &Pipeline, fx: &[Effect]) -> Vec<String> {
    let name = |id: &JobId| p.job(*id).unwrap().spec.name.to_string();
    fx.iter()
        .filter_map(|e| match e {
            Effect::Enqueue { job, .. } | Effect::Retry { job, .. } => Some(name(job)),
            _ => None,
        })
        .collect()
}

pub(super) fn run(p: &mut Pipeline, stage: &str, job: &str, outcome: Outcome, at: i64) -> Vec<Effect> {
    let j = id(p, stage, job);
    let attempt = p.job(j).unwrap().attempt;
    p.start_job(j, attempt, "w1", t(at)).unwrap();
    p.finish_job(j, attempt, outcome, t(at + 10)).unwrap()
}

pub(super) fn failed(reason: &str) -> Outcome {
    Outcome::Failed { reason: reason.into() }
}

#[test]
fn a_three_stage_pipeline_succeeds_enqueuing_stage_by_stage() {
    let (mut p, fx) = Pipeline::new(three_stages(), meta(None), t(0));
    assert_eq!(enqueued(&p, &fx), ["compile"]);
    assert_eq!(
        (p.status, status(&p, "test", "unit")),
        (PipelineStatus::Queued, JobStatus::Pending)
    );

    let fx = run(&mut p, "build", "compile", Outcome::Succeeded, 100);
    assert_eq!(enqueued(&p, &fx), ["unit", "lint"]);
    assert_eq!(p.status, PipelineStatus::Running);

    let fx = run(&mut p, "test", "unit", Outcome::Succeeded, 200);
    assert!(enqueued(&p, &fx).is_empty(), "lint is still queued");
    let fx = run(&mut p, "test", "lint", Outcome::Succeeded, 300);
    assert_eq!(enqueued(&p, &fx), ["rollout"]);

    let fx = run(&mut p, "deploy", "rollout", Outcome::Succeeded, 400);
    assert_eq!(p.status, PipelineStatus::Succeeded);
    assert_eq!((p.started_at, p.finished_at), (Some(t(100)), Some(t(410))));
    assert!(fx.contains(&Effect::Event(StateChange::Pipeline {
        from: PipelineStatus::Running,
        to: PipelineStatus::Succeeded
    })));
    assert!(p.jobs().all(|j| j.status == JobStatus::Succeeded && j.attempt == 1));
}

#[test]
fn every_status_change_is_one_event() {
    let (mut p, _) = Pipeline::new(three_stages(), meta(None), t(0));
    let compile = id(&p, "build", "compile");
    let fx = p.start_job(compile, 1, "w1", t(1)).unwrap();
    assert_eq!(
        fx,
        [
            Effect::Event(StateChange::Job {
                job: compile,
                attempt: 1,
                from: JobStatus::Queued,
                to: JobStatus::Running
            }),
            Effect::Event(StateChange::Pipeline {
                from: PipelineStatus::Queued,
                to: PipelineStatus::Running
            }),
        ]
    );
    assert_eq!(p.job(compile).unwrap().worker.as_deref(), Some("w1"));
}

#[test]
fn a_failing_job_fails_the_pipeline_and_cancels_the_unstarted() {
    let (mut p, _) = Pipeline::new(three_stages(), meta(None), t(0));
    run(&mut p, "build", "compile", Outcome::Succeeded, 0);
    let lint = id(&p, "test", "lint");
    p.start_job(lint, 1, "w2", t(20)).unwrap();

    let fx = run(&mut p, "test", "unit", failed("exit 1"), 30);

    assert_eq!(p.status, PipelineStatus::Failed);
    assert_eq!(status(&p, "test", "unit"), JobStatus::Failed);
    assert_eq!(p.find("test", "unit").unwrap().exit_reason.as_deref(), Some("exit 1"));
    assert_eq!(
        status(&p, "test", "lint"),
        JobStatus::Running,
        "a running sibling is left to finish"
    );
    assert_eq!(status(&p, "deploy", "rollout"), JobStatus::Cancelled);
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::CancelQueued { .. } | Effect::StopRunning { .. }))
    );
    // The sibling's later finish is recorded; the failed pipeline does not move.
    p.finish_job(lint, 1, Outcome::Succeeded, t(50)).unwrap();
    assert_eq!(
        (status(&p, "test", "lint"), p.status),
        (JobStatus::Succeeded, PipelineStatus::Failed)
    );
}

#[test]
fn a_failure_cancels_queued_siblings_and_drops_them_from_the_queue() {
    let (mut p, _) = Pipeline::new(three_stages(), meta(None), t(0));
    run(&mut p, "build", "compile", Outcome::Succeeded, 0);
    let fx = run(&mut p, "test", "unit", failed("exit 2"), 30);
    assert_eq!(status(&p, "test", "lint"), JobStatus::Cancelled);
    assert!(fx.contains(&Effect::CancelQueued {
        job: id(&p, "test", "lint")
    }));
}

#[test]
fn allow_failure_lets_the_stage_go_on() {
    let s = spec(json!([
        {"name": "test", "jobs": [{"name": "flaky", "allow_failure": true}, {"name": "unit"}]},
        {"name": "deploy", "jobs": [{"name": "rollout"}]}
    ]));
    let (mut p, _) = Pipeline::new(s, meta(None), t(0));
    run(&mut p, "test", "flaky", failed("boom"), 0);
    assert_eq!(p.status, PipelineStatus::Running);
    let fx = run(&mut p, "test", "unit", Outcome::Succeeded, 20);
    assert_eq!(enqueued(&p, &fx), ["rollout"]);
    run(&mut p, "deploy", "rollout", Outcome::Succeeded, 40);
    assert_eq!(
        (p.status, status(&p, "test", "flaky")),
        (PipelineStatus::Succeeded, JobStatus::Failed)
    );
}

#[test]
fn failed_attempts_are_retried_with_exponential_backoff() {
    let s = spec(json!([{"name": "build", "jobs": [{"name": "compile",
        "retry": {"max_attempts": 4, "initial_backoff_ms": 1000, "max_backoff_ms": 3000}}]}]));
    let (mut p, _) = Pipeline::new(s, meta(None), t(0));
    let job = id(&p, "build", "compile");
    // (attempt, failed at, next attempt due at): 1s, 2s, then capped at 3s.
    for (attempt, at, due) in [(1, 0, 1000), (2, 1000, 3000), (3, 3000, 6000)] {
        p.start_job(job, attempt, "w", t(at)).unwrap();
        let fx = p.finish_job(job, attempt, failed("flaky"), t(at)).unwrap();
        assert!(
            fx.contains(&Effect::Retry {
                job,
                attempt: attempt + 1,
                at: t(due)
            }),
            "{fx:?}"
        );
        let j = p.job(job).unwrap();
        assert_eq!(
            (j.status, j.attempt, j.not_before),
            (JobStatus::Queued, attempt + 1, Some(t(due)))
        );
        assert_eq!(p.status, PipelineStatus::Running);
    }
    assert_eq!(
        p.start_job(job, 4, "w", t(5999)),
        Err(TransitionError::Backoff {
            job,
            not_before: t(6000)
        })
    );
    p.start_job(job, 4, "w", t(6000)).unwrap();
    let fx = p.finish_job(job, 4, failed("still flaky"), t(6100)).unwrap();
    assert!(enqueued(&p, &fx).is_empty(), "no attempts left");
    assert_eq!(
        (status(&p, "build", "compile"), p.status),
        (JobStatus::Failed, PipelineStatus::Failed)
    );
}

#[test]
fn a_duplicate_finish_is_stale_and_changes_nothing() {
    let (mut p, _) = Pipeline::new(three_stages(), meta(None), t(0));
    let job = id(&p, "build", "compile");
    p.start_job(job, 1, "w1", t(0)).unwrap();
    p.finish_job(job, 1, Outcome::Succeeded, t(10)).unwrap();
    let before = p.clone();

    for outcome in [Outcome::Succeeded, failed("late"), Outcome::TimedOut] {
        assert_eq!(
            p.finish_job(job, 1, outcome, t(20)),
            Err(TransitionError::Stale { job, attempt: 1 })
        );
    }
    assert_eq!(p, before);
}

#[test]
fn deliveries_for_an_old_attempt_are_stale() {
    let s = spec(json!([{"name": "build", "jobs": [{"name": "compile", "retry": {"max_attempts": 2}}]}]));
    let (mut p, _) = Pipeline::new(s, meta(None), t(0));
    let job = id(&p, "build", "compile");
    p.start_job(job, 1, "w1", t(0)).unwrap();
    p.finish_job(job, 1, failed("lease expired"), t(10)).unwrap();
    p.start_job(job, 2, "w2", t(5000)).unwrap();
    let before = p.clone();

    assert_eq!(
        p.finish_job(job, 1, Outcome::Succeeded, t(5001)),
        Err(TransitionError::Stale { job, attempt: 1 })
    );
    assert_eq!(
        p.start_job(job, 1, "w1", t(5001)),
        Err(TransitionError::Stale { job, attempt: 1 })
    );
    assert_eq!(
        p.start_job(job, 2, "w3", t(5001)),
        Err(TransitionError::Stale { job, attempt: 2 })
    );
    assert_eq!(p, before);
}

#[test]
fn a_job_of_a_later_stage_cannot_start() {
    let (mut p, _) = Pipeline::new(three_stages(), meta(None), t(0));
    let unit = id(&p, "test", "unit");
    let err = p.start_job(unit, 1, "w", t(0)).unwrap_err();
    assert_eq!(
        err,
        TransitionError::JobState {
            job: unit,
            status: JobStatus::Pending,
            action: "start"
        }
    );
}

#[test]
fn cancel_while_running_stops_the_runner_and_records_cancelled() {
    let (mut p, _) = Pipeline::new(three_stages(), meta(None), t(0));
    run(&mut p, "build", "compile", Outcome::Succeeded, 0);
    let (unit, lint) = (id(&p, "test", "unit"), id(&p, "test", "lint"));
    p.start_job(unit, 1, "w1", t(20)).unwrap();

    let fx = p.cancel("bob", t(30)).unwrap();

    assert!(fx.contains(&Effect::StopRunning { job: unit, attempt: 1 }));
    assert!(fx.contains(&Effect::CancelQueued { job: lint }));
    assert_eq!(
        (p.status, p.cancelled_by.as_deref()),
        (PipelineStatus::Cancelled, Some("bob"))
    );
    assert_eq!(status(&p, "test", "unit"), JobStatus::Running);
    assert_eq!(status(&p, "deploy", "rollout"), JobStatus::Cancelled);
    // The runner reports success after being told to stop: recorded as cancelled, exactly once.
    p.finish_job(unit, 1, Outcome::Succeeded, t(40)).unwrap();
    assert_eq!(status(&p, "test", "unit"), JobStatus::Cancelled);
    assert!(matches!(
        p.finish_job(unit, 1, Outcome::Succeeded, t(41)),
        Err(TransitionError::Stale { .. })
    ));
    assert!(matches!(
        p.cancel("bob", t(50)),
        Err(TransitionError::PipelineState { .. })
    ));
}

#[test]
fn a_timed_out_job_ends_timed_out_and_fails_the_pipeline() {
    let s = spec(json!([{"name": "build", "jobs": [{"name": "compile", "timeout_s": 60}]}]));
    let (mut p, _) = Pipeline::new(s, meta(None), t(0));
    let job = id(&p, "build", "compile");
    p.start_job(job, 1, "w", t(0)).unwrap();
    assert_eq!(p.job(job).unwrap().deadline(), Some(t(60_000)));

    p.finish_job(job, 1, Outcome::TimedOut, t(60_000)).unwrap();

    let j = p.job(job).unwrap();
    assert_eq!(
        (j.status, j.exit_reason.as_deref()),
        (JobStatus::TimedOut, Some("timed out after 60s"))
    );
    assert_eq!((p.status, j.deadline()), (PipelineStatus::Failed, None));
}

#[test]
fn a_timeout_with_attempts_left_is_retried() {
    let s = spec(json!([{"name": "build", "jobs": [{"name": "compile", "retry": {"max_attempts": 2}}]}]));
    let (mut p, _) = Pipeline::new(s, meta(None), t(0));
    let job = id(&p, "build", "compile");
    p.start_job(job, 1, "w", t(0)).unwrap();
    let fx = p.finish_job(job, 1, Outcome::TimedOut, t(100)).unwrap();
    assert!(fx.contains(&Effect::Retry {
        job,
        attempt: 2,
        at: t(1100)
    }));
}
