//! What every response carries (security headers, a request id), health and metrics, per-IP login throttling, and
//! how the edge behaves when auth is down: quick 503s, never a hang.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    GatewaySettings, assert_error, gateway_settings, peers_at, sign_eddsa, spawn_app, spawn_app_with, spawn_gateway,
    valid_claims,
};

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_are_on_successes_and_errors_alike() {
    let app = spawn_app().await;

    let responses = [
        (200, app.get("/healthz", None).await),
        (401, app.get("/api/v1/auth/me", None).await),
        (404, app.get("/api/v1/no/such/page", None).await),
    ];

    for (status, response) in responses {
        assert_eq!(response.status().as_u16(), status);
        let csp = header(&response, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{status}: CSP {csp:?}");
        assert!(csp.contains("default-src 'self'"), "{status}: CSP {csp:?}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{status}");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer", "{status}");
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sane_request_id_is_echoed_back() {
    let app = spawn_app().await;

    let response = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "deploy-42.retry_1")
        .send()
        .await
        .unwrap();

    assert_eq!(header(&response, "x-request-id"), "deploy-42.retry_1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_insane_request_id_is_replaced_by_a_uuid() {
    let app = spawn_app().await;
    let too_long = "x".repeat(300);
    let sent = [None, Some(too_long.as_str()), Some("has spaces in it"), Some("")];

    for value in sent {
        let mut request = app.http.get(app.url("/healthz"));
        if let Some(value) = value {
            request = request.header("x-request-id", value);
        }
        let response = request.send().await.unwrap();

        let id = header(&response, "x-request-id");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "sent {value:?}, got {id:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_path_is_a_json_404() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/nope", None).await;

    let message = assert_error(response, 404, "not_found").await;
    assert!(message.contains("/api/v1/nope"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_path_with_another_method_is_a_json_405() {
    let app = spawn_app().await;

    let response = app.request(Method::DELETE, "/api/v1/users", None).send().await.unwrap();

    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        header(&response, "allow"),
        "GET, POST",
        "RFC 9110: a 405 lists the allowed methods"
    );
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON error body, got {text:?}"));
    assert!(body["error"]["code"].is_string(), "{body}");
    for (method, path, allowed) in [
        (Method::TRACE, "/api/v1/projects/api", "GET, DELETE, PATCH"),
        (Method::PUT, "/api/v1/ws", "GET"),
        (Method::POST, "/healthz", "GET"),
        (Method::PATCH, "/api/v1/users/names", "GET"),
        (Method::DELETE, "/some/dashboard/page", "GET, HEAD"),
    ] {
        let response = app.request(method.clone(), path, None).send().await.unwrap();

        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(header(&response, "allow"), allowed, "{method} {path}");
        assert_error(response, 405, "method_not_allowed").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_template_not_raw_path() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (user_id, _) = app.user_with_token(&admin, "metered@example.com", "viewer").await;
    assert_eq!(app.get("/api/v1/auth/me", Some(&admin)).await.status().as_u16(), 200);
    let path = format!("/api/v1/users/{user_id}");
    let patched = app
        .send_json(Method::PATCH, &path, Some(&admin), &json!({ "name": "Renamed" }))
        .await;
    assert_eq!(patched.status().as_u16(), 200);

    let text = app.admin_metrics().await;

    for series in [
        r#"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/api/v1/auth/me",http_response_status_code="200"}"#,
        r#"http_server_request_duration_seconds_count{http_request_method="PATCH",http_route="/api/v1/users/{id}",http_response_status_code="200"}"#,
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }
    assert!(!text.contains(&user_id), "a raw id leaked into a label:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_logins_from_one_address_are_rate_limited() {
    let app = spawn_app_with(|_, gateway| gateway.login_rate_per_minute = 6).await;
    for attempt in 1..=5 {
        let response = app.login(&app.admin_email, &app.admin_password).await;
        assert_eq!(
            response.status().as_u16(),
            200,
            "attempt {attempt} is within the burst of 5"
        );
    }

    for attempt in 6..=8 {
        let response = app.login(&app.admin_email, &app.admin_password).await;

        let retry_after = header(&response, "retry-after");
        assert!(
            retry_after.parse::<u64>().is_ok_and(|s| s >= 1),
            "attempt {attempt}: Retry-After {retry_after:?}"
        );
        assert_error(response, 429, "rate_limited").await;
    }
    // X-Forwarded-For is not trusted unless configured, so it cannot dodge the limit.
    let spoofed = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({ "email": app.admin_email, "password": app.admin_password }))
        .send()
        .await
        .unwrap();
    assert_error(spoofed, 429, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_auth_service_yields_quick_503s_never_a_hang() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
        listener.local_addr().unwrap().port()
    };
    let settings = GatewaySettings {
        peers: devopstrack_peers::ServiceSettings {
            upstream_timeout_ms: 1000,
            ..peers_at(&format!("http://127.0.0.1:{closed_port}"))
        },
        ..gateway_settings()
    };
    let gateway = spawn_gateway(settings).await;
    let stranger = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let token = sign_eddsa(&stranger, "some-kid", &valid_claims("viewer"));
    let bound = Duration::from_secs(3);

    let started = Instant::now();
    let login = gateway
        .http
        .post(gateway.url("/api/v1/auth/login"))
        .json(&json!({ "email": "admin@example.com", "password": "whatever it is" }))
        .send()
        .await
        .unwrap();
    let login_took = started.elapsed();
    let started = Instant::now();
    let ready = gateway.http.get(gateway.url("/readyz")).send().await.unwrap();
    let ready_took = started.elapsed();
    let started = Instant::now();
    let me = gateway
        .http
        .get(gateway.url("/api/v1/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let me_took = started.elapsed();

    assert!(login_took < bound, "login took {login_took:?}");
    assert_error(login, 503, "unavailable").await;
    assert!(ready_took < bound, "readyz took {ready_took:?}");
    assert_eq!(ready.status().as_u16(), 503);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "not_ready", "{ready}");
    assert!(me_took < bound, "/me took {me_took:?}");
    assert_error(me, 503, "unavailable").await;
}
