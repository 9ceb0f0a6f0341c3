//! Approval gates: which jobs wait for an approval (the environment's gate on a deploy's last stage, a job's own
//! `requires_approval`, the two adding up) and what one approval releases.

use serde_json::json;

use super::approval_tests::{actor, waiting_deploy};
use super::tests::{enqueued, failed, id, meta, run, spec, status, t, three_stages};
use crate::domain::external::{ExternalJobInput, ExternalRun, ExternalRunInput};
use crate::domain::*;

/// The reproduction: a last stage `deploy` with an explicit `gate` and an ungated `rollout`.
fn gate_and_rollout() -> PipelineSpec {
    spec(json!([
        {"name": "deploy", "jobs": [{"name": "gate", "requires_approval": true}, {"name": "rollout"}]}
    ]))
}

#[test]
fn a_protected_deploy_waits_for_approval_at_its_last_stage() {
    let (p, rollout) = waiting_deploy(Tier::Staging, true);
    assert_eq!(p.job(rollout).unwrap().status, JobStatus::WaitingApproval);
    assert_eq!(p.status, PipelineStatus::WaitingApproval);
}

#[test]
fn an_explicit_gate_does_not_let_the_rest_of_a_protected_deploy_stage_run() {
    for tier in [Tier::Production, Tier::Staging] {
        let (p, fx) = Pipeline::new(gate_and_rollout(), meta(Some((tier, true))), t(0));

        assert_eq!(enqueued(&p, &fx), Vec::<String>::new(), "{tier:?}: nothing runs");
        assert_eq!(
            (status(&p, "deploy", "gate"), status(&p, "deploy", "rollout")),
            (JobStatus::WaitingApproval, JobStatus::WaitingApproval),
            "{tier:?}"
        );
        assert_eq!(p.status, PipelineStatus::WaitingApproval);
    }
}

#[test]
fn a_production_deploy_is_gated_even_when_its_environment_is_not_protected() {
    let (p, fx) = Pipeline::new(three_stages(), meta(Some((Tier::Production, false))), t(0));
    assert_eq!(enqueued(&p, &fx), ["compile"]);
    assert!(p.find("deploy", "rollout").unwrap().gated);

    let (p, rollout) = waiting_deploy(Tier::Production, false);
    assert_eq!(p.job(rollout).unwrap().status, JobStatus::WaitingApproval);
}

#[test]
fn requires_approval_gates_only_the_jobs_that_ask_for_it_outside_gated_environments() {
    let s = spec(json!([
        {"name": "build", "jobs": [{"name": "compile", "requires_approval": true}, {"name": "docs"}]},
        {"name": "deploy", "jobs": [{"name": "rollout"}]}
    ]));
    let (mut p, fx) = Pipeline::new(s, meta(Some((Tier::Staging, false))), t(0));
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
        "an unprotected staging deploy is not gated"
    );
}

#[test]
fn an_explicit_gate_in_an_earlier_stage_adds_to_the_environment_gate_instead_of_replacing_it() {
    let s = spec(json!([
        {"name": "build", "jobs": [{"name": "compile", "requires_approval": true}]},
        {"name": "deploy", "jobs": [{"name": "rollout"}]}
    ]));
    let (mut p, _) = Pipeline::new(s, meta(Some((Tier::Production, true))), t(0));
    p.approve(id(&p, "build", "compile"), &actor("bob", Role::Admin), t(30))
        .unwrap();

    let fx = run(&mut p, "build", "compile", Outcome::Succeeded, 40);

    assert!(enqueued(&p, &fx).is_empty(), "the deploy stage still waits");
    assert_eq!(status(&p, "deploy", "rollout"), JobStatus::WaitingApproval);
}

#[test]
fn one_approval_opens_the_deploy_stage_but_an_explicit_gate_there_waits_for_its_own() {
    let (mut p, _) = Pipeline::new(gate_and_rollout(), meta(Some((Tier::Production, true))), t(0));
    let (gate, rollout) = (id(&p, "deploy", "gate"), id(&p, "deploy", "rollout"));

    let fx = p.approve(rollout, &actor("bob", Role::Admin), t(100)).unwrap();

    assert_eq!(enqueued(&p, &fx), ["rollout"]);
    assert_eq!(p.job(gate).unwrap().status, JobStatus::WaitingApproval);
    let fx = p.approve(gate, &actor("carol", Role::Admin), t(200)).unwrap();
    assert_eq!(enqueued(&p, &fx), ["gate"]);
}

#[test]
fn approving_the_explicit_gate_of_a_protected_deploy_releases_the_whole_stage_recording_who_and_when() {
    let (mut p, _) = Pipeline::new(gate_and_rollout(), meta(Some((Tier::Production, true))), t(0));

    let fx = p
        .approve(id(&p, "deploy", "gate"), &actor("bob", Role::Admin), t(100))
        .unwrap();

    assert_eq!(enqueued(&p, &fx), ["gate", "rollout"]);
    for name in ["gate", "rollout"] {
        let j = p.find("deploy", name).unwrap();
        assert_eq!(
            (j.status, j.approved_by.as_deref(), j.approved_at),
            (JobStatus::Queued, Some("bob"), Some(t(100))),
            "{name}"
        );
    }
    assert_eq!(p.status, PipelineStatus::Queued);
}

#[test]
fn rejecting_a_gate_fails_the_deploy_and_nothing_of_its_stage_ever_runs() {
    let (mut p, _) = Pipeline::new(gate_and_rollout(), meta(Some((Tier::Production, true))), t(0));

    let fx = p
        .reject(
            id(&p, "deploy", "gate"),
            &actor("bob", Role::Admin),
            "not today",
            t(100),
        )
        .unwrap();

    assert!(enqueued(&p, &fx).is_empty());
    assert_eq!(
        (p.status, status(&p, "deploy", "gate"), status(&p, "deploy", "rollout")),
        (PipelineStatus::Failed, JobStatus::Failed, JobStatus::Cancelled)
    );
    assert!(matches!(
        p.approve(id(&p, "deploy", "rollout"), &actor("bob", Role::Admin), t(200)),
        Err(TransitionError::PipelineState { .. })
    ));
}

#[test]
fn a_retry_made_by_the_job_s_own_policy_keeps_its_approval() {
    let s = spec(json!([
        {"name": "deploy", "jobs": [{"name": "rollout", "retry": {"max_attempts": 2}}]}
    ]));
    let (mut p, _) = Pipeline::new(s, meta(Some((Tier::Production, true))), t(0));
    let rollout = id(&p, "deploy", "rollout");
    p.approve(rollout, &actor("bob", Role::Admin), t(100)).unwrap();

    let fx = run(&mut p, "deploy", "rollout", failed("exit 1"), 200);

    assert_eq!(enqueued(&p, &fx), ["rollout"], "attempt 2 is queued, not gated again");
    let j = p.job(rollout).unwrap();
    assert_eq!(
        (j.status, j.attempt, j.approved_by.as_deref(), j.approved_at),
        (JobStatus::Queued, 2, Some("bob"), Some(t(100)))
    );
}

#[test]
fn a_pipeline_stored_before_the_gate_rule_changed_is_gated_when_its_deploy_stage_starts() {
    let (mut p, _) = Pipeline::new(three_stages(), meta(Some((Tier::Production, false))), t(0));
    // As the old rule stored it: a production deploy without the protected flag was not gated.
    p.stages[2].jobs[0].gated = false;
    run(&mut p, "build", "compile", Outcome::Succeeded, 0);
    run(&mut p, "test", "unit", Outcome::Succeeded, 20);

    let fx = run(&mut p, "test", "lint", Outcome::Succeeded, 40);

    assert!(enqueued(&p, &fx).is_empty());
    assert_eq!(status(&p, "deploy", "rollout"), JobStatus::WaitingApproval);
}

#[test]
fn a_run_tracked_from_github_is_never_gated_and_refuses_approvals() {
    let input = ExternalRunInput {
        external_id: "42".into(),
        external_url: "https://github.com/o/r/actions/runs/42".into(),
        name: "Deploy".into(),
        status: Some(PipelineStatus::Running),
        created_at: Some(t(0)),
        jobs: vec![ExternalJobInput {
            external_id: "7".into(),
            name: "rollout".into(),
            status: Some(JobStatus::Queued),
            external_url: "https://github.com/o/r/actions/runs/42/job/7".into(),
            ..ExternalJobInput::default()
        }],
        ..ExternalRunInput::default()
    };
    let mut meta = meta(Some((Tier::Production, true)));
    meta.source = Source::Github {
        external_url: input.external_url.clone(),
        external_id: "42".into(),
    };

    let (mut p, _) = Pipeline::track(&ExternalRun::parse(&input).unwrap(), meta, t(0)).unwrap();

    let j = &p.stages[0].jobs[0];
    assert_eq!((j.status, j.gated), (JobStatus::Queued, false));
    assert!(!p.stage_gated_by_environment(0));
    let job = j.id;
    assert!(matches!(
        p.approve(job, &actor("bob", Role::Admin), t(10)),
        Err(TransitionError::Tracked { .. })
    ));
}
