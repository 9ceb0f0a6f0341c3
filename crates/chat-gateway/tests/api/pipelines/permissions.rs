//! Who may do what with pipelines: the RBAC matrix of reads and writes for anonymous callers, viewers and operators.

use reqwest::Method;
use serde_json::{Value, json};

use super::{WITHIN, job, status_is};
use crate::helpers::{PROJECT, spawn_app_with_tasks, three_stage_pipeline};

/// A route of the RBAC matrix; `{pipeline}` and `{job}` are replaced by real ids.
struct Route {
    method: Method,
    path: &'static str,
    body: Option<Value>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_read_operators_run_and_anonymous_callers_get_401() {
    let app = spawn_app_with_tasks().await;
    let (admin, viewer, operator) = app.admin_viewer_operator().await;
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
