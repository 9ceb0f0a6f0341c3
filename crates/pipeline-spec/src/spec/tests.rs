use serde_json::json;

use super::*;

fn job(name: &str) -> JobInput {
    JobInput {
        name: name.into(),
        executor: "simulate".into(),
        ..Default::default()
    }
}

fn stage(name: &str, jobs: Vec<JobInput>) -> StageInput {
    StageInput {
        name: name.into(),
        jobs,
    }
}

fn one_job(edit: impl FnOnce(&mut JobInput)) -> PipelineInput {
    let mut j = job("unit");
    edit(&mut j);
    PipelineInput {
        stages: vec![stage("build", vec![job("compile")]), stage("test", vec![j])],
    }
}

#[test]
fn the_issue_example_parses_with_defaults() {
    let raw: PipelineInput = serde_json::from_value(json!({"stages": [
        {"name": "build", "jobs": [{"name": "compile", "executor": "simulate", "params": {"durationMs": 800, "failRate": 0}}]},
        {"name": "test", "jobs": [{"name": "unit", "executor": "simulate"}, {"name": "lint", "executor": "simulate"}]},
        {"name": "deploy", "jobs": [{"name": "rollout", "executor": "simulate"}]}
    ]}))
    .unwrap();
    let spec = PipelineSpec::parse(&raw).unwrap();
    let names: Vec<_> = spec.stages().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["build", "test", "deploy"]);
    let compile = &spec.stages()[0].jobs[0];
    assert_eq!(
        compile.executor,
        ExecutorSpec::Simulate(SimulateParams {
            duration_ms: 800,
            fail_rate: 0.0,
            log_lines: 10
        })
    );
    assert_eq!(compile.timeout_s, DEFAULT_TIMEOUT_S);
    assert_eq!(compile.retry, RetryPolicy::default());
    assert_eq!(compile.retry.max_attempts(), 1);
    assert!(!compile.allow_failure && !compile.requires_approval);
}

#[test]
fn invalid_fields_are_named_by_their_path() {
    let cases: Vec<(&str, PipelineInput, &str)> = vec![
        ("no stages", PipelineInput::default(), "stages"),
        (
            "empty stage",
            PipelineInput {
                stages: vec![stage("build", vec![])],
            },
            "stages[0].jobs",
        ),
        (
            "bad stage name",
            PipelineInput {
                stages: vec![stage("Build", vec![job("a")])],
            },
            "stages[0].name",
        ),
        (
            "duplicate stage",
            PipelineInput {
                stages: vec![stage("b", vec![job("a")]), stage("b", vec![job("a")])],
            },
            "stages[1].name",
        ),
        (
            "bad job name",
            one_job(|j| j.name = "-unit".into()),
            "stages[1].jobs[0].name",
        ),
        (
            "empty job name",
            one_job(|j| j.name = String::new()),
            "stages[1].jobs[0].name",
        ),
        (
            "long job name",
            one_job(|j| j.name = "a".repeat(64)),
            "stages[1].jobs[0].name",
        ),
        (
            "duplicate job",
            PipelineInput {
                stages: vec![stage("b", vec![job("a"), job("a")])],
            },
            "stages[0].jobs[1].name",
        ),
        (
            "unknown executor",
            one_job(|j| j.executor = "docker".into()),
            "stages[1].jobs[0].executor",
        ),
        (
            "params not an object",
            one_job(|j| j.params = json!("fast")),
            "stages[1].jobs[0].params",
        ),
        (
            "zero timeout",
            one_job(|j| j.timeout_s = Some(0)),
            "stages[1].jobs[0].timeout_s",
        ),
        (
            "timeout over a day",
            one_job(|j| j.timeout_s = Some(86_401)),
            "stages[1].jobs[0].timeout_s",
        ),
        (
            "eleven attempts",
            one_job(|j| {
                j.retry = Some(RetryInput {
                    max_attempts: Some(11),
                    ..Default::default()
                })
            }),
            "stages[1].jobs[0].retry.max_attempts",
        ),
        (
            "backoff too short",
            one_job(|j| {
                j.retry = Some(RetryInput {
                    initial_backoff_ms: Some(99),
                    ..Default::default()
                })
            }),
            "stages[1].jobs[0].retry.initial_backoff_ms",
        ),
        (
            "max below initial",
            one_job(|j| {
                j.retry = Some(RetryInput {
                    initial_backoff_ms: Some(5000),
                    max_backoff_ms: Some(4000),
                    ..Default::default()
                })
            }),
            "stages[1].jobs[0].retry.max_backoff_ms",
        ),
        (
            "http without url",
            one_job(|j| j.executor = "http".into()),
            "stages[1].jobs[0].params.url",
        ),
    ];
    for (case, raw, path) in cases {
        let err = PipelineSpec::parse(&raw).expect_err(case);
        assert_eq!(err.path, path, "{case}: {err}");
        assert!(err.to_string().starts_with(&format!("{path}: ")), "{case}: {err}");
    }
}

#[test]
fn valid_edges_are_accepted() {
    let raw = one_job(|j| {
        j.name = format!("a{}", "-".repeat(62));
        j.timeout_s = Some(86_400);
        j.retry = Some(RetryInput {
            max_attempts: Some(10),
            initial_backoff_ms: Some(600_000),
            max_backoff_ms: None,
        });
        j.executor = String::new();
    });
    let spec = PipelineSpec::parse(&raw).unwrap();
    let j = &spec.stages()[1].jobs[0];
    assert_eq!(j.timeout_s, 86_400);
    assert_eq!(
        (
            j.retry.max_attempts(),
            j.retry.initial_backoff_ms(),
            j.retry.max_backoff_ms()
        ),
        (10, 600_000, 600_000)
    );
    assert_eq!(j.executor.kind(), ExecutorKind::Simulate);
}

#[test]
fn a_pipeline_of_201_jobs_is_rejected_naming_the_limit() {
    let stages = (0..5)
        .map(|s| {
            stage(
                &format!("s{s}"),
                (0..if s == 0 { 41 } else { 40 })
                    .map(|j| job(&format!("j{j}")))
                    .collect(),
            )
        })
        .collect();
    let err = PipelineSpec::parse(&PipelineInput { stages }).unwrap_err();
    assert_eq!(err.path, "stages");
    assert!(
        err.message.contains("at most 200 jobs") && err.message.contains("201"),
        "{err}"
    );
}

#[test]
fn exactly_200_jobs_are_accepted() {
    let stages = (0..4)
        .map(|s| stage(&format!("s{s}"), (0..50).map(|j| job(&format!("j{j}"))).collect()))
        .collect();
    assert!(PipelineSpec::parse(&PipelineInput { stages }).is_ok());
}

#[test]
fn stage_and_per_stage_limits_name_the_limit() {
    let many_stages = (0..21).map(|s| stage(&format!("s{s}"), vec![job("a")])).collect();
    let err = PipelineSpec::parse(&PipelineInput { stages: many_stages }).unwrap_err();
    assert_eq!(
        (err.path.as_str(), err.message.contains("at most 20 stages")),
        ("stages", true),
        "{err}"
    );

    let wide = vec![stage("s", (0..51).map(|j| job(&format!("j{j}"))).collect())];
    let err = PipelineSpec::parse(&PipelineInput { stages: wide }).unwrap_err();
    assert_eq!(
        (err.path.as_str(), err.message.contains("at most 50 jobs per stage")),
        ("stages[0].jobs", true),
        "{err}"
    );
}

#[test]
fn wrong_json_types_fail_to_decode_instead_of_panicking() {
    let err = serde_json::from_value::<PipelineInput>(json!({"stages": [{"name": 123}]})).unwrap_err();
    assert!(err.to_string().contains("invalid type"), "{err}");
}

#[test]
fn backoff_doubles_up_to_the_maximum() {
    let raw = RetryInput {
        max_attempts: Some(6),
        initial_backoff_ms: Some(1000),
        max_backoff_ms: Some(5000),
    };
    let policy = RetryPolicy::parse("retry", &raw).unwrap();
    let waits: Vec<i64> = (1..=5).map(|a| policy.backoff(a).num_milliseconds()).collect();
    assert_eq!(waits, [1000, 2000, 4000, 5000, 5000]);
    assert_eq!(policy.backoff(64).num_milliseconds(), 5000);
}
