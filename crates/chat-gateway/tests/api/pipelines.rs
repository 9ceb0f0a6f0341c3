//! Pipelines and jobs through the edge, against the real auth, projects and tasks services: create → get → list, the
//! job actions (cancel, retry, approve, reject, log), who may do what, and hostile input (always a 4xx naming the
//! field, never a 500).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PROJECT, TestApp, assert_error, pipeline_jobs, spawn_app_with_tasks, three_stage_pipeline};

const WITHIN: Duration = Duration::from_secs(20);

fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |p| p["status"] == status
}

/// The first job of `pipeline` named `name`.
fn job<'a>(pipeline: &'a Value, name: &str) -> &'a Value {
    pipeline_jobs(pipeline)
        .into_iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job {name} in {pipeline}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_is_created_then_read_and_listed_until_it_succeeds() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, operator) = app.user_with_token(&admin, "op@example.com", "operator").await;
    let mut body = three_stage_pipeline(100);
    body["environment"] = json!("staging");
    body["version"] = json!("1.4.0");

    let response = app.post_json("/api/v1/pipelines", Some(&operator), &body).await;

    assert_eq!(response.status().as_u16(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(location, format!("/api/v1/pipelines/{id}"));
    assert_eq!(
        (
            &created["project"],
            &created["environment"],
            &created["version"],
            &created["trigger"]
        ),
        (&json!(PROJECT), &json!("staging"), &json!("1.4.0"), &json!("api"))
    );
    let names: Vec<&Value> = pipeline_jobs(&created).into_iter().map(|j| &j["name"]).collect();
    assert_eq!(names, ["compile", "unit", "lint", "rollout"]);
    let params = &job(&created, "compile")["params"];
    assert_eq!(
        (&params["durationMs"], &params["logLines"]),
        (&json!(100), &json!(3)),
        "{params}"
    );
    assert_eq!(job(&created, "compile")["executor"], "simulate");

    let done = app
        .wait_for_pipeline(&operator, &id, WITHIN, status_is("succeeded"))
        .await;
    assert!(
        pipeline_jobs(&done)
            .iter()
            .all(|j| j["status"] == "succeeded" && j["attempt"] == 1),
        "{done}"
    );
    assert!(done["finishedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{done}");

    let listed: Value = app
        .get(
            &format!("/api/v1/pipelines?project={PROJECT}&status=succeeded"),
            Some(&operator),
        )
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&Value> = listed["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["id"])
        .collect();
    assert_eq!(ids, [&json!(id)], "{listed}");
    assert!(listed.get("nextPageToken").is_none(), "one page: {listed}");
    let running: Value = app
        .get("/api/v1/pipelines?status=running", Some(&operator))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(running["pipelines"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_key_answers_the_first_pipeline_with_200() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let mut body = three_stage_pipeline(100);
    body["idempotencyKey"] = json!("deploy-42");

    let (first_status, first) = app.create_pipeline(&admin, &body).await;
    let (again_status, again) = app.create_pipeline(&admin, &body).await;

    assert_eq!((first_status, again_status), (201, 200));
    assert_eq!(first["id"], again["id"]);
    assert_eq!(again["idempotencyKey"], "deploy-42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_created_with_a_commit_answers_keeps_and_lists_it() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let committed = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    let mut deploy = three_stage_pipeline(50);
    deploy["environment"] = json!("staging");
    deploy["version"] = json!("1.5.0");
    deploy["commit"] = json!({"sha": "3484A3FB816E0859FD6E1CEA078D76385FF50625", "time": committed.to_rfc3339()});
    let mut untimed = three_stage_pipeline(50);
    untimed["commit"] = json!({"sha": "3484a3f"});

    let (status, created) = app.create_pipeline(&admin, &deploy).await;
    let (untimed_status, untimed) = app.create_pipeline(&admin, &untimed).await;
    let (_, plain) = app.create_pipeline(&admin, &three_stage_pipeline(50)).await;

    assert_eq!((status, untimed_status), (201, 201), "{created} {untimed}");
    let sha = "3484a3fb816e0859fd6e1cea078d76385ff50625";
    let time = |p: &Value| {
        p["commit"]["time"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp())
    };
    assert_eq!(created["commit"]["sha"], sha, "stored lowercase: {created}");
    assert_eq!(time(&created), Some(committed.timestamp()), "{created}");
    assert_eq!(untimed["commit"], json!({"sha": "3484a3f", "time": null}));
    assert_eq!(plain["commit"], Value::Null, "no commit named: {plain}");
    let id = created["id"].as_str().expect("an id");
    let done = app.wait_for_pipeline(&admin, id, WITHIN, status_is("succeeded")).await;
    assert_eq!(
        (&done["commit"]["sha"], time(&done)),
        (&json!(sha), Some(committed.timestamp()))
    );
    let listed: Value = app
        .get(&format!("/api/v1/pipelines?project={PROJECT}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let commits: Vec<&Value> = listed["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["commit"]["sha"])
        .collect();
    assert_eq!(
        commits,
        [&Value::Null, &json!("3484a3f"), &json!(sha)],
        "newest first: {listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_are_cancelled_and_failed_jobs_retried() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let slow = json!({"project": PROJECT, "stages": [{"name": "build", "jobs": [
        {"name": "long", "params": {"durationMs": 60_000}}]}, {"name": "next", "jobs": [{"name": "never"}]}]});
    let failing = json!({"project": PROJECT, "stages": [{"name": "build", "jobs": [
        {"name": "flaky", "params": {"durationMs": 50, "failRate": 1}}]}]});
    let (_, slow) = app.create_pipeline(&admin, &slow).await;
    let (_, failing) = app.create_pipeline(&admin, &failing).await;
    let slow_id = slow["id"].as_str().unwrap();
    let failing_id = failing["id"].as_str().unwrap();

    let cancel = app
        .request(
            Method::POST,
            &format!("/api/v1/pipelines/{slow_id}/cancel"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status().as_u16(), 200);
    let cancelled = app
        .wait_for_pipeline(&admin, slow_id, WITHIN, status_is("cancelled"))
        .await;
    assert_eq!(job(&cancelled, "never")["status"], "cancelled");
    assert!(cancelled["cancelledBy"].is_string(), "{cancelled}");
    let again = app
        .request(
            Method::POST,
            &format!("/api/v1/pipelines/{slow_id}/cancel"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_error(again, 409, "conflict").await;

    let failed = app
        .wait_for_pipeline(&admin, failing_id, WITHIN, status_is("failed"))
        .await;
    let flaky = job(&failed, "flaky");
    assert_eq!(flaky["status"], "failed");
    let retry = app
        .request(
            Method::POST,
            &format!("/api/v1/jobs/{}/retry", flaky["id"].as_str().unwrap()),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status().as_u16(), 200);
    let retried: Value = retry.json().await.unwrap();
    assert_eq!(job(&retried, "flaky")["attempt"], 2, "{retried}");
    assert_ne!(retried["status"], "failed", "the pipeline resumes: {retried}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_waiting_for_approval_is_rejected_with_a_reason() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, operator) = app.user_with_token(&admin, "op@example.com", "operator").await;
    let gated = json!({"project": PROJECT, "environment": "staging", "version": "2.0.0", "stages": [
        {"name": "deploy", "jobs": [{"name": "rollout", "requiresApproval": true, "params": {"durationMs": 50}}]}]});
    let (status, created) = app.create_pipeline(&admin, &gated).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let waiting = app
        .wait_for_pipeline(&admin, id, WITHIN, status_is("waiting_approval"))
        .await;
    let job_id = job(&waiting, "rollout")["id"].as_str().unwrap().to_owned();

    let empty = app
        .post_json(
            &format!("/api/v1/jobs/{job_id}/reject"),
            Some(&operator),
            &json!({"reason": ""}),
        )
        .await;
    let rejected = app
        .post_json(
            &format!("/api/v1/jobs/{job_id}/reject"),
            Some(&operator),
            &json!({"reason": "not during the freeze"}),
        )
        .await;

    assert_error(empty, 400, "invalid_argument").await;
    assert_eq!(rejected.status().as_u16(), 200);
    let rejected: Value = rejected.json().await.unwrap();
    let rollout = job(&rejected, "rollout");
    assert_eq!(rollout["status"], "failed", "{rejected}");
    assert!(
        rollout["exitReason"]
            .as_str()
            .unwrap()
            .contains("not during the freeze"),
        "{rollout}"
    );
    assert!(rollout["rejectedBy"].is_string(), "{rollout}");
    let failed = app.wait_for_pipeline(&admin, id, WITHIN, status_is("failed")).await;
    assert_eq!(job(&failed, "rollout")["status"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_log_is_read_from_an_offset() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let body = json!({"project": PROJECT, "stages": [{"name": "build", "jobs": [
        {"name": "compile", "params": {"durationMs": 50, "logLines": 5}}]}]});
    let (_, created) = app.create_pipeline(&admin, &body).await;
    let id = created["id"].as_str().unwrap();
    let done = app.wait_for_pipeline(&admin, id, WITHIN, status_is("succeeded")).await;
    let job_id = job(&done, "compile")["id"].as_str().unwrap().to_owned();

    let all: Value = app
        .get(&format!("/api/v1/jobs/{job_id}/log"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let tail: Value = app
        .get(
            &format!("/api/v1/jobs/{job_id}/log?offset=3&limit=10&attempt=1"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(all["lines"].as_array().map(Vec::len), Some(5), "{all}");
    assert_eq!(
        (
            &all["jobId"],
            &all["attempt"],
            &all["offset"],
            &all["nextOffset"],
            &all["eof"]
        ),
        (&json!(job_id), &json!(1), &json!(0), &json!(5), &json!(true))
    );
    assert_eq!(
        tail["lines"].as_array().unwrap()[..],
        all["lines"].as_array().unwrap()[3..]
    );
    assert_eq!((&tail["offset"], &tail["nextOffset"]), (&json!(3), &json!(5)));
}

/// A route of the RBAC matrix; `{pipeline}` and `{job}` are replaced by real ids.
struct Route {
    method: Method,
    path: &'static str,
    body: Option<Value>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_read_operators_run_and_anonymous_callers_get_401() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, viewer) = app.user_with_token(&admin, "viewer@example.com", "viewer").await;
    let (_, operator) = app.user_with_token(&admin, "op@example.com", "operator").await;
    let slow = json!({"project": PROJECT, "stages": [{"name": "build", "jobs": [
        {"name": "long", "params": {"durationMs": 60_000}}]}]});
    let route = |method, path, body| Route { method, path, body };
    let reads = [
        route(Method::GET, "/api/v1/pipelines", None),
        route(Method::GET, "/api/v1/pipelines/{pipeline}", None),
        route(Method::GET, "/api/v1/jobs/{job}/log", None),
    ];
    let writes = [
        route(Method::POST, "/api/v1/pipelines", Some(three_stage_pipeline(50))),
        route(Method::POST, "/api/v1/pipelines/{pipeline}/cancel", None),
    ];

    let mut failures = Vec::new();
    for (caller, token) in [
        ("anonymous", None),
        ("viewer", Some(&viewer)),
        ("operator", Some(&operator)),
    ] {
        // A fresh running pipeline for each caller, so that a successful cancel does not hide the next one's answer.
        let (_, pipeline) = app.create_pipeline(&admin, &slow).await;
        let pipeline_id = pipeline["id"].as_str().unwrap();
        let job_id = job(&pipeline, "long")["id"].as_str().unwrap();
        // Its log exists once the job runs.
        app.wait_for_pipeline(&admin, pipeline_id, WITHIN, status_is("running"))
            .await;
        for (route, is_write) in reads.iter().map(|r| (r, false)).chain(writes.iter().map(|r| (r, true))) {
            let path = route.path.replace("{pipeline}", pipeline_id).replace("{job}", job_id);
            let mut request = app.request(route.method.clone(), &path, token.map(String::as_str));
            if let Some(body) = &route.body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let want = match (caller, is_write) {
                ("anonymous", _) => 401,
                ("viewer", true) => 403,
                _ if route.method == Method::POST && route.path == "/api/v1/pipelines" => 201,
                _ => 200,
            };
            if status != want {
                let body = response.text().await.unwrap_or_default();
                failures.push(format!(
                    "{caller} {} {path}: got {status}, want {want}: {body}",
                    route.method
                ));
            }
        }
    }

    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

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
    let response = request.send().await.map_err(|e| format!("no response: {e}"))?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| format!("{status} unreadable: {e}"))?;
    let body: Value = serde_json::from_str(&text).map_err(|_| format!("{status} with a non-JSON body {text:?}"))?;
    let code = body["error"]["code"].as_str().unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or_default();
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

    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
