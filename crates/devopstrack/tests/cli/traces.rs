//! One REST request that crosses services is one trace: `devopstrack up --otlp URL` exports its spans to an OTLP/gRPC
//! receiver run by the test (a tonic server of the OTLP trace collector service), and `POST /api/v1/pipelines`
//! (gateway → tasks → projects, and each service's store) must arrive as one connected tree: the projects store call
//! under projects' GetProject, under tasks' CreatePipeline, under the gateway's request; the tasks store write under
//! CreatePipeline. No span carries a secret, and the JSON log lines of the request carry its trace id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::{Rest, Up};

const PASSWORD: &str = "a long admin password";
const REQUEST_ID: &str = "trace-test-create-pipeline";

/// Keeps every span it is sent.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().expect("spans");
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Receiver {
    /// Serves on a free loopback port; returns its URL.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let service = TraceServiceServer::new(self.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await
                .expect("the OTLP receiver");
        });
        url
    }

    fn spans(&self) -> Vec<Span> {
        self.spans.lock().expect("spans").clone()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A span's attributes as strings (`key` → value).
fn attributes(span: &Span) -> HashMap<String, String> {
    span.attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                Some(Value::IntValue(i)) => i.to_string(),
                Some(Value::BoolValue(b)) => b.to_string(),
                Some(Value::DoubleValue(d)) => d.to_string(),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

fn is_call(span: &Span, method: &str) -> bool {
    span.name == "grpc.request" && attributes(span).get("rpc.method").map(String::as_str) == Some(method)
}

/// The names from `span` up to the root of its trace (a missing parent ends the walk with `<missing>`).
fn ancestry(span: &Span, trace: &[Span]) -> Vec<String> {
    let by_id: HashMap<&[u8], &Span> = trace.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    let mut names = Vec::new();
    let mut current = span;
    loop {
        let label = match attributes(current).get("rpc.method") {
            Some(method) => format!("{} {method}", current.name),
            None => current.name.clone(),
        };
        names.push(label);
        if current.parent_span_id.is_empty() {
            return names;
        }
        match by_id.get(current.parent_span_id.as_slice()) {
            Some(parent) => current = parent,
            None => {
                names.push("<missing>".to_owned());
                return names;
            }
        }
    }
}

/// `needles` appear in `haystack` in this order (not necessarily next to each other).
fn in_order(haystack: &[String], needles: &[&str]) -> bool {
    let mut rest = haystack.iter();
    needles.iter().all(|needle| rest.any(|name| name == needle))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_pipeline_is_one_trace_across_gateway_tasks_projects_and_their_stores() {
    // Arrange: the receiver, then the stack exporting to it, with JSON logs (the request's own line at debug).
    let receiver = Receiver::default();
    let otlp = receiver.start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start_with(
        dir.path(),
        &[
            ("DEVOPSTRACK_ADMIN_PASSWORD", PASSWORD),
            ("DEVOPSTRACK_LOG_FORMAT", "json"),
            ("DEVOPSTRACK_LOG", "info,devopstrack_gateway::middleware=debug"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
        &["--otlp", &otlp],
    );
    let base = up.base_url();
    let admin = Rest::login(&base, "admin@localhost", PASSWORD).await;
    admin
        .create_project(serde_json::json!({"slug": "shop", "name": "Shop"}))
        .await;

    // Act
    let created = admin.post("/api/v1/pipelines")
        .header("x-request-id", REQUEST_ID)
        .json(&serde_json::json!({
            "project": "shop",
            "stages": [{"name": "build", "jobs": [{"name": "compile", "executor": "simulate", "params": {"durationMs": 10}}]}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());

    // Assert: wait (bounded) for the request's tree to arrive whole.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (trace_id, trace) = loop {
        let spans = receiver.spans();
        let root = spans.iter().find(|s| {
            let a = attributes(s);
            s.name == "http.request" && a.get("request_id").map(String::as_str) == Some(REQUEST_ID)
        });
        if let Some(root) = root {
            let trace: Vec<Span> = spans.iter().filter(|s| s.trace_id == root.trace_id).cloned().collect();
            let has = |name: &str| trace.iter().any(|s| s.name == name);
            let connected = trace
                .iter()
                .all(|s| !ancestry(s, &trace).contains(&"<missing>".to_owned()));
            if has("store.project_by_slug") && has("store.create_pipeline") && connected {
                break (hex(&root.trace_id), trace);
            }
        }
        assert!(
            Instant::now() < deadline,
            "the request's trace never arrived whole; spans so far: {:#?}",
            spans
                .iter()
                .map(|s| (hex(&s.trace_id), s.name.clone(), attributes(s)))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Exactly one trace: the calls this request caused are in it and in no other.
    let all = receiver.spans();
    for method in ["CreatePipeline", "GetProject"] {
        let calls: Vec<&Span> = all.iter().filter(|s| is_call(s, method)).collect();
        assert_eq!(calls.len(), 1, "{method} was served once: {calls:#?}");
        assert_eq!(hex(&calls[0].trace_id), trace_id, "{method} is in the request's trace");
    }
    // Parented across the hops, store calls included.
    let find = |name: &str| trace.iter().find(|s| s.name == name).expect(name);
    let projects_store = ancestry(find("store.project_by_slug"), &trace);
    assert!(
        in_order(
            &projects_store,
            &[
                "store.project_by_slug",
                "grpc.request GetProject",
                "grpc.request CreatePipeline",
                "http.request"
            ]
        ),
        "{projects_store:?}"
    );
    let tasks_store = ancestry(find("store.create_pipeline"), &trace);
    assert!(
        in_order(
            &tasks_store,
            &["store.create_pipeline", "grpc.request CreatePipeline", "http.request"]
        ),
        "{tasks_store:?}"
    );
    assert_eq!(
        projects_store.last().map(String::as_str),
        Some("http.request"),
        "the request is the root"
    );

    // No secret in any attribute of any span: the password, the token, any bearer header, the service secrets.
    let mut secrets = vec![PASSWORD.to_owned(), admin.token.clone(), "Bearer ".to_owned()];
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("service-client-")
        {
            secrets.push(std::fs::read_to_string(&path).unwrap().trim().to_owned());
        }
    }
    for span in &all {
        for (key, value) in attributes(span) {
            for secret in &secrets {
                assert!(
                    !value.contains(secret.as_str()),
                    "span {} attribute {key} carries a secret",
                    span.name
                );
            }
        }
    }

    // The JSON log lines of the request carry its trace id: the gateway's request line and tasks' "pipeline created".
    up.interrupt();
    let lines = up.drain();
    let logged: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l.to_string().contains(&trace_id))
        .collect();
    let message = |m: &str| logged.iter().any(|l| l["message"] == m);
    assert!(
        message("request") && message("pipeline created"),
        "no log line of the request carries trace id {trace_id}:\n{}",
        lines.join("\n")
    );
    let request_line = logged
        .iter()
        .find(|l| l["message"] == "request")
        .expect("the request line");
    assert!(request_line.to_string().contains(REQUEST_ID), "{request_line}");
}
