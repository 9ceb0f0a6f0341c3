//! Reading a delivery: slugs that make valid names, a bad field named by its path, and the external job's executor
//! params, which a pipeline spec may not use.

use super::*;

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
