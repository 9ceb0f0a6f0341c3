//! The optional LLM (issue 17), off unless `DEVOPSTRACK_GATEWAY__CHAT_LLM_URL` is set: any OpenAI-compatible endpoint
//! (vLLM, llama.cpp's server, Ollama's `/v1`), or Ollama's native `/api/chat` with its `format`.
//!
//! The model only ever *proposes*, and only when the rules decided nothing ([`understand`]): one intent of the closed
//! set and the words of the message it read as params, in the JSON schema of [`wire`]. That proposal goes through
//! [`parser::ground`]: each word must be in the message (quoted parts blanked out) or be the room's project, then it
//! is resolved against the platform exactly like the rules' reading, and the risk is computed there. The model never
//! sees a log or anything of the platform but the room's project, never sets a risk, never decides an action (a
//! decision is a command the chat reads before anything is parsed, and an answer with any field beyond the schema's
//! is refused). Whatever goes wrong (timeout, an error status, malformed JSON, an intent outside the set, an answer
//! cut short by `finish_reason: length`, a param the message does not hold) leaves the rules' answer standing.
//!
//! The key is sent as `Authorization: Bearer …` (marked sensitive), kept in a `SecretString`, and never logged: no
//! error here carries a response body.

mod wire;

use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use devopstrack_platform::metrics::MetricsRegistry;

use crate::chat::domain::{MessageText, Parsed};
use crate::chat::parser::{self, ParseContext, Proposal};

/// Which API the endpoint speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmApi {
    /// `POST {url}/chat/completions` with `response_format: {type: json_schema}` (`url` ends in `/v1`).
    #[default]
    Openai,
    /// Ollama's native `POST {url}/api/chat` with `format: <schema>`.
    Ollama,
}

/// Where the model is and how to ask it.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// The API's base URL: `http://127.0.0.1:11434/v1` (OpenAI-compatible), `http://127.0.0.1:11434` (Ollama).
    pub url: String,
    pub model: String,
    pub api_key: Option<SecretString>,
    pub api: LlmApi,
    /// The whole request, connection to last byte; past it the rules answer.
    pub timeout: Duration,
}

/// Why a proposal could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the endpoint is unreachable")]
    Unreachable,
    #[error("the endpoint answered HTTP {0}")]
    Status(u16),
    #[error("the answer was cut short (finish_reason: length)")]
    Truncated,
    #[error("malformed answer: {0}")]
    Malformed(String),
}

impl LlmError {
    /// The `outcome` label of the request's duration.
    fn outcome(&self) -> &'static str {
        match self {
            LlmError::Timeout(_) => "timeout",
            LlmError::Unreachable => "unreachable",
            LlmError::Status(_) => "status",
            LlmError::Truncated => "truncated",
            LlmError::Malformed(_) => "malformed",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    /// `ok`, `timeout`, `unreachable`, `status`, `truncated`, `malformed`.
    outcome: &'static str,
}

/// A client of the configured model.
#[derive(Debug)]
pub struct Llm {
    http: reqwest::Client,
    endpoint: String,
    config: LlmConfig,
    duration: Family<OutcomeLabel, Histogram, fn() -> Histogram>,
}

fn duration_histogram() -> Histogram {
    // 25 ms to ~13 s.
    Histogram::new(exponential_buckets(0.025, 2.0, 10))
}

impl Llm {
    /// A client for `config`, its request duration registered as `devopstrack_chat_llm_request_duration_seconds`.
    pub fn new(config: LlmConfig, registry: &MetricsRegistry) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(config.timeout).build()?;
        let base = config.url.trim_end_matches('/');
        let endpoint = match config.api {
            LlmApi::Openai => format!("{base}/chat/completions"),
            LlmApi::Ollama => format!("{base}/api/chat"),
        };
        let duration = Family::new_with_constructor(duration_histogram as fn() -> Histogram);
        registry.register(
            "devopstrack_chat_llm_request_duration_seconds",
            "Requests to the chat's LLM, by outcome (ok, timeout, unreachable, status, truncated, malformed)",
            duration.clone(),
        );
        Ok(Self {
            http,
            endpoint,
            config,
            duration,
        })
    }

    /// Asks the model what `unquoted` (a message with its quoted parts blanked out, in `ctx`'s room) asks for.
    pub async fn propose(&self, unquoted: &str, ctx: &ParseContext) -> Result<Proposal, LlmError> {
        let started = Instant::now();
        let answer = self.ask(unquoted, ctx).await;
        let outcome = answer.as_ref().map_or_else(LlmError::outcome, |_| "ok");
        self.duration
            .get_or_create(&OutcomeLabel { outcome })
            .observe(started.elapsed().as_secs_f64());
        answer
    }

    async fn ask(&self, unquoted: &str, ctx: &ParseContext) -> Result<Proposal, LlmError> {
        let body = wire::request(self.config.api, &self.config.model, unquoted, ctx);
        let mut request = self.http.post(&self.endpoint).json(&body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                LlmError::Timeout(self.config.timeout)
            } else {
                LlmError::Unreachable
            }
        };
        let response = request.send().await.map_err(failed)?;
        let status = response.status();
        if !status.is_success() {
            return Err(LlmError::Status(status.as_u16()));
        }
        let body = response.bytes().await.map_err(failed)?;
        wire::proposal(self.config.api, &body)
    }
}

/// What the bot understands of `text` in `ctx`: the rules' reading when they decide (or no model is configured),
/// else the model's proposal once grounded, else the rules' reading again.
pub async fn understand(llm: Option<&Llm>, text: &MessageText, ctx: &ParseContext) -> Parsed {
    understand_within(llm, text, ctx, || async { true }).await
}

/// [`understand`], asking `budget` just before the model would be called (only when the rules decide nothing): when
/// it answers `false` the rules' reading is the answer and the model is not called.
pub async fn understand_within<B, F>(llm: Option<&Llm>, text: &MessageText, ctx: &ParseContext, budget: B) -> Parsed
where
    B: FnOnce() -> F,
    F: std::future::Future<Output = bool>,
{
    let rules = parser::parse_rules(text, ctx);
    let Some(llm) = llm.filter(|_| !rules.decided) else {
        return rules.parsed;
    };
    if !budget().await {
        return rules.parsed;
    }
    let proposal = match llm.propose(&rules.unquoted, ctx).await {
        Ok(proposal) => proposal,
        Err(error) => {
            tracing::warn!(%error, "the chat's LLM gave no proposal; the rules answer");
            return rules.parsed;
        }
    };
    match parser::ground(&proposal, &rules, ctx) {
        Ok(parsed) => parsed,
        Err(refusal) => {
            tracing::info!(%refusal, "the chat's LLM proposal is refused; the rules answer");
            rules.parsed
        }
    }
}
