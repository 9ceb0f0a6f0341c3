use prost_types::Timestamp;

use super::*;

/// A protected production environment, or an unprotected staging one.
fn environment(production: bool) -> EnvironmentFacts {
    EnvironmentFacts {
        production_tier: production,
        protected: production,
    }
}

fn job(name: &str, status: pb::JobStatus, reason: &str) -> pb::Job {
    pb::Job {
        id: format!("job-{name}"),
        name: name.into(),
        status: status.into(),
        attempt: 1,
        exit_reason: reason.into(),
        ..Default::default()
    }
}

fn run(status: pb::PipelineStatus, environment: &str, jobs: Vec<pb::Job>) -> pb::Pipeline {
    pb::Pipeline {
        id: "0190a6e4-0000-7000-8000-000000000042".into(),
        project: "api".into(),
        number: 42,
        environment: environment.into(),
        version: if environment.is_empty() { "" } else { "2.5.0" }.into(),
        triggered_by: "ops-1".into(),
        status: status.into(),
        finished_at: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 5,
        }),
        stages: vec![pb::Stage {
            name: "build".into(),
            jobs,
        }],
        ..Default::default()
    }
}

fn updated(pipeline: pb::Pipeline) -> pb::Event {
    pb::Event {
        id: "17".into(),
        r#type: pb::EventType::PipelineUpdated.into(),
        pipeline: Some(pipeline),
        ..Default::default()
    }
}

#[test]
fn only_failures_finished_deploys_and_waiting_approvals_are_noticed() {
    let failed = job("unit", pb::JobStatus::Failed, "exit code 1");
    let cases = [
        (
            run(pb::PipelineStatus::Failed, "", vec![failed.clone()]),
            Some(Happened::RunFailed),
        ),
        (run(pb::PipelineStatus::Succeeded, "", vec![]), None),
        (run(pb::PipelineStatus::Running, "", vec![]), None),
        (run(pb::PipelineStatus::Cancelled, "staging", vec![]), None),
        (
            run(pb::PipelineStatus::Succeeded, "staging", vec![]),
            Some(Happened::DeployFinished { succeeded: true }),
        ),
        (
            run(pb::PipelineStatus::Failed, "production", vec![failed]),
            Some(Happened::DeployFinished { succeeded: false }),
        ),
        (
            run(pb::PipelineStatus::WaitingApproval, "production", vec![]),
            Some(Happened::ApprovalWaiting),
        ),
    ];
    for (pipeline, want) in cases {
        let got = noticed(&updated(pipeline.clone())).map(|n| n.happened);
        assert_eq!(got, want, "{pipeline:?}");
    }
    let mut job_event = updated(run(pb::PipelineStatus::Failed, "", vec![]));
    job_event.r#type = pb::EventType::JobUpdated.into();
    assert!(noticed(&job_event).is_none(), "a job's event is not a run's");
}

#[test]
fn the_key_is_the_same_for_one_occurrence_and_new_for_the_next() {
    let failed = run(pb::PipelineStatus::Failed, "", vec![]);
    let key = |p: &pb::Pipeline| noticed(&updated(p.clone())).unwrap().key;
    let mut copy = updated(failed.clone());
    copy.id = "99".into();
    assert_eq!(
        noticed(&copy).unwrap().key,
        key(&failed),
        "another event id, the same failure"
    );
    let mut again = failed.clone();
    again.finished_at = Some(Timestamp {
        seconds: 1_700_000_100,
        nanos: 0,
    });
    assert_ne!(key(&again), key(&failed), "failed again after a retry");
    let waiting = |attempt| {
        let mut gated = job("rollout", pb::JobStatus::WaitingApproval, "");
        gated.attempt = attempt;
        run(pb::PipelineStatus::WaitingApproval, "production", vec![gated])
    };
    assert_eq!(key(&waiting(1)), key(&waiting(1)));
    assert_ne!(key(&waiting(1)), key(&waiting(2)), "a new attempt waits anew");
    assert!(key(&failed).as_str().starts_with("notice:run_failed:"));
    assert!(key(&failed).as_str().len() <= 64);
}

#[test]
fn a_failed_run_offers_its_retry_to_operators_and_admins() {
    let failed = job("unit", pb::JobStatus::Failed, "exit code 1 token=hunter2secret");
    let notice = noticed(&updated(run(pb::PipelineStatus::Failed, "", vec![failed]))).unwrap();
    let (text, payload) = notice.render(None);
    assert!(text.starts_with("api#42 failed: build/unit: exit code 1"), "{text}");
    assert!(text.ends_with("Type `retry api#42` to retry it."), "{text}");
    assert!(!text.contains("hunter2secret"), "secrets are masked: {text}");
    assert_eq!(payload["notice"], "run_failed");
    assert_eq!(
        payload["offer"],
        json!({"intent": "retry", "command": "retry api#42", "risk": "medium", "roles": ["operator", "admin"]})
    );
    assert_eq!(notice.room, RoomId::project("api").unwrap());
}

#[test]
fn deploys_say_where_and_what_and_approvals_offer_the_card_to_who_may_decide() {
    let done = noticed(&updated(run(pb::PipelineStatus::Succeeded, "staging", vec![]))).unwrap();
    let (text, payload) = done.render(Some(environment(false)));
    assert_eq!(text, "api 2.5.0 is deployed to staging (api#42).");
    assert_eq!(payload["offer"], Value::Null);
    assert_eq!(payload["run"]["environment"], "staging");

    let failed = job("rollout", pb::JobStatus::TimedOut, "");
    let broken = noticed(&updated(run(pb::PipelineStatus::Failed, "production", vec![failed]))).unwrap();
    let (text, payload) = broken.render(Some(environment(true)));
    assert!(
        text.starts_with("Deploying api 2.5.0 to production failed (api#42): build/rollout."),
        "{text}"
    );
    assert_eq!(payload["offer"]["risk"], "high");

    let gated = job("rollout", pb::JobStatus::WaitingApproval, "");
    let waiting = noticed(&updated(run(
        pb::PipelineStatus::WaitingApproval,
        "production",
        vec![gated],
    )))
    .unwrap();
    let (text, payload) = waiting.render(Some(environment(true)));
    assert!(
        text.contains("waits for an approval to deploy 2.5.0 to production (rollout)"),
        "{text}"
    );
    assert!(text.contains("not by ops-1"), "{text}");
    assert_eq!(payload["offer"]["roles"], json!(["admin"]));
    assert_eq!(payload["offer"]["risk"], "critical");
    let (_, staging) = waiting.render(Some(environment(false)));
    assert_eq!(staging["offer"]["roles"], json!(["operator", "admin"]));
    let (_, unknown) = waiting.render(None);
    assert_eq!(
        unknown["offer"]["roles"],
        json!(["admin"]),
        "an unknown environment is the worst case"
    );
}
