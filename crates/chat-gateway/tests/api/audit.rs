//! The edge's audit trail (issue 17): every mutating request through the edge is a record in the chat store's
//! hash-chained trail (who, what as the route's pattern, target, result, source address, request id), never a body
//! or a token; reads are not recorded; and the chain stays intact under many concurrent writes.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app_with_tasks};

/// The `http.*` records, newest first, once at least `want` of them match `keep` (the writer commits off the
/// request's path, a moment later); at most 10 s.
async fn http_records(app: &TestApp, admin: &str, want: usize, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page: Value = app
            .get_json("/api/v1/audit?kind=http.*&pageSize=100", Some(admin))
            .await;
        let records: Vec<Value> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|r| keep(r))
            .cloned()
            .collect();
        if records.len() >= want {
            return records;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {want} records after 10 s: {page}",
            records.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many records of `kind` the trail holds, page by page.
async fn count(app: &TestApp, admin: &str, kind: &str) -> usize {
    let (mut total, mut token) = (0, String::new());
    loop {
        let mut query = vec![("kind", kind), ("pageSize", "100")];
        if !token.is_empty() {
            query.push(("pageToken", &token));
        }
        let page: Value = app
            .request(Method::GET, "/api/v1/audit", Some(admin))
            .query(&query)
            .send()
            .await
            .expect("GET the audit trail")
            .json()
            .await
            .expect("a JSON audit page");
        total += page["items"].as_array().expect("items").len();
        match page["nextPageToken"].as_str() {
            Some(next) => token = next.to_owned(),
            None => return total,
        }
    }
}

fn by_request_id(id: &'static str) -> impl Fn(&Value) -> bool {
    move |record| record["requestId"] == id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutating_request_is_recorded_with_who_what_target_result_source_and_request_id_and_a_read_is_not() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let me: Value = app.get_json("/api/v1/auth/me", Some(&admin)).await;

    let created = app
        .request(Method::POST, "/api/v1/projects", Some(&admin))
        .header("x-request-id", "audit-create-1")
        .json(&json!({"slug": "web", "name": "Web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let read = app
        .request(Method::GET, "/api/v1/projects/web", Some(&admin))
        .header("x-request-id", "audit-read-1")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status().as_u16(), 200);
    let refused = app
        .request(Method::DELETE, "/api/v1/projects/web", None)
        .header("x-request-id", "audit-anonymous-1")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    for (id, email, password, status) in [
        ("audit-login-1", "ada@example.com", "not the password", 401),
        ("audit-login-2", PASSWORD, "the password typed in the wrong field", 400),
    ] {
        let login = app
            .request(Method::POST, "/api/v1/auth/login", None)
            .header("x-request-id", id)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status().as_u16(), status, "{id}");
    }

    let create = &http_records(&app, &admin, 1, by_request_id("audit-create-1")).await[0];
    assert_eq!(create["kind"], "http.POST /api/v1/projects");
    assert_eq!(create["target"], location.as_str());
    assert_eq!(create["result"], "201");
    assert_eq!(create["source"], "127.0.0.1");
    assert_eq!(create["actor"]["subject"], me["id"]);
    assert_eq!(create["actor"]["role"], "admin");
    assert_eq!(create["details"], json!({}), "never the body");

    let anonymous = &http_records(&app, &admin, 1, by_request_id("audit-anonymous-1")).await[0];
    assert_eq!(anonymous["kind"], "http.DELETE /api/v1/projects/{slug}");
    assert_eq!(anonymous["target"], "slug=web");
    assert_eq!(anonymous["result"], "401");
    assert_eq!(anonymous["actor"]["subject"], "anonymous");

    let failed_login = &http_records(&app, &admin, 1, by_request_id("audit-login-1")).await[0];
    assert_eq!(failed_login["kind"], "http.POST /api/v1/auth/login");
    assert_eq!(failed_login["result"], "401");
    assert_eq!(failed_login["details"], json!({"attemptedEmail": "ada@example.com"}));
    let odd_login = &http_records(&app, &admin, 1, by_request_id("audit-login-2")).await[0];
    assert_eq!(
        odd_login["details"],
        json!({}),
        "what is not an address may be a password: left out"
    );

    let everything = http_records(&app, &admin, 4, |_| true).await;
    assert!(
        everything.iter().all(|r| r["requestId"] != "audit-read-1"),
        "a read is not recorded: {everything:?}"
    );
    let text = serde_json::to_string(&everything).unwrap();
    for secret in [PASSWORD, "not the password", admin.as_str()] {
        assert!(!text.contains(secret), "the trail holds no password or token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_verifies_after_many_concurrent_mutating_requests() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    const REQUESTS: usize = 120;
    let posts = (0..REQUESTS).map(|n| {
        let (app, admin) = (&app, &admin);
        async move {
            let body = json!({"text": format!("status of api {n}")});
            app.post_json("/api/v1/chat/parse", Some(admin), &body)
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut seen = count(&app, &admin, "http.POST /api/v1/chat/parse").await;
    while seen < REQUESTS && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        seen = count(&app, &admin, "http.POST /api/v1/chat/parse").await;
    }
    assert_eq!(seen, REQUESTS, "one record per request");
    let report: Value = app.get_json("/api/v1/audit/verify", Some(&admin)).await;
    assert_eq!(report["intact"], true, "{report}");
    assert!(report["records"].as_u64().unwrap() >= REQUESTS as u64, "{report}");
}
