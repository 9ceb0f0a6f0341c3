//! An approval given before the run starts (the chat's four eyes, tasks `CreateRun` with `asked_by`): the same roles
//! and four eyes as an approval of a waiting job, and it opens the environment's gate once.

use serde_json::json;

use super::approval_tests::actor;
use super::tests::{enqueued, failed, id, meta, run, spec, status, t, three_stages};
use crate::domain::*;

#[test]
fn a_pre_approval_follows_the_roles_and_four_eyes_of_an_approval() {
    use Role::*;
    // The run was triggered by alice (the asker); (tier, protected, approver, role, allowed).
    let cases = [
        (Tier::Production, true, "bob", Admin, true),
        (Tier::Production, true, "alice", Admin, false),
        (Tier::Production, false, "bob", Operator, false),
        (Tier::Staging, true, "bob", Operator, true),
        (Tier::Staging, true, "alice", Operator, false),
        (Tier::Production, true, "bob", Viewer, false),
        (Tier::Production, true, "gateway", Service, false),
    ];
    for (tier, protected, who, role, allowed) in cases {
        let deploy = spec(json!([{"name": "deploy", "jobs": [{"name": "rollout"}]}]));
        let (mut p, _) = Pipeline::new(deploy, meta(Some((tier, protected))), t(0));
        let before = p.clone();
        let result = p.pre_approve(&actor(who, role), t(5));
        let case = format!("{tier:?} protected={protected} {who} {role:?}");
        if allowed {
            let fx = result.expect(&case);
            assert_eq!(enqueued(&p, &fx), ["rollout"], "{case}");
            let rollout = p.find("deploy", "rollout").unwrap();
            assert_eq!(rollout.approved_by.as_deref(), Some(who), "{case}");
            assert_eq!(p.status, PipelineStatus::Queued, "{case}");
        } else {
            assert!(matches!(result, Err(TransitionError::Denied(_))), "{case}: {result:?}");
            assert_eq!(p, before, "{case}: a refusal changes nothing");
        }
    }
}

#[test]
fn a_run_the_environment_does_not_gate_has_nothing_to_pre_approve() {
    for target in [None, Some((Tier::Staging, false))] {
        let (mut p, _) = Pipeline::new(three_stages(), meta(target), t(0));
        let refused = p.pre_approve(&actor("bob", Role::Admin), t(1));
        assert_eq!(refused, Err(TransitionError::NoGate), "{target:?}");
    }
}

#[test]
fn a_pre_approved_deploy_stage_starts_without_waiting_once_the_stages_before_it_are_done() {
    let deploy = spec(json!([
        {"name": "build", "jobs": [{"name": "compile"}]},
        {"name": "deploy", "jobs": [{"name": "rollout"}, {"name": "gate", "requires_approval": true}]}
    ]));
    let (mut p, _) = Pipeline::new(deploy, meta(Some((Tier::Production, true))), t(0));
    p.pre_approve(&actor("bob", Role::Admin), t(1)).unwrap();
    assert_eq!(
        status(&p, "deploy", "rollout"),
        JobStatus::Pending,
        "stage 1 has not started"
    );

    let fx = run(&mut p, "build", "compile", Outcome::Succeeded, 10);

    assert_eq!(
        enqueued(&p, &fx),
        ["rollout"],
        "the approved job runs; the one with its own gate does not"
    );
    assert_eq!(status(&p, "deploy", "gate"), JobStatus::WaitingApproval);
    let rollout = p.find("deploy", "rollout").unwrap();
    assert_eq!(
        (rollout.approved_by.as_deref(), rollout.approved_at),
        (Some("bob"), Some(t(1)))
    );
}

#[test]
fn a_manual_retry_of_a_pre_approved_job_waits_for_a_new_approval() {
    let deploy = spec(json!([{"name": "deploy", "jobs": [{"name": "rollout"}]}]));
    let (mut p, _) = Pipeline::new(deploy, meta(Some((Tier::Production, true))), t(0));
    p.pre_approve(&actor("bob", Role::Admin), t(1)).unwrap();
    run(&mut p, "deploy", "rollout", failed("boom"), 10);
    assert_eq!(p.status, PipelineStatus::Failed);

    let rollout = id(&p, "deploy", "rollout");
    let fx = p.retry_job(rollout, t(100)).unwrap();

    assert!(enqueued(&p, &fx).is_empty(), "a retry is a new decision");
    assert_eq!(status(&p, "deploy", "rollout"), JobStatus::WaitingApproval);
    assert_eq!(p.job(rollout).unwrap().approved_by, None);
}
