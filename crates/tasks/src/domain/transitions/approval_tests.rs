//! Who may approve or reject a gated job (roles, four eyes), what an approval records, rejection and manual retry.
//! Which jobs wait, and what one approval releases: `gate_tests`.

use serde_json::json;

use super::tests::{enqueued, failed, id, meta, run, spec, status, t, three_stages};
use crate::domain::*;

pub(super) fn actor(subject: &str, role: Role) -> Actor {
    Actor {
        subject: subject.into(),
        role,
    }
}

/// A deploy to a `tier` environment (`protected` or not) whose rollout waits for approval once stage 0 and 1 are
/// done: gated by the environment when it gates, else by the job's own `requires_approval`.
pub(super) fn waiting_deploy(tier: Tier, protected: bool) -> (Pipeline, JobId) {
    let own_gate = !protected && tier != Tier::Production;
    let s = spec(json!([
        {"name": "build", "jobs": [{"name": "compile"}]},
        {"name": "test", "jobs": [{"name": "unit"}, {"name": "lint"}]},
        {"name": "deploy", "jobs": [{"name": "rollout", "requires_approval": own_gate}]}
    ]));
    let (mut p, _) = Pipeline::new(s, meta(Some((tier, protected))), t(0));
    run(&mut p, "build", "compile", Outcome::Succeeded, 0);
    run(&mut p, "test", "unit", Outcome::Succeeded, 20);
    let fx = run(&mut p, "test", "lint", Outcome::Succeeded, 40);
    assert!(enqueued(&p, &fx).is_empty(), "a gated job is not enqueued");
    let rollout = id(&p, "deploy", "rollout");
    (p, rollout)
}

#[test]
fn approval_follows_role_tier_and_four_eyes_rules() {
    use Role::*;
    // (tier, protected, approver, role, allowed); the pipeline was triggered by alice.
    let cases = [
        (Tier::Staging, true, "bob", Operator, true),
        (Tier::Staging, true, "alice", Operator, false),
        (Tier::Staging, true, "alice", Admin, false),
        (Tier::Development, false, "alice", Operator, true),
        (Tier::Staging, false, "alice", Admin, true),
        (Tier::Production, true, "bob", Operator, false),
        (Tier::Production, true, "bob", Admin, true),
        (Tier::Production, true, "alice", Admin, false),
        (Tier::Production, false, "alice", Admin, false),
        (Tier::Production, false, "bob", Admin, true),
        (Tier::Staging, true, "bob", Viewer, false),
        (Tier::Staging, true, "tasks", Service, false),
    ];
    for (tier, protected, who, role, allowed) in cases {
        let (mut p, rollout) = waiting_deploy(tier, protected);
        let before = p.clone();
        let result = p.approve(rollout, &actor(who, role), t(100));
        if allowed {
            let fx = result.unwrap();
            assert!(fx.contains(&Effect::Enqueue {
                job: rollout,
                attempt: 1
            }));
            let j = p.job(rollout).unwrap();
            assert_eq!(
                (j.status, j.approved_by.as_deref(), j.approved_at),
                (JobStatus::Queued, Some(who), Some(t(100)))
            );
            assert_eq!(p.status, PipelineStatus::Running);
        } else {
            assert!(
                matches!(result, Err(TransitionError::Denied(_))),
                "{tier:?} protected={protected} {who} {role:?}: {result:?}"
            );
            assert_eq!(p, before, "a denied approval changes nothing");
        }
    }
}

#[test]
fn an_approved_deploy_runs_to_success() {
    let (mut p, rollout) = waiting_deploy(Tier::Production, true);
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
    let (mut p, rollout) = waiting_deploy(Tier::Production, true);
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
    let (mut p, rollout) = waiting_deploy(Tier::Staging, true);
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
