//! Merging deliveries into a tracked run: any order gives the same run, statuses only move forward, the run's status
//! and commit follow its deliveries, the job cap holds, and nothing acts on a tracked run.

use super::*;

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
