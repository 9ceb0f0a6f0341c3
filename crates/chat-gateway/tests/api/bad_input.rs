//! Hostile and sloppy input: every case answers a 4xx with a machine-readable code and a message naming the field;
//! none is ever a 500.

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{PASSWORD, TestApp, assert_error, assert_no_failures, error_parts, spawn_app};

/// What the error message must look like.
#[derive(Debug, Clone, Copy)]
enum Message {
    Any,
    StartsWith(&'static str),
    Contains(&'static str),
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    /// The whole `Authorization` header.
    authorization: Option<String>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    message: Message,
}

fn case(name: &'static str, method: Method, path: impl Into<String>) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        authorization: None,
        content_type: Some("application/json"),
        body: Vec::new(),
        status: 400,
        code: "invalid_argument",
        message: Message::Any,
    }
}

impl Case {
    fn login(name: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            body: body.into(),
            ..case(name, Method::POST, "/api/v1/auth/login")
        }
    }

    fn with_bearer(self, token: &str) -> Self {
        Self {
            authorization: Some(format!("Bearer {token}")),
            ..self
        }
    }

    fn body(self, body: impl Into<Vec<u8>>) -> Self {
        Self {
            body: body.into(),
            ..self
        }
    }

    fn content_type(self, content_type: Option<&'static str>) -> Self {
        Self { content_type, ..self }
    }

    fn expect(self, status: u16, code: &'static str, message: Message) -> Self {
        Self {
            status,
            code,
            message,
            ..self
        }
    }
}

fn new_user(extra: &str, email: &str, name: &str, role: &str) -> String {
    let user = json!({ "email": email, "name": name, "role": role, "password": PASSWORD }).to_string();
    format!("{}{extra}}}", user.trim_end_matches('}'))
}

fn cases(admin: &str, admin_id: &str) -> Vec<Case> {
    use Message::{Any, Contains, StartsWith};
    let login_ok = format!(r#"{{"email":"admin@example.com","password":{PASSWORD:?}}}"#);
    let too_large = format!(r#"{{"email":"{}@example.com","password":"x"}}"#, "a".repeat(70 * 1024));
    let nested_ignored = format!(
        r#"{{"deep":{}{},"email":"a@example.com"}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let users = "/api/v1/users";
    vec![
        Case::login("malformed JSON", r#"{"email":"#).expect(400, "invalid_json", Any),
        Case::login("an empty body", "").expect(400, "invalid_json", Any),
        Case::login("invalid UTF-8", vec![0xff, 0xfe, b'{']).expect(400, "invalid_json", Any),
        Case::login("a wrong type", r#"{"email":123,"password":"x"}"#).expect(
            400,
            "invalid_argument",
            StartsWith("email:"),
        ),
        Case::login("a missing field", r#"{"email":"a@example.com"}"#).expect(
            400,
            "invalid_argument",
            Contains("password"),
        ),
        Case::login("a body over 64 KiB", too_large).expect(413, "payload_too_large", Any),
        Case::login("no content type", login_ok.clone())
            .content_type(None)
            .expect(415, "unsupported_media_type", Any),
        Case::login("text/plain", login_ok.clone())
            .content_type(Some("text/plain"))
            .expect(415, "unsupported_media_type", Any),
        Case::login("10k unclosed brackets", "[".repeat(10_000)).expect(400, "invalid_argument", Any),
        Case::login("10k brackets in an unknown field", nested_ignored).expect(
            400,
            "invalid_argument",
            Contains("password"),
        ),
        Case::login("trailing garbage", format!("{login_ok} garbage")).expect(
            400,
            "invalid_json",
            Contains("trailing"),
        ),
        case("an unknown role", Method::POST, users)
            .with_bearer(admin)
            .body(new_user("", "n1@example.com", "N", "root"))
            .expect(400, "invalid_argument", StartsWith("role:")),
        case("an unknown field", Method::POST, users)
            .with_bearer(admin)
            .body(new_user(r#","isAdmin":true"#, "n2@example.com", "N", "viewer"))
            .expect(400, "invalid_argument", Contains("isAdmin")),
        case("an invalid email", Method::POST, users)
            .with_bearer(admin)
            .body(new_user("", "not-an-email", "N", "viewer"))
            .expect(400, "invalid_argument", StartsWith("email:")),
        case("a control character in a name", Method::POST, users)
            .with_bearer(admin)
            .body(new_user("", "n3@example.com", "Ada\u{7}\u{0}", "viewer"))
            .expect(400, "invalid_argument", StartsWith("name:")),
        case("a 101-character unicode name", Method::POST, users)
            .with_bearer(admin)
            .body(new_user("", "n4@example.com", &"é".repeat(101), "viewer"))
            .expect(400, "invalid_argument", StartsWith("name:")),
        case("pageSize=abc", Method::GET, "/api/v1/users?pageSize=abc")
            .with_bearer(admin)
            .expect(400, "invalid_argument", Any),
        case("pageSize=0", Method::GET, "/api/v1/users?pageSize=0")
            .with_bearer(admin)
            .expect(400, "invalid_argument", Contains("pageSize")),
        case("pageSize=-1", Method::GET, "/api/v1/users?pageSize=-1")
            .with_bearer(admin)
            .expect(400, "invalid_argument", Any),
        case(
            "a garbage pageToken",
            Method::GET,
            "/api/v1/users?pageToken=%F0%9F%92%A9garbage",
        )
        .with_bearer(admin)
        .expect(400, "invalid_argument", StartsWith("pageToken:")),
        case("an unknown query parameter", Method::GET, "/api/v1/tokens?everything=1")
            .with_bearer(admin)
            .expect(400, "invalid_argument", Contains("everything")),
        case(
            "a user id that is not a UUID",
            Method::PATCH,
            "/api/v1/users/not-a-uuid",
        )
        .with_bearer(admin)
        .body(r#"{"name":"X"}"#)
        .expect(400, "invalid_argument", StartsWith("id:")),
        case("an empty patch", Method::PATCH, format!("/api/v1/users/{admin_id}"))
            .with_bearer(admin)
            .body("{}")
            .expect(400, "invalid_argument", Contains("nothing to update")),
        case(
            "a too short new password",
            Method::PUT,
            format!("/api/v1/users/{admin_id}/password"),
        )
        .with_bearer(admin)
        .body(r#"{"newPassword":"short"}"#)
        .expect(400, "invalid_argument", StartsWith("newPassword:")),
        Case {
            authorization: Some(format!("Bearer {}", "A".repeat(16 * 1024))),
            ..case("a huge Authorization header", Method::GET, "/api/v1/auth/me")
        }
        .expect(401, "unauthenticated", Any),
    ]
}

async fn run(app: &TestApp, case: &Case) -> Result<(), String> {
    let mut request = app
        .http
        .request(case.method.clone(), app.url(&case.path))
        .body(case.body.clone());
    if let Some(content_type) = case.content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(authorization) = &case.authorization {
        request = request.header("authorization", authorization);
    }
    let (status, code, message) = error_parts(request.send().await).await?;
    let message_ok = match case.message {
        Message::Any => !message.is_empty(),
        Message::StartsWith(prefix) => message.starts_with(prefix),
        Message::Contains(part) => message.contains(part),
    };
    if status >= 500 || status != case.status || code != case.code || !message_ok {
        return Err(format!(
            "got {status} {code} {message:?}; want {} {} {:?}",
            case.status, case.code, case.message
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_4xx_with_a_code_and_never_a_500() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let me: Value = app.get_json("/api/v1/auth/me", Some(&admin)).await;
    let admin_id = me["id"].as_str().expect("the admin's id").to_owned();

    let mut failures = Vec::new();
    for case in cases(&admin, &admin_id) {
        if let Err(why) = run(&app, &case).await {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert_no_failures(&failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_query_parameter_is_named_in_the_message() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    for query in ["pageSize=abc", "pageSize=-1", "pageSize=1&all=maybe"] {
        let response = app.get(&format!("/api/v1/tokens?{query}"), Some(&admin)).await;

        let message = assert_error(response, 400, "invalid_argument").await;
        let field = query
            .rsplit('&')
            .next()
            .and_then(|p| p.split('=').next())
            .unwrap_or_default();
        assert!(message.contains(field), "{query}: {message:?} should name {field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_64_kib_is_refused_without_a_content_length() {
    let app = spawn_app().await;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    let body = format!(r#"{{"email":"{}@example.com","password":"x"}}"#, "a".repeat(70 * 1024));
    let request = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");

    // The server may answer and close before reading everything: keep what arrived either way.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;

    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains(r#""code":"payload_too_large""#), "{response}");
}
