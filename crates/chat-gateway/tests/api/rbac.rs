//! Who may do what, through the edge: a matrix of admin routes × roles, plus what every user may do with their own
//! API tokens.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, spawn_app};

/// A caller of the matrix: a name and a bearer token (none: anonymous).
struct Caller {
    name: &'static str,
    token: Option<String>,
}

/// An admin route, with a body that would succeed for an admin.
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn admin_routes(victim_id: &str, caller: &str) -> Vec<Route> {
    let route = |method, path: String, body| Route { method, path, body };
    vec![
        route(Method::GET, "/api/v1/users".into(), None),
        route(
            Method::POST,
            "/api/v1/users".into(),
            Some(
                json!({ "email": format!("new-{caller}@example.com"), "name": "New", "role": "viewer", "password": PASSWORD }),
            ),
        ),
        route(
            Method::PATCH,
            format!("/api/v1/users/{victim_id}"),
            Some(json!({ "name": format!("Renamed by {caller}") })),
        ),
        route(
            Method::PUT,
            format!("/api/v1/users/{victim_id}/password"),
            Some(json!({ "newPassword": format!("set by {caller} for the victim") })),
        ),
        route(Method::GET, "/api/v1/tokens?all=true".into(), None),
    ]
}

async fn call(app: &TestApp, route: &Route, token: Option<&str>) -> reqwest::Response {
    let request = app.request(route.method.clone(), &route.path, token);
    let request = match &route.body {
        Some(body) => request.json(body),
        None => request,
    };
    request.send().await.expect("send")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_may_administer_users_and_everyones_tokens() {
    let app = spawn_app().await;
    let (admin, viewer, operator) = app.admin_viewer_operator().await;
    let (victim_id, _) = app.user_with_token(&admin, "victim@example.com", "viewer").await;
    let callers = [
        (
            Caller {
                name: "anonymous",
                token: None,
            },
            401,
            "unauthenticated",
        ),
        (
            Caller {
                name: "viewer",
                token: Some(viewer),
            },
            403,
            "forbidden",
        ),
        (
            Caller {
                name: "operator",
                token: Some(operator),
            },
            403,
            "forbidden",
        ),
        (
            Caller {
                name: "admin",
                token: Some(admin),
            },
            200,
            "",
        ),
    ];

    let mut failures = Vec::new();
    for (caller, want_status, want_code) in &callers {
        for route in admin_routes(&victim_id, caller.name) {
            let response = call(&app, &route, caller.token.as_deref()).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let ok = if *want_status == 200 {
                (200..300).contains(&status)
            } else {
                status == *want_status && body["error"]["code"] == *want_code
            };
            if !ok {
                failures.push(format!(
                    "{} {} {}: got {status} {body}",
                    caller.name, route.method, route.path
                ));
            }
        }
    }

    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_manages_their_own_tokens_but_cannot_mint_a_stronger_one() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (_, viewer) = app.user_with_token(&admin, "viewer@example.com", "viewer").await;
    let admins_token = app
        .post_json("/api/v1/tokens", Some(&admin), &json!({ "name": "admin-ci" }))
        .await;
    assert_eq!(admins_token.status().as_u16(), 201);

    let created = app
        .post_json("/api/v1/tokens", Some(&viewer), &json!({ "name": "mine" }))
        .await;
    let listed = app.get("/api/v1/tokens", Some(&viewer)).await;
    let stronger = app
        .post_json(
            "/api/v1/tokens",
            Some(&viewer),
            &json!({ "name": "root", "role": "admin" }),
        )
        .await;

    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(
        created["token"]["role"], "viewer",
        "a token defaults to its owner's role: {created}"
    );
    assert_eq!(listed.status().as_u16(), 200);
    let listed: Value = listed.json().await.unwrap();
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["mine"], "a viewer sees only their own tokens");
    let message = assert_error(stronger, 403, "forbidden").await;
    assert!(message.contains("cannot exceed"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_user_with_a_taken_email_is_a_conflict() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "dup@example.com", "viewer").await;
    let again = json!({ "email": "DUP@example.com", "name": "Dup", "role": "operator", "password": PASSWORD });

    let response = app.post_json("/api/v1/users", Some(&admin), &again).await;

    let message = assert_error(response, 409, "conflict").await;
    assert!(message.contains("dup@example.com"), "{message}");
}
