//! Job executors: what actually runs one attempt of a job on a worker. [`Executors::run`] takes the job's validated
//! [`ExecutorSpec`] and returns its [`Outcome`]; the worker owns the lease, the job's timeout (it wraps `run` in
//! `tokio::time::timeout`) and the state transitions, so an executor only runs, logs and reports.
//!
//! - [`simulate`](ExecutorSpec::Simulate): sleeps, writes log lines and fails with a given probability (demos, load).
//! - [`http`](ExecutorSpec::Http): POSTs a deploy hook, signed with HMAC when a secret is named, and follows its status,
//!   only to destinations the [`outbound`] policy permits.
//!
//! Every wait races the attempt's cancellation token, so a cancelled pipeline frees its worker at once.

mod http;
pub mod outbound;
mod simulate;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::domain::spec::ExecutorSpec;
use crate::domain::{JobId, Outcome, PipelineId};
use outbound::OutboundPolicy;

/// Where an executor writes its job's log lines; the worker batches them into the job log and live events.
#[derive(Clone)]
pub struct LogSink(mpsc::Sender<String>);

impl LogSink {
    pub fn new(tx: mpsc::Sender<String>) -> Self {
        Self(tx)
    }

    /// Waits when the worker is behind (backpressure); a closed sink drops lines silently.
    pub async fn line(&self, line: impl Into<String>) {
        // A closed sink means the worker stopped collecting this attempt's log; the run itself goes on.
        let _ = self.0.send(line.into()).await;
    }

    /// Never waits: for the last words of a cancelled attempt, whose worker may no longer be reading.
    fn line_now(&self, line: impl Into<String>) {
        let _ = self.0.try_send(line.into());
    }
}

/// What the executor knows of the attempt it runs.
pub struct RunContext {
    pub pipeline: PipelineId,
    pub job: JobId,
    pub job_name: String,
    pub attempt: u32,
    pub project: String,
    pub environment: Option<String>,
    pub version: Option<String>,
    /// Cancelled when the pipeline is cancelled (or the worker gives the job up): stop promptly and return.
    pub cancel: CancellationToken,
    pub log: LogSink,
}

/// The attempt's cancellation token fired while the executor was waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cancelled;

impl RunContext {
    /// Runs `fut` unless the attempt is cancelled first; the future is dropped on cancellation.
    async fn guard<F: Future>(&self, fut: F) -> Result<F::Output, Cancelled> {
        self.cancel.run_until_cancelled(fut).await.ok_or(Cancelled)
    }

    /// Writes a log line, giving up the wait (not the line's order) if the attempt is cancelled meanwhile.
    async fn say(&self, line: impl Into<String>) -> Result<(), Cancelled> {
        self.guard(self.log.line(line)).await
    }
}

/// The outcome every executor reports for a cancelled attempt (the worker turns it into `cancelled`).
fn cancelled() -> Outcome {
    Outcome::Failed {
        reason: "cancelled".to_owned(),
    }
}

pub struct ExecutorSettings {
    /// Secrets the `http` executor may sign with, by the name pipelines use in `hmacSecretRef`.
    pub hook_secrets: BTreeMap<String, SecretString>,
    /// How often the `http` executor polls a status URL (and waits after a failed poll).
    pub hook_poll: Duration,
    /// Where the `http` executor may connect.
    pub outbound: OutboundPolicy,
}

impl ExecutorSettings {
    /// From the settings: their secrets and poll interval, and the outbound policy of
    /// [`Settings::outbound_policy`] (the caller adds the listeners it bound).
    pub fn from_config(settings: &Settings) -> Result<Self, String> {
        Ok(Self {
            hook_secrets: settings.hook_secrets.clone(),
            hook_poll: Duration::from_millis(settings.hook_poll_ms),
            outbound: settings.outbound_policy()?,
        })
    }
}

/// The HTTP client cannot be built (its TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client of the http executor: {0}")]
pub struct ExecutorsError(#[source] reqwest::Error);

/// The executors of one process, shared by its workers: one HTTP client (one connection pool) for every hook.
pub struct Executors {
    http: http::HttpExecutor,
}

impl Executors {
    pub fn new(settings: ExecutorSettings) -> Result<Self, ExecutorsError> {
        Ok(Self {
            http: http::HttpExecutor::new(settings).map_err(ExecutorsError)?,
        })
    }

    /// Runs one attempt to its end. Never panics. Timeouts are the worker's (it wraps this in `tokio::time::timeout`),
    /// so this only returns `TimedOut` when a remote status says so. On cancellation it returns
    /// `Failed { reason: "cancelled" }` promptly.
    pub async fn run(&self, spec: &ExecutorSpec, ctx: &RunContext) -> Outcome {
        match spec {
            ExecutorSpec::Simulate(params) => simulate::run(params, ctx).await,
            ExecutorSpec::Http(params) => self.http.run(params, ctx).await,
            // Tracked from GitHub: `start_job` refuses such a job, so no worker gets here.
            ExecutorSpec::External(_) => Outcome::Failed {
                reason: "tracked from GitHub: DevOpsTrack never runs this job".to_owned(),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A context for a job named `job_name` whose log is collected by the returned receiver.
    pub fn context(job_name: &str) -> (RunContext, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(16_384);
        let ctx = RunContext {
            pipeline: PipelineId::new(),
            job: JobId::new(),
            job_name: job_name.to_owned(),
            attempt: 1,
            project: "api".to_owned(),
            environment: None,
            version: None,
            cancel: CancellationToken::new(),
            log: LogSink::new(tx),
        };
        (ctx, rx)
    }

    /// Every line written so far.
    pub fn drain(rx: &mut mpsc::Receiver<String>) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }
}
