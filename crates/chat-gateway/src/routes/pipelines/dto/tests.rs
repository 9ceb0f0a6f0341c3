//! Unit tests of the pipeline DTOs: request bodies to tasks requests, answers to JSON, params both ways.

use chrono::{DateTime, Utc};
use prost_types::value::Kind;
use serde_json::{Value, json};

mod approvals;

use super::params::MAX_PARAMS_DEPTH;
use super::*;
use crate::error::ApiError;
use crate::extract::parse_json;

fn invalid_message<T: serde::de::DeserializeOwned + std::fmt::Debug>(body: &str) -> String {
    match parse_json::<T>(body.as_bytes()) {
        Err(ApiError::InvalidInput { message, .. }) => message,
        other => panic!("expected a 400 for {body}, got {other:?}"),
    }
}

const DOCUMENTED: &str = r#"{"project":"api","environment":"staging","version":"1.4.0",
    "commit":{"sha":"3f2a9c1d8e","time":"2025-06-01T09:12:00Z"},"stages":[
    {"name":"build","jobs":[{"name":"compile","executor":"simulate","params":{"durationMs":800,"failRate":0}}]},
    {"name":"test","jobs":[{"name":"unit","executor":"simulate"},{"name":"lint","executor":"simulate"}]},
    {"name":"deploy","jobs":[{"name":"rollout","executor":"simulate"}]}]}"#;

#[test]
fn the_documented_create_body_becomes_a_create_request() {
    let request = parse_json::<CreatePipelineBody>(DOCUMENTED.as_bytes())
        .unwrap()
        .into_proto(Utc::now())
        .unwrap();

    assert_eq!(
        (
            request.project.as_str(),
            request.environment.as_str(),
            request.version.as_str()
        ),
        ("api", "staging", "1.4.0")
    );
    assert_eq!(request.trigger, pb::Trigger::Api as i32, "the default trigger");
    assert_eq!(request.idempotency_key, "");
    assert_eq!(
        (request.commit_sha.as_str(), request.commit_time.map(|t| t.seconds)),
        ("3f2a9c1d8e", Some(1_748_769_120))
    );
    let shape: Vec<(&str, Vec<&str>)> = request
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.jobs.iter().map(|j| j.name.as_str()).collect()))
        .collect();
    assert_eq!(
        shape,
        [
            ("build", vec!["compile"]),
            ("test", vec!["unit", "lint"]),
            ("deploy", vec!["rollout"])
        ]
    );
    let compile = &request.stages[0].jobs[0];
    assert_eq!(compile.executor, pb::Executor::Simulate as i32);
    let params = compile.params.clone().unwrap();
    assert_eq!(
        params.fields["durationMs"].kind,
        Some(Kind::NumberValue(800.0)),
        "{params:?}"
    );
    assert_eq!(request.stages[1].jobs[0].params, None, "params omitted stay absent");
}

#[test]
fn job_options_reach_the_request() {
    let body = r#"{"project":"api","trigger":"chat","idempotencyKey":"k-1","stages":[{"name":"deploy","jobs":[
        {"name":"hook","executor":"http","params":{"url":"https://deploy.example.com"},"timeoutS":60,
         "retry":{"maxAttempts":3,"initialBackoffMs":500},"allowFailure":true,"requiresApproval":true}]}]}"#;

    let request = parse_json::<CreatePipelineBody>(body.as_bytes())
        .unwrap()
        .into_proto(Utc::now())
        .unwrap();

    assert_eq!(
        (request.trigger, request.idempotency_key.as_str()),
        (pb::Trigger::Chat as i32, "k-1")
    );
    let job = &request.stages[0].jobs[0];
    assert_eq!(job.executor, pb::Executor::Http as i32);
    assert_eq!(job.timeout_s, 60);
    assert_eq!(
        job.retry,
        Some(pb::RetryPolicy {
            max_attempts: 3,
            initial_backoff_ms: 500,
            max_backoff_ms: 0
        })
    );
    assert!(job.allow_failure && job.requires_approval);
}

#[test]
fn a_commit_is_lowercased_its_time_optional_and_its_absence_leaves_the_fields_empty() {
    let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc();
    let with = |commit: &str| {
        parse_json::<CreatePipelineBody>(format!(r#"{{"project":"api","stages":[]{commit}}}"#).as_bytes())
            .unwrap()
            .into_proto(now)
            .unwrap()
    };

    let upper = with(r#","commit":{"sha":"3484A3FB816E0859FD6E1CEA078D76385FF50625"}"#);
    let offset = with(r#","commit":{"sha":"3484a3f","time":"2026-03-01T13:00:00+01:00"}"#);
    let none = with("");
    let null = with(r#","commit":null"#);

    assert_eq!(
        (upper.commit_sha.as_str(), upper.commit_time),
        ("3484a3fb816e0859fd6e1cea078d76385ff50625", None)
    );
    assert_eq!(
        (offset.commit_sha.as_str(), offset.commit_time.map(|t| t.seconds)),
        ("3484a3f", Some(now.timestamp()))
    );
    for request in [none, null] {
        assert_eq!((request.commit_sha.as_str(), request.commit_time), ("", None));
    }
}

#[test]
fn a_bad_commit_is_refused_naming_commit_sha_or_commit_time() {
    let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc();
    let refused = |commit: &str| {
        let body = format!(r#"{{"project":"api","stages":[],"commit":{commit}}}"#);
        match parse_json::<CreatePipelineBody>(body.as_bytes()).and_then(|b| b.into_proto(now)) {
            Err(ApiError::InvalidInput { message, .. }) => message,
            other => panic!("expected a 400 for {commit}, got {other:?}"),
        }
    };
    for (commit, expected) in [
        (r#"{"sha":"abc"}"#, "commit.sha: must be 7 to 64 hex digits"),
        (r#"{"sha":"main-branch"}"#, "commit.sha: must be 7 to 64 hex digits"),
        (r#"{"sha":""}"#, "commit.sha: must be 7 to 64 hex digits"),
        (r#"{"sha":7}"#, "commit.sha: invalid type"),
        (r#"{"time":"2026-03-01T10:00:00Z"}"#, "commit: missing field `sha`"),
        (r#"{"sha":"3484a3f","time":"yesterday"}"#, "commit.time: "),
        (
            r#"{"sha":"3484a3f","time":"2026-03-01T12:06:00Z"}"#,
            "commit.time: must not be more than 5 minutes",
        ),
        (
            r#"{"sha":"3484a3f","time":"1999-12-31T23:59:59Z"}"#,
            "commit.time: must not be before 2000",
        ),
        (r#"{"sha":"3484a3f","author":"me"}"#, "unknown field `author`"),
        (r#""3484a3f""#, "commit: invalid type"),
    ] {
        let message = refused(commit);
        assert!(
            message.contains(expected),
            "{commit}: {message:?} should contain {expected:?}"
        );
    }
}

#[test]
fn wrong_types_unknown_enums_and_fields_name_the_field() {
    let job = |extra: &str| format!(r#"{{"project":"api","stages":[{{"name":"b","jobs":[{{"name":"j"{extra}}}]}}]}}"#);
    let cases = [
        (
            invalid_message::<CreatePipelineBody>(r#"{"project":"api","stages":"x"}"#),
            "stages: invalid type",
        ),
        (
            invalid_message::<CreatePipelineBody>(r#"{"project":123,"stages":[]}"#),
            "project: invalid type",
        ),
        (
            invalid_message::<CreatePipelineBody>(&job(r#","executor":"shell""#)),
            "stages[0].jobs[0].executor: unknown variant",
        ),
        (
            invalid_message::<CreatePipelineBody>(&job(r#","params":[1]"#)),
            "stages[0].jobs[0].params: invalid type",
        ),
        (
            invalid_message::<CreatePipelineBody>(&job(r#","timeoutS":-1"#)),
            "stages[0].jobs[0].timeoutS",
        ),
        (
            invalid_message::<CreatePipelineBody>(&job(r#","retry":{"attempts":2}"#)),
            "unknown field `attempts`",
        ),
        (
            invalid_message::<CreatePipelineBody>(&job(r#","command":"rm -rf /""#)),
            "unknown field `command`",
        ),
        (
            invalid_message::<CreatePipelineBody>(r#"{"project":"api","stages":[],"trigger":"cron"}"#),
            "trigger: unknown variant",
        ),
        (
            invalid_message::<CreatePipelineBody>(r#"{"project":"api"}"#),
            "missing field `stages`",
        ),
        (invalid_message::<RejectBody>(r#"{"reason":7}"#), "reason: invalid type"),
    ];
    for (message, expected) in cases {
        assert!(message.contains(expected), "{message:?} should contain {expected:?}");
    }
}

#[test]
fn params_of_every_json_type_survive_the_round_trip() {
    let params = json!({
        "n": 800, "neg": -3, "f": 0.25, "big": 1e300, "s": "text", "t": true, "nothing": null,
        "list": [1, "two", [3], {"four": 4}], "obj": {"a": {"b": []}}
    });
    let Value::Object(object) = params.clone() else {
        unreachable!()
    };

    let back = struct_to_json(json_to_struct(object, "params").unwrap());

    assert_eq!(Value::Object(back), params);
}

#[test]
fn params_nested_deeper_than_the_limit_are_refused_naming_the_job() {
    // `levels` objects, one in the other (params itself is the first level).
    let nest = |levels: usize| {
        let mut value = json!(1);
        for _ in 1..=levels {
            value = json!({ "x": value });
        }
        value
    };
    let Value::Object(at_limit) = nest(MAX_PARAMS_DEPTH) else {
        unreachable!()
    };
    assert!(
        json_to_struct(at_limit, "p").is_ok(),
        "{MAX_PARAMS_DEPTH} levels are fine"
    );

    let body = json!({"project": "api", "stages": [{"name": "b", "jobs": [
        {"name": "ok"}, {"name": "deep", "params": nest(MAX_PARAMS_DEPTH + 1)}]}]});
    let deep_list = json!({"project": "api", "stages": [{"name": "b", "jobs": [
        {"name": "deep", "params": {"l": serde_json::from_str::<Value>(&format!("{}{}", "[".repeat(20), "]".repeat(20))).unwrap()}}]}]});

    for (body, path) in [
        (body, "stages[0].jobs[1].params"),
        (deep_list, "stages[0].jobs[0].params"),
    ] {
        let parsed = serde_json::from_value::<CreatePipelineBody>(body).unwrap();
        match parsed.into_proto(Utc::now()) {
            Err(ApiError::InvalidInput { message, .. }) => {
                assert!(
                    message.starts_with(path) && message.contains("deeper than 16"),
                    "{message}"
                )
            }
            other => panic!("expected a 400, got {other:?}"),
        }
    }
}

#[test]
fn answers_are_camel_case_with_lowercase_enums_and_nulls_for_empty_strings() {
    let mut params = std::collections::BTreeMap::new();
    params.insert(
        "durationMs".to_owned(),
        prost_types::Value {
            kind: Some(Kind::NumberValue(800.0)),
        },
    );
    let pipeline = pb::Pipeline {
        id: "p-1".into(),
        project: "api".into(),
        number: 42,
        trigger: pb::Trigger::Webhook as i32,
        status: pb::PipelineStatus::WaitingApproval as i32,
        source: pb::Source::Github as i32,
        created_at: Some(prost_types::Timestamp {
            seconds: 1_748_772_000,
            nanos: 0,
        }),
        stages: vec![pb::Stage {
            name: "deploy".into(),
            jobs: vec![pb::Job {
                id: "j-1".into(),
                status: pb::JobStatus::TimedOut as i32,
                executor: pb::Executor::Simulate as i32,
                params: Some(prost_types::Struct { fields: params }),
                retry: Some(pb::RetryPolicy {
                    max_attempts: 2,
                    ..Default::default()
                }),
                attempt: 2,
                ..Default::default()
            }],
        }],
        ..Default::default()
    };

    let json = serde_json::to_value(PipelineBody::from(pipeline)).unwrap();

    assert_eq!(
        (&json["status"], &json["trigger"], &json["source"]),
        (&json!("waiting_approval"), &json!("webhook"), &json!("github"))
    );
    assert_eq!(json["createdAt"], "2025-06-01T10:00:00Z");
    assert_eq!((&json["project"], &json["number"]), (&json!("api"), &json!(42)));
    assert!(json["environment"].is_null() && json["finishedAt"].is_null() && json["cancelledBy"].is_null());
    assert!(json["commit"].is_null(), "no commit_sha: a null commit");
    let job = &json["stages"][0]["jobs"][0];
    assert_eq!(
        (&job["status"], &job["executor"], &job["params"]["durationMs"]),
        (&json!("timed_out"), &json!("simulate"), &json!(800))
    );
    assert_eq!(
        job["retry"],
        json!({"maxAttempts": 2, "initialBackoffMs": 0, "maxBackoffMs": 0})
    );
    assert_eq!((job["attempt"].as_u64(), job["worker"].is_null()), (Some(2), true));
}

#[test]
fn the_document_requires_a_run_number_from_1_and_documents_the_run_route() {
    let doc = serde_json::to_value(<crate::openapi::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
    let pipeline = &doc["components"]["schemas"]["Pipeline"];
    let number = &pipeline["properties"]["number"];
    let run = &doc["paths"]["/api/v1/projects/{slug}/runs/{number}"]["get"];
    let param = run["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "number")
        .expect("a number parameter");

    assert_eq!(
        (&number["type"], &number["minimum"]),
        (&json!("integer"), &json!(1)),
        "{number}"
    );
    assert!(
        pipeline["required"].as_array().unwrap().contains(&json!("number")),
        "{pipeline}"
    );
    assert_eq!(param["schema"]["minimum"], json!(1), "{param}");
    for status in ["200", "400", "404"] {
        assert!(run["responses"].get(status).is_some(), "{status} documented: {run}");
    }
}

#[test]
fn a_pipelines_commit_is_answered_with_its_time_or_a_null_time() {
    let with = |commit_time| pb::Pipeline {
        id: "p-1".into(),
        commit_sha: "3484a3fb816e".into(),
        commit_time,
        ..Default::default()
    };
    let json = |p| serde_json::to_value(PipelineBody::from(p)).unwrap();

    let timed = json(with(Some(prost_types::Timestamp {
        seconds: 1_748_772_000,
        nanos: 0,
    })));
    let untimed = json(with(None));

    assert_eq!(
        timed["commit"],
        json!({"sha": "3484a3fb816e", "time": "2025-06-01T10:00:00Z"})
    );
    assert_eq!(untimed["commit"], json!({"sha": "3484a3fb816e", "time": null}));
}

#[test]
fn list_and_log_queries_name_the_bad_parameter() {
    use crate::extract::parse_query;
    let list = parse_query::<ListPipelinesQuery>("project=api&status=waiting_approval&pageSize=5").unwrap();
    assert_eq!(
        (list.project.as_deref(), list.status, list.page_size),
        (Some("api"), Some(PipelineStatus::WaitingApproval), Some(5))
    );
    for (query, field) in [
        ("status=done", "status"),
        ("status=WAITING_APPROVAL", "status"),
        ("pageSize=x", "pageSize"),
        ("order=asc", "order"),
    ] {
        match parse_query::<ListPipelinesQuery>(query) {
            Err(ApiError::InvalidInput { message, .. }) => assert!(message.contains(field), "{query}: {message}"),
            other => panic!("{query}: expected a 400, got {other:?}"),
        }
    }
    for query in ["offset=-1", "attempt=x", "limit=1e3"] {
        assert!(parse_query::<JobLogQuery>(query).is_err(), "{query}");
    }
}
