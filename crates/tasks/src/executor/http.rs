//! The `http` executor: deploy hooks. It POSTs the attempt as JSON to `url` (signed with HMAC-SHA256 when the job names
//! a configured secret), and when the hook gives a status URL, polls it until the remote deploy ends. Every request
//! goes through the destination policy ([`crate::executor::outbound`]): a refused destination is never contacted.
//!
//! What the hook receives: `POST` with `Content-Type: application/json`, the body
//! `{"deliveryId","pipelineId","jobId","job","attempt","project","environment","version"}`, and the headers
//! - `X-DevOpsTrack-Delivery: <pipelineId>:<jobId>`: the same for every attempt of the job in this run (retries by its
//!   policy, after a lost lease, or by hand), so a receiver that has already started this deploy can answer with its
//!   status instead of deploying twice; it also stays the same for a re-sent request of one attempt;
//! - `X-DevOpsTrack-Attempt: <n>`: the attempt (1-based), new with each attempt;
//! - `X-DevOpsTrack-Signature: sha256=<hex>` when the job names a secret: the HMAC-SHA256, under that secret, of the
//!   exact body bytes. The body carries `deliveryId` and `attempt` too, so what the headers say is also signed.
//!
//! Log lines name URLs without their query (where tokens tend to hide) and never carry a secret or a response body; a
//! failure reason quotes at most [`EXCERPT_CHARS`] characters of what the answer's JSON says of itself (see `text.rs`).

mod answer;
mod clients;
mod text;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;

use super::outbound::UNREACHABLE;
use super::{Cancelled, ExecutorSettings, RunContext, cancelled};
use crate::domain::Outcome;
use crate::domain::spec::HttpParams;
use answer::{Body, Poll, parse_status, read_capped, status_url};
use clients::Clients;
use text::{describe, redact, with_excerpt};

const USER_AGENT: &str = concat!("devopstrack-tasks/", env!("CARGO_PKG_VERSION"));
const DELIVERY_HEADER: &str = "X-DevOpsTrack-Delivery";
const ATTEMPT_HEADER: &str = "X-DevOpsTrack-Attempt";
const SIGNATURE_HEADER: &str = "X-DevOpsTrack-Signature";
/// Per request, connection included: a hook that hangs fails its poll (or the attempt) instead of the whole job.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_REDIRECTS: usize = 5;
/// Responses are read up to this many bytes; a status document is small, anything longer is not one.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Consecutive failed polls (connection errors, 5xx, unreadable JSON) after which the attempt fails.
pub(super) const MAX_POLL_FAILURES: u32 = 10;
/// How much of a remote answer's own message a failure reason quotes.
const EXCERPT_CHARS: usize = 120;

pub(super) struct HttpExecutor {
    clients: Clients,
    secrets: BTreeMap<String, SecretString>,
    poll: Duration,
}

/// What the hook receives.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    delivery_id: &'a str,
    pipeline_id: String,
    job_id: String,
    job: &'a str,
    attempt: u32,
    project: &'a str,
    environment: Option<&'a str>,
    version: Option<&'a str>,
}

impl HttpExecutor {
    pub(super) fn new(settings: ExecutorSettings) -> Result<Self, reqwest::Error> {
        Ok(Self {
            clients: Clients::new(Arc::new(settings.outbound))?,
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
        let delivery = format!("{}:{}", ctx.pipeline, ctx.job);
        let body = match serde_json::to_vec(&payload(ctx, &delivery)) {
            Ok(body) => body,
            Err(e) => return Ok(failed(format!("cannot encode the deploy hook payload: {e}"))),
        };
        let client = match self.clients.for_url(&hook) {
            Ok(client) => client,
            Err(why) => return self.unreachable(&hook, &why, ctx).await,
        };
        let mut request = client
            .post(hook.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(DELIVERY_HEADER, &delivery)
            .header(ATTEMPT_HEADER, ctx.attempt.to_string());
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
            "deploy hook: POST {} (delivery {delivery}, attempt {}, {signed})",
            redact(&hook),
            ctx.attempt
        ))
        .await?;

        let response = match ctx.guard(request.body(body).send()).await? {
            Ok(response) => response,
            Err(e) if e.is_connect() || e.is_redirect() => {
                return self.unreachable(&hook, &describe(e), ctx).await;
            }
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
            return Ok(failed(with_excerpt(
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
        let client = match self.clients.for_url(url) {
            Ok(client) => client,
            Err(why) => {
                tracing::warn!(url = %redact(url), %why, "outbound: status URL refused");
                return Ok(Poll::Transient(UNREACHABLE.to_owned()));
            }
        };
        let sent = client.get(url.clone()).header(ACCEPT, "application/json").send();
        let response = match ctx.guard(sent).await? {
            Ok(response) => response,
            Err(e) if e.is_connect() || e.is_redirect() => {
                tracing::warn!(url = %redact(url), why = %describe(e), "outbound: status URL not reached");
                return Ok(Poll::Transient(UNREACHABLE.to_owned()));
            }
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
            return Ok(Poll::Fatal(with_excerpt(
                format!("answered HTTP {}", code.as_u16()),
                &body.bytes,
            )));
        }
        if body.truncated {
            return Ok(Poll::Transient(format!("answer larger than {MAX_BODY_BYTES} bytes")));
        }
        Ok(parse_status(&body.bytes))
    }

    /// Fails the attempt without telling viewers why the destination was out of reach (refused by the policy, not
    /// resolving, refusing or not answering the connection: all read the same); the service's log keeps the reason.
    async fn unreachable(&self, url: &Url, why: &str, ctx: &RunContext) -> Result<Outcome, Cancelled> {
        tracing::warn!(url = %redact(url), %why, "outbound: deploy hook not reached");
        ctx.say(format!("deploy hook: request failed: {UNREACHABLE}")).await?;
        Ok(failed(format!(
            "deploy hook request to {} failed: {UNREACHABLE}",
            redact(url)
        )))
    }
}

fn payload<'a>(ctx: &'a RunContext, delivery: &'a str) -> Payload<'a> {
    Payload {
        delivery_id: delivery,
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

fn failed(reason: String) -> Outcome {
    Outcome::Failed { reason }
}
