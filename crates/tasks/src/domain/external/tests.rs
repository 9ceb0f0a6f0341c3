use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;
use crate::domain::{Outcome, Trigger};

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap() + TimeDelta::seconds(s)
}

fn meta() -> PipelineMeta {
    PipelineMeta {
        project: "api".into(),
        target: None,
        trigger: Trigger::Webhook,
        triggered_by: "github:octocat".into(),
        idempotency_key: Some("gh:42".into()),
        source: Source::Github {
            external_url: String::new(),
            external_id: "42".into(),
        },
        commit: None,
    }
}

fn job(id: &str, name: &str, status: JobStatus, started: Option<i64>, finished: Option<i64>) -> ExternalJobInput {
    ExternalJobInput {
        external_id: id.into(),
        name: name.into(),
        status: Some(status),
        started_at: started.map(t),
        finished_at: finished.map(t),
        external_url: format!("https://github.com/o/r/actions/runs/42/job/{id}"),
    }
}

fn run(status: Option<PipelineStatus>, jobs: Vec<ExternalJobInput>) -> ExternalRunInput {
    ExternalRunInput {
        external_id: "42".into(),
        external_url: "https://github.com/o/r/actions/runs/42".into(),
        name: "CI / Build & Test".into(),
        status,
        created_at: Some(t(0)),
        jobs,
        ..ExternalRunInput::default()
    }
}

fn parsed(raw: &ExternalRunInput) -> ExternalRun {
    ExternalRun::parse(raw).unwrap()
}

/// Applies the deliveries in order: the first creates the run. Returns the run and every effect.
fn apply(deliveries: &[&ExternalRun]) -> (Pipeline, Vec<Effect>) {
    let now = t(1000);
    let (mut p, mut fx) = Pipeline::track(deliveries[0], meta(), now).unwrap();
    for d in &deliveries[1..] {
        fx.extend(p.merge_external(d, now).unwrap());
    }
    (p, fx)
}

/// What a run looks like, without the ids DevOpsTrack generated.
fn shape(p: &Pipeline) -> String {
    let jobs: Vec<String> = p.stages[0]
        .jobs
        .iter()
        .map(|j| {
            format!(
                "{}={:?}/{:?}/{:?}/{:?}/{:?}",
                j.spec.name, j.status, j.started_at, j.finished_at, j.exit_reason, j.spec.executor
            )
        })
        .collect();
    format!(
        "{} {:?} {:?} {:?} {:?} {:?} {jobs:#?}",
        p.stages[0].name, p.status, p.created_at, p.started_at, p.finished_at, p.meta
    )
}

fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            out.push(tail);
        }
    }
    out
}

#[test]
fn every_order_of_the_same_deliveries_ends_in_the_same_run() {
    use JobStatus::*;
    let deliveries = [
        run(Some(PipelineStatus::Queued), vec![]),
        run(None, vec![job("1001", "build", Queued, Some(5), None)]),
        run(
            None,
            vec![
                job("1001", "build", Running, Some(10), None),
                job("1002", "test", Queued, Some(11), None),
            ],
        ),
        run(None, vec![job("1002", "test", Succeeded, Some(12), Some(40))]),
        run(None, vec![job("1003", "test", Running, Some(13), None)]),
        run(
            Some(PipelineStatus::Failed),
            vec![
                job("1001", "build", Failed, Some(10), Some(50)),
                job("1003", "test", Succeeded, Some(13), Some(45)),
            ],
        ),
    ]
    .map(|r| parsed(&r));
    let refs: Vec<&ExternalRun> = deliveries.iter().collect();

    let (expected, _) = apply(&refs);
    let orders = permutations(&refs);
    assert_eq!(orders.len(), 720);
    for order in orders {
        let (p, fx) = apply(&order);
        assert_eq!(shape(&p), shape(&expected), "a different order gave a different run");
        assert!(
            fx.iter().all(|e| matches!(e, Effect::Event(_))),
            "merging never enqueues: {fx:?}"
        );
    }

    assert_eq!(expected.stages[0].name.as_str(), "ci-build-test");
    let names: Vec<&str> = expected.stages[0].jobs.iter().map(|j| j.spec.name.as_str()).collect();
    assert_eq!(names, ["build", "test", "test-2"], "sorted by id, collisions numbered");
    let statuses: Vec<JobStatus> = expected.stages[0].jobs.iter().map(|j| j.status).collect();
    assert_eq!(statuses, [Failed, Succeeded, Succeeded]);
    assert_eq!(expected.status, PipelineStatus::Failed);
    assert_eq!(expected.started_at, Some(t(10)), "the first job that started");
    assert_eq!(expected.finished_at, Some(t(50)), "the last job that finished");
    assert_eq!(
        expected.stages[0].jobs[0].exit_reason.as_deref(),
        Some("failed on GitHub")
    );
}

#[test]
fn a_status_never_moves_backwards() {
    let first = parsed(&run(
        Some(PipelineStatus::Succeeded),
        vec![job("1", "build", JobStatus::Succeeded, Some(1), Some(2))],
    ));
    let (mut p, _) = Pipeline::track(&first, meta(), t(100)).unwrap();

    let late = parsed(&run(
        Some(PipelineStatus::Running),
        vec![job("1", "build", JobStatus::Queued, Some(1), None)],
    ));
    let fx = p.merge_external(&late, t(101)).unwrap();

    assert!(fx.is_empty(), "an old delivery changes nothing: {fx:?}");
    assert_eq!(p.status, PipelineStatus::Succeeded);
    assert_eq!(p.stages[0].jobs[0].status, JobStatus::Succeeded);
    assert_eq!(p.stages[0].jobs[0].finished_at, Some(t(2)));

    let running = parsed(&run(None, vec![job("2", "lint", JobStatus::Running, Some(3), None)]));
    p.merge_external(&running, t(102)).unwrap();
    let queued_again = parsed(&run(None, vec![job("2", "lint", JobStatus::Queued, Some(3), None)]));
    p.merge_external(&queued_again, t(103)).unwrap();
    assert_eq!(
        p.stages[0].jobs[1].status,
        JobStatus::Running,
        "running does not go back to queued"
    );
}

#[test]
fn the_run_status_is_derived_from_jobs_but_turns_final_only_when_the_source_says_so() {
    let (mut p, fx) = Pipeline::track(&parsed(&run(None, vec![])), meta(), t(100)).unwrap();
    assert_eq!(p.status, PipelineStatus::Queued);
    assert_eq!(
        fx,
        [Effect::Event(StateChange::Pipeline {
            from: PipelineStatus::Queued,
            to: PipelineStatus::Queued
        })],
        "a new run is announced even before its first job"
    );

    let done = parsed(&run(
        None,
        vec![job("1", "build", JobStatus::Succeeded, Some(1), Some(2))],
    ));
    p.merge_external(&done, t(101)).unwrap();
    assert_eq!(p.status, PipelineStatus::Running, "more jobs may come");
    assert_eq!(p.finished_at, None);

    let finished = parsed(&run(Some(PipelineStatus::Succeeded), vec![]));
    let fx = p.merge_external(&finished, t(102)).unwrap();
    assert_eq!(p.status, PipelineStatus::Succeeded);
    assert_eq!(p.finished_at, Some(t(2)), "no finish given: the last job's");
    assert_eq!(
        fx,
        [Effect::Event(StateChange::Pipeline {
            from: PipelineStatus::Running,
            to: PipelineStatus::Succeeded
        })]
    );
}

#[test]
fn tracked_runs_refuse_every_transition_that_would_act_on_them() {
    let first = parsed(&run(None, vec![job("1", "build", JobStatus::Queued, None, None)]));
    let (mut p, _) = Pipeline::track(&first, meta(), t(100)).unwrap();
    let j = p.stages[0].jobs[0].id;
    let admin = crate::domain::Actor {
        subject: "admin".into(),
        role: crate::domain::Role::Admin,
    };
    let before = p.clone();

    let refusals = [
        p.start_job(j, 1, "w1", t(101)),
        p.finish_job(j, 1, Outcome::Succeeded, t(101)),
        p.lease_lapsed(j, 1, t(101)),
        p.cancel("admin", t(101)),
        p.approve(j, &admin, t(101)),
        p.reject(j, &admin, "no", t(101)),
        p.retry_job(j, t(101)),
    ];

    for r in refusals {
        let err = r.unwrap_err();
        assert!(matches!(err, TransitionError::Tracked { .. }), "{err:?}");
        assert!(err.to_string().contains("tracked from GitHub"), "{err}");
        assert!(err.to_string().contains("act there"), "{err}");
    }
    assert_eq!(p, before, "nothing changed");
}

#[test]
fn a_run_holds_at_most_200_jobs_over_all_its_deliveries() {
    let jobs = |from: usize, n: usize| {
        (from..from + n)
            .map(|i| job(&i.to_string(), "matrix", JobStatus::Queued, None, None))
            .collect::<Vec<_>>()
    };
    let (mut p, _) = Pipeline::track(&parsed(&run(None, jobs(0, 150))), meta(), t(100)).unwrap();
    p.merge_external(&parsed(&run(None, jobs(100, 100))), t(101)).unwrap();
    assert_eq!(p.stages[0].jobs.len(), 200);
    let names: HashSet<&str> = p.stages[0].jobs.iter().map(|j| j.spec.name.as_str()).collect();
    assert_eq!(names.len(), 200, "every name is unique in its stage");

    let before = p.clone();
    let err = p.merge_external(&parsed(&run(None, jobs(199, 2))), t(102)).unwrap_err();
    assert_eq!(
        err,
        TransitionError::TooManyJobs {
            max: 200,
            have: 200,
            adding: 1
        }
    );
    assert_eq!(p, before);

    let too_many = ExternalRun::parse(&run(None, jobs(0, 201))).unwrap_err();
    assert_eq!(too_many.path, "jobs");
}

#[test]
fn slugs_are_valid_names_whatever_the_source_calls_things() {
    let cases = [
        ("CI / Build & Test", "ci-build-test"),
        ("build (ubuntu-latest, 1.75)", "build-ubuntu-latest-1.75"),
        ("  --Déploiement prod--  ", "d-ploiement-prod"),
        ("___", "job"),
        ("日本語", "job"),
        ("Lint_all.the.things", "lint_all.the.things"),
    ];
    for (raw, want) in cases {
        assert_eq!(slug(raw, "job", 58), want, "{raw:?}");
    }
    let long = slug(&"a".repeat(300), "job", 58);
    assert_eq!(long.len(), 58);
    for raw in ["x".repeat(200), "-a-".repeat(70), "Ab ".repeat(70)] {
        let s = slug(&raw, "job", 58);
        assert!(Name::parse(&format!("{s}-200")).is_ok(), "{s}");
    }
}

#[test]
fn bad_deliveries_name_the_field() {
    let ok = run(None, vec![job("1", "build", JobStatus::Queued, None, None)]);
    let cases: Vec<(ExternalRunInput, &str)> = vec![
        (
            ExternalRunInput {
                external_id: String::new(),
                ..ok.clone()
            },
            "externalId",
        ),
        (
            ExternalRunInput {
                external_id: "x".repeat(129),
                ..ok.clone()
            },
            "externalId",
        ),
        (
            ExternalRunInput {
                external_id: "a b".into(),
                ..ok.clone()
            },
            "externalId",
        ),
        (
            ExternalRunInput {
                name: " ".into(),
                ..ok.clone()
            },
            "name",
        ),
        (
            ExternalRunInput {
                name: "x".repeat(201),
                ..ok.clone()
            },
            "name",
        ),
        (
            ExternalRunInput {
                external_url: "ftp://x".into(),
                ..ok.clone()
            },
            "externalUrl",
        ),
        (
            ExternalRunInput {
                status: Some(PipelineStatus::WaitingApproval),
                ..ok.clone()
            },
            "status",
        ),
        (
            run(None, vec![job("", "build", JobStatus::Queued, None, None)]),
            "jobs[0].externalId",
        ),
        (
            run(None, vec![job("1", "", JobStatus::Queued, None, None)]),
            "jobs[0].name",
        ),
        (
            run(None, vec![job("1", "b", JobStatus::Pending, None, None)]),
            "jobs[0].status",
        ),
        (
            run(None, vec![job("1", "b", JobStatus::WaitingApproval, None, None)]),
            "jobs[0].status",
        ),
        (
            run(
                None,
                vec![ExternalJobInput {
                    status: None,
                    ..job("1", "b", JobStatus::Queued, None, None)
                }],
            ),
            "jobs[0].status",
        ),
        (
            run(
                None,
                vec![ExternalJobInput {
                    external_url: "https://u:p@h/".into(),
                    ..job("1", "b", JobStatus::Queued, None, None)
                }],
            ),
            "jobs[0].externalUrl",
        ),
    ];
    for (raw, path) in cases {
        let err = ExternalRun::parse(&raw).unwrap_err();
        assert_eq!(err.path, path, "{err}");
    }
    assert!(ExternalRun::parse(&ok).is_ok());
}

#[test]
fn an_external_job_survives_the_executor_round_trip_and_is_refused_in_a_spec() {
    let r = ExternalJobRef {
        external_id: "1001".into(),
        name: "Build (ubuntu)".into(),
        url: "https://github.com/o/r/actions/runs/42/job/1001".into(),
    };
    let spec = ExecutorSpec::External(r.clone());
    let back = ExecutorSpec::parse("job", "external", &spec.params_json()).unwrap();
    assert_eq!(back, spec);

    let input = serde_json::from_value(serde_json::json!({"stages": [{"name": "b", "jobs": [
        {"name": "x", "executor": "external", "params": spec.params_json()}
    ]}]}))
    .unwrap();
    let err = crate::domain::PipelineSpec::parse(&input).unwrap_err();
    assert_eq!(err.path, "stages[0].jobs[0].executor");
}

#[test]
fn the_commit_is_added_by_any_delivery_and_never_erased_in_any_order() {
    let with_commit = |time: Option<DateTime<Utc>>| {
        let mut d = parsed(&run(None, vec![]));
        d.commit = crate::domain::CommitRef::parse("ABC1234", time, t(1000)).unwrap();
        d
    };
    let deliveries = [parsed(&run(None, vec![])), with_commit(None), with_commit(Some(t(-60)))];

    for order in permutations(&deliveries) {
        let (p, _) = apply(&order.iter().collect::<Vec<_>>());
        let commit = p.meta.commit.as_ref().expect("a commit");
        assert_eq!((commit.sha(), commit.time()), ("abc1234", Some(t(-60))), "{order:?}");
    }
    let (mut p, _) = apply(&[&deliveries[0]]);
    let fx = p.merge_external(&deliveries[2], t(1000)).unwrap();
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Event(StateChange::Pipeline { .. }))),
        "watchers see the commit arrive: {fx:?}"
    );
}
