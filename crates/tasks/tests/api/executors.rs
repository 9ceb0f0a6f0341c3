//! The `http` executor against a real HTTP server on 127.0.0.1:0 playing the deploy hook and its status endpoint.
//!
//! The hook server and the helpers that build executors and contexts live here; the cases live in the submodules.

mod cancellation;
mod delivery;
mod policy;
mod polling;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use devopstrack_tasks::domain::spec::{ExecutorSpec, HttpParams};
use devopstrack_tasks::domain::{JobId, Outcome, PipelineId};
use devopstrack_tasks::executor::outbound::OutboundPolicy;
use devopstrack_tasks::executor::{ExecutorSettings, Executors, LogSink, RunContext};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "hook-secret-value-9f8e7d";
const POLL: Duration = Duration::from_millis(20);

/// A request the hook server received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// What the hook server answers: status, headers, body.
struct Reply(u16, Vec<(&'static str, String)>, String);

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Reply(
            status,
            vec![("content-type", "application/json".into())],
            body.to_string(),
        )
    }
}

/// Decides the answer from the request and how many requests its path had before it.
type Script = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// A hook server; `seen` records every request in order. It stops with the test's runtime.
struct HookServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl HookServer {
    async fn start(script: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the hook server");
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, script) = (log.clone(), script.clone());
                let service = service_fn(move |req: Request<Incoming>| {
                    let (log, script) = (log.clone(), script.clone());
                    async move { Ok::<_, Infallible>(answer(req, &log, &*script).await) }
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        HookServer { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self, method: &str, path: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .count()
    }
}

async fn answer(req: Request<Incoming>, log: &Mutex<Vec<Seen>>, script: &Script) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body,
    };
    let before = {
        let mut log = log.lock().unwrap();
        let before = log.iter().filter(|s| s.path == seen.path).count();
        log.push(seen.clone());
        before
    };
    let Reply(status, headers, body) = script(&seen, before);
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    response.body(Full::new(Bytes::from(body))).unwrap()
}

/// Executors whose hooks may be on loopback (where the tests' hook servers listen), as the outbound allowlist says.
fn executors() -> Executors {
    executors_with(allowing(&["127.0.0.0/8"]))
}

fn executors_with(outbound: OutboundPolicy) -> Executors {
    let hook_secrets = BTreeMap::from([("DEPLOY_HOOK".to_owned(), SecretString::from(SECRET))]);
    Executors::new(ExecutorSettings {
        hook_secrets,
        hook_poll: POLL,
        outbound,
    })
    .expect("build the executors")
}

fn allowing(entries: &[&str]) -> OutboundPolicy {
    let entries: Vec<String> = entries.iter().map(|e| (*e).to_owned()).collect();
    OutboundPolicy::parse(&entries, &[]).expect("valid allowlist entries")
}

fn context() -> (RunContext, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel(4096);
    let ctx = RunContext {
        pipeline: PipelineId::new(),
        job: JobId::new(),
        job_name: "deploy-api".to_owned(),
        attempt: 2,
        project: "api".to_owned(),
        environment: Some("production".to_owned()),
        version: Some("2.5.0".to_owned()),
        cancel: CancellationToken::new(),
        log: LogSink::new(tx),
    };
    (ctx, rx)
}

fn http(url: String, status_url: Option<String>, secret: Option<&str>) -> ExecutorSpec {
    ExecutorSpec::Http(HttpParams {
        url,
        status_url,
        hmac_secret_ref: secret.map(str::to_owned),
    })
}

fn lines(rx: &mut mpsc::Receiver<String>) -> Vec<String> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

fn reason(outcome: Outcome) -> String {
    match outcome {
        Outcome::Failed { reason } => reason,
        other => panic!("expected a failure, got {other:?}"),
    }
}
