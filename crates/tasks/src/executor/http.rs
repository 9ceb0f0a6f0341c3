//! The `http` executor: deploy hooks. It POSTs the attempt as JSON to `url` (signed with HMAC-SHA256 when the job names
//! a configured secret), and when the hook gives a status URL, polls it until the remote deploy ends.
//!
//! The receiver can rely on `X-DevOpsTrack-Delivery: <jobId>:<attempt>` being the same for a retried request of one
//! attempt and new for each attempt. Log lines name URLs without their query (where tokens tend to hide) and never carry
//! a secret or a response body; a failure reason may quote up to [`SNIPPET_CHARS`] characters of a remote answer.

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::redirect::{Action, Attempt, Policy};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

use super::{Cancelled, ExecutorSettings, RunContext, cancelled};
use crate::domain::Outcome;
use crate::domain::spec::HttpParams;

const USER_AGENT: &str = concat!("devopstrack-tasks/", env!("CARGO_PKG_VERSION"));
const DELIVERY_HEADER: &str = "X-DevOpsTrack-Delivery";
const SIGNATURE_HEADER: &str = "X-DevOpsTrack-Signature";
/// Per request, connection included: a hook that hangs fails its poll (or the attempt) instead of the whole job.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_REDIRECTS: usize = 5;
/// Responses are read up to this many bytes; a status document is small, anything longer is not one.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Consecutive failed polls (connection errors, 5xx, unreadable JSON) after which the attempt fails.
pub(super) const MAX_POLL_FAILURES: u32 = 10;
/// How much of a remote answer a failure reason quotes.
const SNIPPET_CHARS: usize = 200;

pub(super) struct HttpExecutor {
    client: reqwest::Client,
    secrets: BTreeMap<String, SecretString>,
    poll: Duration,
}

/// What the hook receives.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    pipeline_id: String,
    job_id: String,
    job: &'a str,
    attempt: u32,
    project: &'a str,
    environment: Option<&'a str>,
    version: Option<&'a str>,
}

/// A response body read up to [`MAX_BODY_BYTES`].
struct Body {
    bytes: Vec<u8>,
    truncated: bool,
}

/// What one poll of the status URL tells.
enum Poll {
    /// A status document; `Some` when the remote deploy ended.
    Status { status: String, outcome: Option<Outcome> },
    /// Worth another try after the poll interval.
    Transient(String),
    /// The status URL will not work (a 4xx other than 408/429, a redirect elsewhere): the attempt fails now.
    Fatal(String),
}

impl HttpExecutor {
    pub(super) fn new(settings: ExecutorSettings) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(Policy::custom(same_origin_redirects))
            .build()?;
        Ok(Self {
            client,
            secrets: settings.hook_secrets,
            poll: settings.hook_poll,
        })
    }

    #[tracing::instrument(skip_all, fields(job = %ctx.job, attempt = ctx.attempt))]
    pub(super) async fn run(&self, params: &HttpParams, ctx: &RunContext) -> Outcome {
        match self.deliver(params, ctx).await {
            Ok(outcome) => outcome,
            Err(Cancelled) => {
                ctx.log
                    .line_now("deploy hook: cancelled, not waiting for the remote deploy any longer");
                cancelled()
            }
        }
    }

    async fn deliver(&self, params: &HttpParams, ctx: &RunContext) -> Result<Outcome, Cancelled> {
        let secret = match &params.hmac_secret_ref {
            None => None,
            Some(name) => match self.secrets.get(name) {
                Some(secret) => Some((name.as_str(), secret)),
                None => {
                    ctx.say(format!(
                        "deploy hook: secret {name:?} is not configured, nothing was sent"
                    ))
                    .await?;
                    return Ok(failed(format!(
                        "hmacSecretRef {name:?} names no secret in the tasks service's hook_secrets"
                    )));
                }
            },
        };
        let hook = match Url::parse(&params.url) {
            Ok(url) => url,
            Err(e) => return Ok(failed(format!("deploy hook URL is invalid: {e}"))),
        };
        let body = match serde_json::to_vec(&payload(ctx)) {
            Ok(body) => body,
            Err(e) => return Ok(failed(format!("cannot encode the deploy hook payload: {e}"))),
        };
        let delivery = format!("{}:{}", ctx.job, ctx.attempt);
        let mut request = self
            .client
            .post(hook.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(DELIVERY_HEADER, &delivery);
        let signed = match secret {
            Some((name, secret)) => match sign(secret, &body) {
                Ok(signature) => {
                    request = request.header(SIGNATURE_HEADER, signature);
                    format!("signed with {name:?}")
                }
                Err(why) => return Ok(failed(why)),
            },
            None => "unsigned".to_owned(),
        };
        ctx.say(format!(
            "deploy hook: POST {} (delivery {delivery}, {signed})",
            redact(&hook)
        ))
        .await?;

        let response = match ctx.guard(request.body(body).send()).await? {
            Ok(response) => response,
            Err(e) => {
                let why = describe(e);
                ctx.say(format!("deploy hook: request failed: {why}")).await?;
                return Ok(failed(format!(
                    "deploy hook request to {} failed: {why}",
                    redact(&hook)
                )));
            }
        };
        let status = response.status();
        let answered = response.url().clone();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        ctx.say(format!("deploy hook: answered HTTP {status}")).await?;
        let body = match ctx.guard(read_capped(response)).await? {
            Ok(body) => body,
            Err(e) => {
                ctx.say(format!("deploy hook: could not read the answer: {}", describe(e)))
                    .await?;
                Body {
                    bytes: Vec::new(),
                    truncated: false,
                }
            }
        };
        if !status.is_success() {
            return Ok(failed(with_snippet(
                format!("deploy hook answered HTTP {}", status.as_u16()),
                &body.bytes,
            )));
        }

        match status_url(params, &hook, &answered, &body, location.as_deref()) {
            Ok(Some(url)) => self.follow(&url, ctx).await,
            Ok(None) => {
                ctx.say("deploy hook: no status URL to follow, the 2xx answer means success")
                    .await?;
                Ok(Outcome::Succeeded)
            }
            Err(why) => {
                ctx.say(format!("deploy hook: {why}")).await?;
                Ok(failed(why))
            }
        }
    }

    /// Polls `url` every poll interval until its `status` is terminal, or it fails for good.
    async fn follow(&self, url: &Url, ctx: &RunContext) -> Result<Outcome, Cancelled> {
        ctx.say(format!(
            "deploy hook: following {} every {} ms",
            redact(url),
            self.poll.as_millis()
        ))
        .await?;
        let mut failures = 0;
        let mut last_status = None;
        loop {
            ctx.guard(tokio::time::sleep(self.poll)).await?;
            match self.poll_once(url, ctx).await? {
                Poll::Status { status, outcome } => {
                    failures = 0;
                    if last_status.as_ref() != Some(&status) {
                        ctx.say(format!("deploy hook: status {status}")).await?;
                    }
                    if let Some(outcome) = outcome {
                        return Ok(outcome);
                    }
                    last_status = Some(status);
                }
                Poll::Transient(why) => {
                    failures += 1;
                    ctx.say(format!(
                        "deploy hook: status poll failed ({failures}/{MAX_POLL_FAILURES}): {why}"
                    ))
                    .await?;
                    if failures >= MAX_POLL_FAILURES {
                        return Ok(failed(format!(
                            "status URL {} failed {MAX_POLL_FAILURES} times in a row, last: {why}",
                            redact(url)
                        )));
                    }
                }
                Poll::Fatal(why) => {
                    ctx.say(format!("deploy hook: status poll failed: {why}")).await?;
                    return Ok(failed(format!("status URL {}: {why}", redact(url))));
                }
            }
        }
    }

    async fn poll_once(&self, url: &Url, ctx: &RunContext) -> Result<Poll, Cancelled> {
        let sent = self.client.get(url.clone()).header(ACCEPT, "application/json").send();
        let response = match ctx.guard(sent).await? {
            Ok(response) => response,
            Err(e) => return Ok(Poll::Transient(describe(e))),
        };
        let code = response.status();
        let body = match ctx.guard(read_capped(response)).await? {
            Ok(body) => body,
            Err(e) => return Ok(Poll::Transient(describe(e))),
        };
        if code.is_server_error() || matches!(code, StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT) {
            return Ok(Poll::Transient(format!("HTTP {}", code.as_u16())));
        }
        if !code.is_success() {
            return Ok(Poll::Fatal(with_snippet(
                format!("answered HTTP {}", code.as_u16()),
                &body.bytes,
            )));
        }
        if body.truncated {
            return Ok(Poll::Transient(format!("answer larger than {MAX_BODY_BYTES} bytes")));
        }
        Ok(parse_status(&body.bytes))
    }
}

fn payload(ctx: &RunContext) -> Payload<'_> {
    Payload {
        pipeline_id: ctx.pipeline.to_string(),
        job_id: ctx.job.to_string(),
        job: &ctx.job_name,
        attempt: ctx.attempt,
        project: &ctx.project,
        environment: ctx.environment.as_deref(),
        version: ctx.version.as_deref(),
    }
}

/// `sha256=<hex HMAC-SHA256 of the exact body bytes>`, the header GitHub's webhooks made familiar.
fn sign(secret: &SecretString, body: &[u8]) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .map_err(|_| "cannot use the configured hook secret as an HMAC key".to_owned())?;
    mac.update(body);
    Ok(format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
}

/// The URL to poll: the job's `statusUrl`, else the answer's JSON `statusUrl`, else its `Location`. One the hook
/// names must stay on the hook's origin: a hook must not point the worker at arbitrary hosts (cloud metadata, say).
fn status_url(
    params: &HttpParams,
    hook: &Url,
    answered: &Url,
    body: &Body,
    location: Option<&str>,
) -> Result<Option<Url>, String> {
    if let Some(raw) = &params.status_url {
        return Url::parse(raw)
            .map(Some)
            .map_err(|e| format!("statusUrl is invalid: {e}"));
    }
    let from_body = (!body.truncated)
        .then(|| serde_json::from_slice::<Value>(&body.bytes).ok())
        .flatten()
        .and_then(|doc| doc.get("statusUrl")?.as_str().map(str::to_owned));
    let Some(raw) = from_body.as_deref().or(location) else {
        return Ok(None);
    };
    let url = answered
        .join(raw)
        .map_err(|e| format!("the hook's status URL is invalid: {e}"))?;
    if origin(&url) != origin(hook) {
        return Err(format!(
            "the hook's status URL {} is not on the hook's origin; set params.statusUrl to poll another host",
            redact(&url)
        ));
    }
    Ok(Some(url))
}

/// Reads `{"status": …, "message"|"reason": …}`; a document without a string `status` is not a status (yet).
fn parse_status(bytes: &[u8]) -> Poll {
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(doc) => doc,
        Err(e) => return Poll::Transient(format!("answer is not JSON: {e}")),
    };
    let Some(raw) = doc.get("status").and_then(Value::as_str) else {
        return Poll::Transient("answer has no string \"status\"".to_owned());
    };
    let status = clean(raw.trim(), 64);
    let message = ["message", "reason"]
        .iter()
        .find_map(|key| doc.get(*key)?.as_str().filter(|m| !m.trim().is_empty()))
        .map(|m| clean(m.trim(), SNIPPET_CHARS));
    let outcome = match status.to_ascii_lowercase().as_str() {
        "succeeded" | "success" => Some(Outcome::Succeeded),
        "failed" | "failure" | "error" => Some(failed(match message {
            Some(message) => format!("deploy hook reported {status}: {message}"),
            None => format!("deploy hook reported {status}"),
        })),
        "timed_out" => Some(Outcome::TimedOut),
        _ => None,
    };
    Poll::Status { status, outcome }
}

/// Follows at most [`MAX_REDIRECTS`] redirects, and only within the origin of the first URL: a redirect elsewhere is
/// answered as is (a 3xx, so the attempt fails with its code) rather than sending the payload to another host.
fn same_origin_redirects(attempt: Attempt) -> Action {
    let Some(first) = attempt.previous().first() else {
        return attempt.stop();
    };
    if attempt.previous().len() > MAX_REDIRECTS {
        attempt.error("too many redirects")
    } else if origin(attempt.url()) != origin(first) {
        attempt.stop()
    } else {
        attempt.follow()
    }
}

fn origin(url: &Url) -> (&str, Option<&str>, Option<u16>) {
    (url.scheme(), url.host_str(), url.port_or_known_default())
}

async fn read_capped(mut response: reqwest::Response) -> Result<Body, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY_BYTES - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Body { bytes, truncated: true });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body {
        bytes,
        truncated: false,
    })
}

fn failed(reason: String) -> Outcome {
    Outcome::Failed { reason }
}

/// `reason` followed by the start of a remote answer, when there is one.
fn with_snippet(reason: String, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        reason
    } else {
        format!("{reason}: {}", clean(text, SNIPPET_CHARS))
    }
}

/// At most `max` characters of `text` on one line (control characters become spaces), marked when cut.
fn clean(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// The URL without credentials, query or fragment (`?…` marks a dropped query): fit for a log line.
fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    let mut shown = shown.to_string();
    if url.query().is_some() {
        shown.push_str("?…");
    }
    shown
}

/// The error and its causes on one line, without the URL (which may carry a token in its query).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    clean(&text, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_statuses_map_to_outcomes_and_others_keep_polling() {
        let cases = [
            (r#"{"status":"succeeded"}"#, Some(Outcome::Succeeded)),
            (r#"{"status":"SUCCESS"}"#, Some(Outcome::Succeeded)),
            (r#"{"status":"timed_out"}"#, Some(Outcome::TimedOut)),
            (
                r#"{"status":"failed","message":"helm upgrade failed"}"#,
                Some(failed("deploy hook reported failed: helm upgrade failed".into())),
            ),
            (
                r#"{"status":"error","reason":"quota"}"#,
                Some(failed("deploy hook reported error: quota".into())),
            ),
            (
                r#"{"status":"failure"}"#,
                Some(failed("deploy hook reported failure".into())),
            ),
            (r#"{"status":"running"}"#, None),
            (r#"{"status":"queued","message":"x"}"#, None),
        ];
        for (doc, want) in cases {
            match parse_status(doc.as_bytes()) {
                Poll::Status { outcome, .. } => assert_eq!(outcome, want, "{doc}"),
                _ => panic!("{doc} should be a status"),
            }
        }
    }

    #[test]
    fn documents_without_a_string_status_are_transient_errors() {
        for doc in ["not json", "{}", r#"{"status": 3}"#, "[]"] {
            assert!(matches!(parse_status(doc.as_bytes()), Poll::Transient(_)), "{doc}");
        }
    }

    #[test]
    fn redacted_urls_keep_the_path_and_drop_query_and_credentials() {
        let url = Url::parse("https://user:pw@deploy.example:8443/hooks/api?token=s3cret#frag").unwrap();
        assert_eq!(redact(&url), "https://deploy.example:8443/hooks/api?…");
        let plain = Url::parse("http://deploy.example/status/7").unwrap();
        assert_eq!(redact(&plain), "http://deploy.example/status/7");
    }

    #[test]
    fn snippets_are_one_line_and_capped() {
        let long = format!("line one\nline two {}", "x".repeat(500));
        let reason = with_snippet("deploy hook answered HTTP 500".into(), long.as_bytes());
        assert!(
            reason.starts_with("deploy hook answered HTTP 500: line one line two"),
            "{reason}"
        );
        assert!(!reason.contains('\n'));
        assert!(reason.chars().count() <= "deploy hook answered HTTP 500: ".len() + SNIPPET_CHARS + 1);
        assert_eq!(with_snippet("r".into(), b"  "), "r");
    }
}
