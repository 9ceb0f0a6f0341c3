//! The `http` executor against a real HTTP server on 127.0.0.1:0 playing the deploy hook and its status endpoint.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devopstrack_tasks::domain::spec::{ExecutorSpec, HttpParams};
use devopstrack_tasks::domain::{JobId, Outcome, PipelineId};
use devopstrack_tasks::executor::{ExecutorSettings, Executors, LogSink, RunContext};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::Sha256;
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

fn executors() -> Executors {
    let hook_secrets = BTreeMap::from([("DEPLOY_HOOK".to_owned(), SecretString::from(SECRET))]);
    Executors::new(ExecutorSettings {
        hook_secrets,
        hook_poll: POLL,
    })
    .expect("build the executors")
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

#[tokio::test]
async fn the_hook_receives_the_signed_payload_and_the_delivery_header() {
    let server = HookServer::start(|_, _| Reply(204, vec![], String::new())).await;
    let (ctx, mut rx) = context();

    let outcome = executors()
        .run(&http(server.url("/hooks/deploy"), None, Some("DEPLOY_HOOK")), &ctx)
        .await;

    assert_eq!(outcome, Outcome::Succeeded);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let hook = &seen[0];
    assert_eq!((hook.method.as_str(), hook.path.as_str()), ("POST", "/hooks/deploy"));
    assert_eq!(hook.headers["content-type"], "application/json");
    assert!(hook.headers["user-agent"].starts_with("devopstrack-tasks/"));
    assert_eq!(hook.headers["x-devopstrack-delivery"], format!("{}:2", ctx.job));
    let signature = hook.headers["x-devopstrack-signature"]
        .strip_prefix("sha256=")
        .expect("sha256= prefix");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&hook.body);
    mac.verify_slice(&hex::decode(signature).unwrap())
        .expect("the signature is the HMAC of the exact body");
    let payload: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(
        payload,
        json!({
            "pipelineId": ctx.pipeline.to_string(),
            "jobId": ctx.job.to_string(),
            "job": "deploy-api",
            "attempt": 2,
            "project": "api",
            "environment": "production",
            "version": "2.5.0",
        })
    );
    let log = lines(&mut rx);
    assert!(
        log.iter().any(|l| l.contains("POST") && l.contains("DEPLOY_HOOK")),
        "{log:?}"
    );
    assert!(log.iter().all(|l| !l.contains(SECRET)), "{log:?}");
}

#[tokio::test]
async fn without_a_secret_ref_the_hook_is_called_unsigned() {
    let server = HookServer::start(|_, _| Reply::json(200, json!({"ok": true}))).await;
    let (ctx, _rx) = context();

    let outcome = executors().run(&http(server.url("/hook"), None, None), &ctx).await;

    assert_eq!(outcome, Outcome::Succeeded);
    assert!(!server.seen()[0].headers.contains_key("x-devopstrack-signature"));
}

#[tokio::test]
async fn an_unknown_secret_ref_fails_naming_it_without_sending_anything() {
    let server = HookServer::start(|_, _| Reply(200, vec![], String::new())).await;
    let (ctx, mut rx) = context();

    let outcome = executors()
        .run(&http(server.url("/hook"), None, Some("NOT_CONFIGURED")), &ctx)
        .await;

    let reason = reason(outcome);
    assert!(reason.contains("\"NOT_CONFIGURED\""), "{reason}");
    assert!(!reason.contains(SECRET));
    assert!(server.seen().is_empty(), "a request was sent");
    assert!(lines(&mut rx).iter().any(|l| l.contains("nothing was sent")));
}

#[tokio::test]
async fn a_500_fails_with_the_code_and_at_most_200_characters_of_the_body() {
    let body = format!("database migration exploded {}", "z".repeat(1000));
    let server = HookServer::start(move |_, _| Reply(500, vec![], body.clone())).await;
    let (ctx, mut rx) = context();

    let reason = reason(executors().run(&http(server.url("/hook"), None, None), &ctx).await);

    assert!(
        reason.starts_with("deploy hook answered HTTP 500: database migration exploded"),
        "{reason}"
    );
    assert!(reason.chars().count() < 260, "{} chars", reason.chars().count());
    assert!(
        lines(&mut rx).iter().all(|l| !l.contains("zzzz")),
        "the body leaked into the log"
    );
}

#[tokio::test]
async fn a_connection_error_fails_the_attempt() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    let (ctx, _rx) = context();

    let reason = reason(executors().run(&http(url, None, None), &ctx).await);

    assert!(
        reason.starts_with("deploy hook request to http://127.0.0.1:"),
        "{reason}"
    );
}

/// https hooks are spoken over TLS (rustls): against a plain-HTTP listener the handshake fails, and the attempt fails
/// with the request error, not with an unsupported scheme.
#[tokio::test]
async fn an_https_hook_is_attempted_over_tls() {
    let server = HookServer::start(|_, _| Reply(200, vec![], String::new())).await;
    let url = server.url("/hook").replacen("http://", "https://", 1);
    let (ctx, _rx) = context();

    let reason = reason(executors().run(&http(url, None, None), &ctx).await);

    assert!(
        reason.starts_with("deploy hook request to https://127.0.0.1:"),
        "{reason}"
    );
    assert!(!reason.contains("scheme"), "{reason}");
    assert_eq!(server.count("POST", "/hook"), 0, "no plain-text request was made");
}

#[tokio::test]
async fn the_status_url_is_followed_through_running_to_succeeded() {
    let server = HookServer::start(|seen, n| match (seen.path.as_str(), n) {
        ("/hook", _) => Reply(202, vec![], String::new()),
        (_, 0 | 1) => Reply::json(200, json!({"status": "running"})),
        _ => Reply::json(200, json!({"status": "succeeded"})),
    })
    .await;
    let (ctx, mut rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status/7?token=abc")), None);

    let outcome = executors().run(&spec, &ctx).await;

    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(server.count("GET", "/status/7"), 3);
    let log = lines(&mut rx);
    assert!(log.iter().any(|l| l.contains("status running")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("status succeeded")), "{log:?}");
    assert!(
        log.iter().all(|l| !l.contains("token=abc")),
        "a query leaked into the log: {log:?}"
    );
}

#[tokio::test]
async fn a_failed_status_fails_the_attempt_with_its_message() {
    let server = HookServer::start(|seen, n| match (seen.path.as_str(), n) {
        ("/hook", _) => Reply(202, vec![], String::new()),
        (_, 0) => Reply::json(200, json!({"status": "running"})),
        _ => Reply::json(
            200,
            json!({"status": "failed", "message": "helm upgrade: timed out waiting for pods"}),
        ),
    })
    .await;
    let (ctx, _rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);

    let reason = reason(executors().run(&spec, &ctx).await);

    assert_eq!(
        reason,
        "deploy hook reported failed: helm upgrade: timed out waiting for pods"
    );
}

#[tokio::test]
async fn a_timed_out_status_is_a_timeout() {
    let server = HookServer::start(|seen, _| match seen.path.as_str() {
        "/hook" => Reply(202, vec![], String::new()),
        _ => Reply::json(200, json!({"status": "timed_out"})),
    })
    .await;
    let (ctx, _rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);

    assert_eq!(executors().run(&spec, &ctx).await, Outcome::TimedOut);
}

#[tokio::test]
async fn the_hooks_json_status_url_and_location_header_are_followed() {
    let server = HookServer::start(|seen, _| match seen.path.as_str() {
        "/json-hook" => Reply::json(202, json!({"statusUrl": "/deploys/1"})),
        "/location-hook" => Reply(201, vec![("location", "/deploys/2".into())], String::new()),
        "/deploys/1" => Reply::json(200, json!({"status": "success"})),
        _ => Reply::json(200, json!({"status": "error", "reason": "rollback"})),
    })
    .await;
    let (ctx, _rx) = context();

    let from_json = executors().run(&http(server.url("/json-hook"), None, None), &ctx).await;
    let from_location = executors()
        .run(&http(server.url("/location-hook"), None, None), &ctx)
        .await;

    assert_eq!(from_json, Outcome::Succeeded);
    assert_eq!(reason(from_location), "deploy hook reported error: rollback");
    assert_eq!(server.count("GET", "/deploys/1"), 1);
    assert_eq!(server.count("GET", "/deploys/2"), 1);
}

#[tokio::test]
async fn a_status_url_on_another_origin_from_the_hook_is_refused() {
    let server =
        HookServer::start(|_, _| Reply::json(202, json!({"statusUrl": "http://169.254.169.254/latest"}))).await;
    let (ctx, _rx) = context();

    let reason = reason(executors().run(&http(server.url("/hook"), None, None), &ctx).await);

    assert!(reason.contains("not on the hook's origin"), "{reason}");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let server = HookServer::start(|seen, _| {
        // Same port, other host name: another origin for the redirect policy.
        let elsewhere = format!(
            "http://localhost:{}/stolen",
            seen.headers["host"].rsplit(':').next().unwrap()
        );
        Reply(307, vec![("location", elsewhere)], String::new())
    })
    .await;
    let (ctx, _rx) = context();

    let reason = reason(executors().run(&http(server.url("/hook"), None, None), &ctx).await);

    assert!(reason.starts_with("deploy hook answered HTTP 307"), "{reason}");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn polling_gives_up_after_ten_consecutive_errors() {
    let server = HookServer::start(|seen, n| match seen.path.as_str() {
        "/hook" => Reply(202, vec![], String::new()),
        _ if n % 2 == 0 => Reply(503, vec![], "busy".into()),
        _ => Reply(200, vec![], "<html>not json</html>".into()),
    })
    .await;
    let (ctx, mut rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);

    let reason = reason(executors().run(&spec, &ctx).await);

    assert!(reason.contains("failed 10 times in a row"), "{reason}");
    assert_eq!(server.count("GET", "/status"), 10);
    let log = lines(&mut rx);
    assert!(log.iter().any(|l| l.contains("(10/10)")), "{log:?}");
    assert!(log.iter().all(|l| !l.contains("<html>")), "{log:?}");
}

#[tokio::test]
async fn a_good_poll_resets_the_error_count() {
    let server = HookServer::start(|seen, n| match (seen.path.as_str(), n) {
        ("/hook", _) => Reply(202, vec![], String::new()),
        (_, 9 | 19) => Reply::json(200, json!({"status": "in_progress"})),
        (_, 0..=18) => Reply(502, vec![], String::new()),
        _ => Reply::json(200, json!({"status": "succeeded"})),
    })
    .await;
    let (ctx, _rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);

    let outcome = executors().run(&spec, &ctx).await;

    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(server.count("GET", "/status"), 21);
}

#[tokio::test]
async fn a_status_url_answering_404_fails_at_once() {
    let server = HookServer::start(|seen, _| match seen.path.as_str() {
        "/hook" => Reply(202, vec![], String::new()),
        _ => Reply(404, vec![], "no such deploy".into()),
    })
    .await;
    let (ctx, _rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);

    let reason = reason(executors().run(&spec, &ctx).await);

    assert!(reason.ends_with("answered HTTP 404: no such deploy"), "{reason}");
    assert_eq!(server.count("GET", "/status"), 1);
}

#[tokio::test]
async fn cancellation_during_polling_returns_promptly() {
    let server = HookServer::start(|seen, _| match seen.path.as_str() {
        "/hook" => Reply(202, vec![], String::new()),
        _ => Reply::json(200, json!({"status": "running"})),
    })
    .await;
    let (ctx, _rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        cancel.cancel();
    });
    let start = Instant::now();

    let outcome = executors().run(&spec, &ctx).await;

    assert_eq!(reason(outcome), "cancelled");
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
    // A poll already on the wire when the token fired may still reach the server: let it land before counting.
    tokio::time::sleep(POLL).await;
    let polls = server.count("GET", "/status");
    assert!(polls >= 2, "cancelled before polling: {polls} polls");
    tokio::time::sleep(POLL * 3).await;
    assert_eq!(
        server.count("GET", "/status"),
        polls,
        "polling went on after cancellation"
    );
}

#[tokio::test]
async fn cancellation_while_the_hook_is_slow_to_answer_returns_promptly() {
    let (ctx, _rx) = context();
    // A hook whose connection is queued by the kernel but never answered: a listener nobody accepts on.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let spec = http(format!("http://{}/hook", silent.local_addr().unwrap()), None, None);
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let start = Instant::now();

    let outcome = executors().run(&spec, &ctx).await;

    assert_eq!(reason(outcome), "cancelled");
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
    drop(silent);
}
