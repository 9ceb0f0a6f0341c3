//! `POST /api/v1/webhooks/github/{project}` and `/api/v1/projects/{slug}/integrations/github`, end to end: the real
//! auth, projects and tasks services behind the real gateway, GitHub's payload shapes (the tasks crate's
//! `tests/fixtures/github/`: the intake lives there), signatures computed as GitHub computes them. The helpers are
//! here; the tests in `settings`, `effects`, `deliveries` and `refusals` (crash safety is tested in tasks).

mod deliveries;
mod effects;
mod refusals;
mod settings;

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{PROJECT, TestApp, spawn_app_with_tasks};

pub const SECRET: &str = "It's a Secret to Everybody";

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../tasks/tests/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A delivery as GitHub sends it; `None` leaves that header out.
pub struct Delivery<'a> {
    pub project: &'a str,
    pub event: Option<&'a str>,
    pub id: Option<&'a str>,
    pub signature: Option<String>,
    pub body: Vec<u8>,
}

impl<'a> Delivery<'a> {
    /// `event` with `body`, signed with [`SECRET`], for [`PROJECT`].
    pub fn signed(event: &'a str, id: &'a str, body: Vec<u8>) -> Self {
        Self {
            project: PROJECT,
            event: Some(event),
            id: Some(id),
            signature: Some(sign(SECRET, &body)),
            body,
        }
    }

    pub async fn send(self, app: &TestApp) -> Response {
        self.send_to(&app.http, &app.base_url).await
    }

    /// [`Self::send`] to the gateway at `base_url`.
    pub async fn send_to(self, http: &reqwest::Client, base_url: &str) -> Response {
        let mut request = http
            .post(format!("{base_url}/api/v1/webhooks/github/{}", self.project))
            .header("content-type", "application/json")
            .header("user-agent", "GitHub-Hookshot/044aadd");
        for (name, value) in [
            ("x-github-event", self.event.map(str::to_owned)),
            ("x-github-delivery", self.id.map(str::to_owned)),
            ("x-hub-signature-256", self.signature),
        ] {
            if let Some(value) = value {
                request = request.header(name, value);
            }
        }
        request.body(self.body).send().await.expect("deliver a webhook")
    }
}

pub async fn status_and_body(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

/// The app with [`SECRET`] set on [`PROJECT`]; the admin's token.
pub async fn configured_app() -> (TestApp, String) {
    let app = spawn_app_with_tasks().await;
    let admin = set_secret(&app).await;
    (app, admin)
}

/// Sets [`SECRET`] on [`PROJECT`]; the admin's token.
pub async fn set_secret(app: &TestApp) -> String {
    let admin = app.admin_token().await;
    let body = json!({ "webhookSecret": SECRET });
    let response = app
        .send_json(
            Method::PUT,
            "/api/v1/projects/api/integrations/github",
            Some(&admin),
            &body,
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "set the webhook secret");
    admin
}

/// The value of the gateway's counter line starting with `prefix` (0 when absent).
pub async fn counter(app: &TestApp, prefix: &str) -> u64 {
    let text = app.admin_metrics().await;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// `devopstrack_webhook_deliveries_total` of one `event` and `result`, from the admin port.
pub async fn deliveries_counted(app: &TestApp, event: &str, result: &str) -> u64 {
    let series = format!("devopstrack_webhook_deliveries_total{{event=\"{event}\",result=\"{result}\"}}");
    counter(app, &series).await
}

/// Polls `read` every 50 ms until it answers `Some`, for at most `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut read: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = read().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} did not happen within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn github_pipeline(app: &TestApp, token: &str, external_id: &str) -> Option<Value> {
    let page: Value = app.get_json("/api/v1/pipelines?project=api", Some(token)).await;
    page["pipelines"]
        .as_array()?
        .iter()
        .find(|p| p["externalId"] == external_id)
        .cloned()
}
