//! Approval gates, rejection and manual retry.

use serde_json::json;

use super::tests::{enqueued, failed, id, meta, run, spec, status, t, three_stages};
use crate::domain::*;

fn actor(subject: &str, role: Role) -> Actor {
    Actor {
        subject: subject.into(),
        role,
    }
}

/// A deploy whose last stage is gated, with stage 0 done: the pipeline waits for approval.
fn waiting_deploy(tier: Tier) -> (Pipeline, JobId) {
    let (mut p, _) = Pipeline::new(three_stages(), meta(Some((tier, true))), t(0));
    run(&mut p, "build", "compile", Outcome::Succeeded, 0);
    run(&mut p, "test", "unit", Outcome::Succeeded, 20);
    let fx = run(&mut p, "test", "lint", Outcome::Succeeded, 40);
    assert!(enqueued(&p, &fx).is_empty(), "a gated job is not enqueued");
    let rollout = id(&p, "deploy", "rollout");
    (p, rollout)
}

#[test]
fn a_protected_deploy_waits_for_approval_at_its_last_stage() {
    let (p, rollout) = waiting_deploy(Tier::Staging);
    assert_eq!(p.job(rollout).unwrap().status, JobStatus::WaitingApproval);
    assert_eq!(p.status, PipelineStatus::WaitingApproval);
}

#[test]
fn requires_approval_gates_only_the_jobs_that_ask_for_it() {
    let s = spec(json!([
        {"name": "build", "jobs": [{"name": "compile", "requires_approval": true}, {"name": "docs"}]},
        {"name": "deploy", "jobs": [{"name": "rollout"}]}
    ]));
    let (mut p, fx) = Pipeline::new(s, meta(Some((Tier::Production, true))), t(0));
    assert_eq!(enqueued(&p, &fx), ["docs"]);
    assert_eq!(status(&p, "build", "compile"), JobStatus::WaitingApproval);
    assert_eq!(p.status, PipelineStatus::Queued, "docs can still run");
    run(&mut p, "build", "docs", Outcome::Succeeded, 0);
    assert_eq!(p.status, PipelineStatus::WaitingApproval);
    p.approve(id(&p, "build", "compile"), &actor("root", Role::Admin), t(30))
        .unwrap();
    let fx = run(&mut p, "build", "compile", Outcome::Succeeded, 40);
    assert_eq!(
        enqueued(&p, &fx),
        ["rollout"],
        "the explicit gate replaces the last-stage gate"
    );
}

#[test]
fn approval_follows_role_tier_and_four_eyes_rules() {
    use Role::*;
    // (tier, approver, role, allowed); the pipeline was triggered by alice.
    let cases = [
        (Tier::Staging, "bob", Operator, true),
        (Tier::Development, "alice", Operator, true),
        (Tier::Production, "bob", Operator, false),
        (Tier::Production, "bob", Admin, true),
        (Tier::Production, "alice", Admin, false),
        (Tier::Staging, "bob", Viewer, false),
        (Tier::Staging, "tasks", Service, false),
    ];
    for (tier, who, role, allowed) in cases {
        let (mut p, rollout) = waiting_deploy(tier);
        let before = p.clone();
        let result = p.approve(rollout, &actor(who, role), t(100));
        if allowed {
            let fx = result.unwrap();
            assert!(fx.contains(&Effect::Enqueue {
                job: rollout,
                attempt: 1
            }));
            let j = p.job(rollout).unwrap();
            assert_eq!((j.status, j.approved_by.as_deref()), (JobStatus::Queued, Some(who)));
            assert_eq!(p.status, PipelineStatus::Running);
        } else {
            assert!(
                matches!(result, Err(TransitionError::Denied(_))),
                "{tier:?} {who} {role:?}: {result:?}"
            );
            assert_eq!(p, before, "a denied approval changes nothing");
        }
    }
}

#[test]
fn an_approved_deploy_runs_to_success() {
    let (mut p, rollout) = waiting_deploy(Tier::Production);
    p.approve(rollout, &actor("bob", Role::Admin), t(100)).unwrap();
    run(&mut p, "deploy", "rollout", Outcome::Succeeded, 200);
    assert_eq!(p.status, PipelineStatus::Succeeded);
    assert!(matches!(
        p.approve(rollout, &actor("bob", Role::Admin), t(300)),
        Err(TransitionError::PipelineState { .. })
    ));
}

#[test]
fn only_a_waiting_job_can_be_approved() {
    let (mut p, _) = Pipeline::new(three_stages(), meta(None), t(0));
    let compile = id(&p, "build", "compile");
    let err = p.approve(compile, &actor("bob", Role::Admin), t(1)).unwrap_err();
    assert_eq!(
        err,
        TransitionError::JobState {
            job: compile,
            status: JobStatus::Queued,
            action: "approve"
        }
    );
}

#[test]
fn a_rejection_fails_the_job_and_the_pipeline_and_records_who() {
    let (mut p, rollout) = waiting_deploy(Tier::Production);
    assert!(matches!(
        p.reject(rollout, &actor("bob", Role::Operator), "no", t(90)),
        Err(TransitionError::Denied(_))
    ));

    p.reject(rollout, &actor("alice", Role::Admin), "freeze week", t(100))
        .unwrap();

    let j = p.job(rollout).unwrap();
    assert_eq!((j.status, j.rejected_by.as_deref()), (JobStatus::Failed, Some("alice")));
    assert_eq!(j.exit_reason.as_deref(), Some("rejected by alice: freeze week"));
    assert_eq!((p.status, p.finished_at), (PipelineStatus::Failed, Some(t(100))));
}

#[test]
fn retry_job_resumes_a_failed_pipeline_from_its_stage() {
    let (mut p, _) = Pipeline::new(three_stages(), meta(None), t(0));
    run(&mut p, "build", "compile", Outcome::Succeeded, 0);
    run(&mut p, "test", "unit", failed("exit 1"), 20);
    assert_eq!(
        (p.status, status(&p, "test", "lint"), status(&p, "deploy", "rollout")),
        (PipelineStatus::Failed, JobStatus::Cancelled, JobStatus::Cancelled)
    );
    let unit = id(&p, "test", "unit");

    let fx = p.retry_job(unit, t(100)).unwrap();

    assert_eq!(
        enqueued(&p, &fx),
        ["unit", "lint"],
        "the never-started sibling runs too"
    );
    assert!(fx.contains(&Effect::Event(StateChange::Pipeline {
        from: PipelineStatus::Failed,
        to: PipelineStatus::Running
    })));
    assert_eq!(p.job(unit).unwrap().attempt, 2);
    assert_eq!((p.status, p.finished_at), (PipelineStatus::Running, None));
    assert_eq!(status(&p, "deploy", "rollout"), JobStatus::Pending);
    run(&mut p, "test", "unit", Outcome::Succeeded, 200);
    run(&mut p, "test", "lint", Outcome::Succeeded, 220);
    run(&mut p, "deploy", "rollout", Outcome::Succeeded, 240);
    assert_eq!(p.status, PipelineStatus::Succeeded);
}

#[test]
fn a_retried_rejection_waits_for_approval_again() {
    let (mut p, rollout) = waiting_deploy(Tier::Staging);
    p.reject(rollout, &actor("bob", Role::Operator), "not now", t(100))
        .unwrap();
    let fx = p.retry_job(rollout, t(200)).unwrap();
    assert!(enqueued(&p, &fx).is_empty());
    let j = p.job(rollout).unwrap();
    assert_eq!(
        (j.status, j.attempt, j.rejected_by.as_deref()),
        (JobStatus::WaitingApproval, 2, None)
    );
    assert_eq!(p.status, PipelineStatus::WaitingApproval);
}

#[test]
fn retry_job_is_refused_unless_a_failed_pipeline_stopped_at_that_job() {
    let (mut p, _) = Pipeline::new(three_stages(), meta(None), t(0));
    let compile = id(&p, "build", "compile");
    assert!(matches!(
        p.retry_job(compile, t(1)),
        Err(TransitionError::PipelineState { .. })
    ));
    run(&mut p, "build", "compile", Outcome::Succeeded, 0);
    run(&mut p, "test", "unit", failed("exit 1"), 20);
    let before = p.clone();
    assert_eq!(
        p.retry_job(compile, t(100)),
        Err(TransitionError::JobState {
            job: compile,
            status: JobStatus::Succeeded,
            action: "retry"
        })
    );
    let rollout = id(&p, "deploy", "rollout");
    assert_eq!(
        p.retry_job(rollout, t(100)),
        Err(TransitionError::NotActiveStage { job: rollout })
    );
    assert_eq!(p, before);
}
