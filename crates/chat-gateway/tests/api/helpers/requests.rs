//! Typed helpers to drive the edge over HTTP: requests with an optional bearer token, logging in, creating users, and
//! reading error bodies and cookies off the answers.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use super::{PASSWORD, TestApp, TestGateway};

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request with an optional bearer token.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token).send().await.expect("send a GET")
    }

    /// POSTs to `path` with no body.
    pub async fn post(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::POST, path, token)
            .send()
            .await
            .expect("send a POST")
    }

    /// GETs `path` and reads the answer's JSON body, whatever its status.
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        self.get(path, token).await.json().await.expect("a JSON answer")
    }

    /// The messages of chat room `room` over REST, as `token` reads them; `query` is the page's (`limit=100`).
    pub async fn room_messages(&self, token: &str, room: &str, query: &str) -> Vec<Value> {
        let page = self
            .get_json(&format!("/api/v1/chat/rooms/{room}/messages?{query}"), Some(token))
            .await;
        page["items"].as_array().expect("items").clone()
    }

    /// The Prometheus text of the gateway's admin port.
    pub async fn admin_metrics(&self) -> String {
        let response = self
            .http
            .get(format!("{}/metrics", self.admin_url))
            .send()
            .await
            .expect("GET the admin port's /metrics");
        assert_eq!(response.status().as_u16(), 200, "the admin port serves /metrics");
        response.text().await.expect("the metrics text")
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(Method::POST, path, token, body).await
    }

    pub async fn send_json(&self, method: Method, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("send a JSON request")
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Logs in and returns the access token (panics unless the login succeeds).
    pub async fn token_for(&self, email: &str, password: &str) -> String {
        let response = self.login(email, password).await;
        assert_eq!(response.status().as_u16(), 200, "log in as {email}");
        let body: Value = response.json().await.expect("a JSON token response");
        body["accessToken"].as_str().expect("an access token").to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token_for(&self.admin_email, &self.admin_password).await
    }

    /// The tokens a permission test asks with: the admin's, then a viewer's (`viewer@example.com`) and an operator's
    /// (`op@example.com`), both created by the admin.
    pub async fn admin_viewer_operator(&self) -> (String, String, String) {
        let admin = self.admin_token().await;
        let (_, viewer) = self.user_with_token(&admin, "viewer@example.com", "viewer").await;
        let (_, operator) = self.user_with_token(&admin, "op@example.com", "operator").await;
        (admin, viewer, operator)
    }

    /// Creates a user through the API as `admin_token`: (email, password).
    pub async fn create_user(&self, admin_token: &str, email: &str, role: &str) -> (String, String) {
        let body = json!({ "email": email, "name": email.split('@').next(), "role": role, "password": PASSWORD });
        let response = self.post_json("/api/v1/users", Some(admin_token), &body).await;
        let status = response.status().as_u16();
        assert_eq!(
            status,
            201,
            "create {email}: {}",
            response.text().await.unwrap_or_default()
        );
        (email.to_owned(), PASSWORD.to_owned())
    }

    /// A new user with `role`, logged in: (user id, access token).
    pub async fn user_with_token(&self, admin_token: &str, email: &str, role: &str) -> (String, String) {
        let (email, password) = self.create_user(admin_token, email, role).await;
        let token = self.token_for(&email, &password).await;
        let me: Value = self.get_json("/api/v1/auth/me", Some(&token)).await;
        (me["id"].as_str().expect("an id").to_owned(), token)
    }
}

impl TestGateway {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// The status, `error.code` and `error.message` of what `sent` answered, or why it has none (no answer, a body that
/// is not JSON): for table-driven tests that report every failing case at the end ([`assert_no_failures`]).
pub async fn error_parts(sent: reqwest::Result<Response>) -> Result<(u16, String, String), String> {
    let response = sent.map_err(|e| format!("no response: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| format!("{status} with an unreadable body: {e}"))?;
    let body: Value = serde_json::from_str(&text).map_err(|_| format!("{status} with a non-JSON body {text:?}"))?;
    let field = |name: &str| body["error"][name].as_str().unwrap_or_default().to_owned();
    Ok((status, field("code"), field("message")))
}

/// Fails with every failed case of a table, one a line.
pub fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Asserts the status and the JSON error `code`; returns the message.
pub async fn assert_error(response: Response, status: u16, code: &str) -> String {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("read the body");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON error body, got {text:?}"));
    assert_eq!(actual, status, "status of {body}");
    assert_eq!(body["error"]["code"], code, "code of {body}");
    body["error"]["message"].as_str().expect("an error message").to_owned()
}

/// The `Set-Cookie` header that sets the refresh cookie, if the response has one.
pub fn refresh_set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("devopstrack_refresh="))
        .map(str::to_owned)
}

/// The value of a `name=value; …` cookie header.
pub fn cookie_value(set_cookie: &str) -> &str {
    set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map_or("", |(_, value)| value)
}
