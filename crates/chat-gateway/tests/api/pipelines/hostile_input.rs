//! Hostile pipeline and job requests, table-driven: each is a 4xx whose message names the field, never a 500.

use reqwest::Method;

use crate::helpers::{PROJECT, TestApp, assert_no_failures, error_parts, spawn_app_with_tasks};

/// One hostile request and what it must answer.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    body: Option<String>,
    status: u16,
    code: &'static str,
    /// The error message contains this.
    contains: &'static str,
}

fn case(name: &'static str, method: Method, path: impl Into<String>, body: Option<String>) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        body,
        status: 400,
        code: "invalid_argument",
        contains: "",
    }
}

impl Case {
    fn expect(self, status: u16, code: &'static str, contains: &'static str) -> Self {
        Self {
            status,
            code,
            contains,
            ..self
        }
    }
}

/// A create body with `stages` stages of `jobs` jobs each, every job `job_extra` added.
fn pipeline_of(stages: usize, jobs: usize, job_extra: &str) -> String {
    let job = |j: usize| format!(r#"{{"name":"j{j}"{job_extra}}}"#);
    let stage = |s: usize| {
        format!(
            r#"{{"name":"s{s}","jobs":[{}]}}"#,
            (0..jobs).map(job).collect::<Vec<_>>().join(",")
        )
    };
    format!(
        r#"{{"project":"{PROJECT}","stages":[{}]}}"#,
        (0..stages).map(stage).collect::<Vec<_>>().join(",")
    )
}

/// A one-job create body with `"commit": <commit>`.
fn with_commit(commit: &str) -> String {
    pipeline_of(1, 1, "").replacen('{', &format!(r#"{{"commit":{commit},"#), 1)
}

fn cases() -> Vec<Case> {
    let create = |name, body: String| case(name, Method::POST, "/api/v1/pipelines", Some(body));
    let unknown = "0190f5a4-8d3c-7c4e-9a1b-2c3d4e5f6a7b";
    let deep = format!(r#","params":{{"a":{}1{}}}"#, r#"{"a":"#.repeat(20), "}".repeat(20));
    vec![
        create(
            "a job name that is a number",
            pipeline_of(1, 1, "").replace(r#""j0""#, "123"),
        )
        .expect(400, "invalid_argument", "stages[0].jobs[0].name: invalid type"),
        create(
            "stages that are a string",
            format!(r#"{{"project":"{PROJECT}","stages":"x"}}"#),
        )
        .expect(400, "invalid_argument", "stages: invalid type"),
        create("an unknown executor", pipeline_of(1, 1, r#","executor":"shell""#)).expect(
            400,
            "invalid_argument",
            "stages[0].jobs[0].executor: unknown variant",
        ),
        create("an unknown field", pipeline_of(1, 1, r#","command":"rm -rf /""#)).expect(
            400,
            "invalid_argument",
            "unknown field `command`",
        ),
        create("a negative timeout", pipeline_of(1, 1, r#","timeoutS":-1"#)).expect(
            400,
            "invalid_argument",
            "timeoutS",
        ),
        create("params that are a list", pipeline_of(1, 1, r#","params":[1]"#)).expect(
            400,
            "invalid_argument",
            "params: invalid type",
        ),
        create("params nested 21 levels deep", pipeline_of(1, 1, &deep)).expect(
            400,
            "invalid_argument",
            "deeper than 16",
        ),
        create(
            "params over 16 KiB",
            pipeline_of(1, 1, &format!(r#","params":{{"pad":"{}"}}"#, "x".repeat(20_000))),
        )
        .expect(400, "invalid_argument", "params"),
        create("21 stages", pipeline_of(21, 1, "")).expect(400, "invalid_argument", "stages"),
        create("51 jobs in a stage", pipeline_of(1, 51, "")).expect(400, "invalid_argument", "jobs"),
        create("201 jobs in all", pipeline_of(5, 41, "")).expect(400, "invalid_argument", "jobs"),
        create("no stages", pipeline_of(0, 0, "")).expect(400, "invalid_argument", "stages"),
        create(
            "a job name with capitals",
            pipeline_of(1, 1, "").replace(r#""j0""#, r#""Build!""#),
        )
        .expect(400, "invalid_argument", "name"),
        create(
            "an unknown trigger",
            pipeline_of(1, 1, "").replacen('{', r#"{"trigger":"cron","#, 1),
        )
        .expect(400, "invalid_argument", "trigger: unknown variant"),
        create(
            "a body over 64 KiB",
            pipeline_of(1, 1, &format!(r#","params":{{"pad":"{}"}}"#, "x".repeat(70_000))),
        )
        .expect(413, "payload_too_large", ""),
        create("an unknown project", pipeline_of(1, 1, "").replace(PROJECT, "nope")).expect(404, "not_found", "nope"),
        create("a commit sha of 6 digits", with_commit(r#"{"sha":"3484a3"}"#)).expect(
            400,
            "invalid_argument",
            "commit.sha: must be 7 to 64 hex digits",
        ),
        create("a branch name for a sha", with_commit(r#"{"sha":"main"}"#)).expect(
            400,
            "invalid_argument",
            "commit.sha",
        ),
        create(
            "a commit time without a sha",
            with_commit(r#"{"time":"2025-06-01T10:00:00Z"}"#),
        )
        .expect(400, "invalid_argument", "commit: missing field `sha`"),
        create(
            "a commit time that is no time",
            with_commit(r#"{"sha":"3484a3f","time":"yesterday"}"#),
        )
        .expect(400, "invalid_argument", "commit.time"),
        create(
            "a commit time next year",
            with_commit(&format!(
                r#"{{"sha":"3484a3f","time":"{}"}}"#,
                (chrono::Utc::now() + chrono::TimeDelta::days(365)).to_rfc3339()
            )),
        )
        .expect(
            400,
            "invalid_argument",
            "commit.time: must not be more than 5 minutes in the future",
        ),
        create(
            "a commit time before 2000",
            with_commit(r#"{"sha":"3484a3f","time":"1999-12-31T23:59:59Z"}"#),
        )
        .expect(400, "invalid_argument", "commit.time: must not be before 2000"),
        create(
            "a commit with an author",
            with_commit(r#"{"sha":"3484a3f","author":"me"}"#),
        )
        .expect(400, "invalid_argument", "unknown field `author`"),
        case(
            "a pipeline id that is not a UUID",
            Method::GET,
            "/api/v1/pipelines/not-a-uuid",
            None,
        ),
        case("cancelling a bad id", Method::POST, "/api/v1/pipelines/42/cancel", None),
        case("retrying a bad id", Method::POST, "/api/v1/jobs/not-a-uuid/retry", None),
        case(
            "approving a bad id",
            Method::POST,
            "/api/v1/jobs/not-a-uuid/approve",
            None,
        ),
        case(
            "rejecting a bad id",
            Method::POST,
            "/api/v1/jobs/x/reject",
            Some(r#"{"reason":"r"}"#.into()),
        ),
        case("the log of a bad id", Method::GET, "/api/v1/jobs/x/log", None),
        case(
            "an unknown pipeline",
            Method::GET,
            format!("/api/v1/pipelines/{unknown}"),
            None,
        )
        .expect(404, "not_found", ""),
        case(
            "approving an unknown job",
            Method::POST,
            format!("/api/v1/jobs/{unknown}/approve"),
            None,
        )
        .expect(404, "not_found", ""),
        case(
            "a reject without a reason",
            Method::POST,
            format!("/api/v1/jobs/{unknown}/reject"),
            Some("{}".into()),
        )
        .expect(400, "invalid_argument", "missing field `reason`"),
        case(
            "a status that does not exist",
            Method::GET,
            "/api/v1/pipelines?status=done",
            None,
        )
        .expect(400, "invalid_argument", "status"),
        case("pageSize=0", Method::GET, "/api/v1/pipelines?pageSize=0", None).expect(
            400,
            "invalid_argument",
            "pageSize",
        ),
        case(
            "an unknown query parameter",
            Method::GET,
            "/api/v1/pipelines?sort=asc",
            None,
        )
        .expect(400, "invalid_argument", "sort"),
        case(
            "a log offset below zero",
            Method::GET,
            format!("/api/v1/jobs/{unknown}/log?offset=-1"),
            None,
        )
        .expect(400, "invalid_argument", "offset"),
        case(
            "a log offset past the document's int64",
            Method::GET,
            format!("/api/v1/jobs/{unknown}/log?offset=9223372036854775808"),
            None,
        )
        .expect(400, "invalid_argument", "offset"),
        case(
            "a body that is a JSON array, which serde would read as the struct",
            Method::POST,
            format!("/api/v1/jobs/{unknown}/reject"),
            Some("[\"not during the freeze\"]".to_owned()),
        )
        .expect(400, "invalid_argument", "must be a JSON object"),
        case(
            "a log limit of 0",
            Method::GET,
            format!("/api/v1/jobs/{unknown}/log?limit=0"),
            None,
        )
        .expect(400, "invalid_argument", "limit"),
    ]
}

async fn run(app: &TestApp, token: &str, case: &Case) -> Result<(), String> {
    let mut request = app.request(case.method.clone(), &case.path, Some(token));
    if let Some(body) = &case.body {
        request = request.header("content-type", "application/json").body(body.clone());
    }
    let (status, code, message) = error_parts(request.send().await).await?;
    if status != case.status || code != case.code || !message.contains(case.contains) || message.is_empty() {
        return Err(format!(
            "got {status} {code} {message:?}; want {} {} containing {:?}",
            case.status, case.code, case.contains
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pipeline_input_is_a_4xx_naming_the_field_and_never_a_500() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;

    let mut failures = Vec::new();
    for case in cases() {
        if let Err(why) = run(&app, &admin, &case).await {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert_no_failures(&failures);
}
