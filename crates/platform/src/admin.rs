//! The admin HTTP server every gRPC service runs beside its gRPC port: `/metrics` (Prometheus text), `/healthz`
//! (the process is alive) and `/readyz` (its dependencies answer and it is not shutting down).

use std::convert::Infallible;
use std::sync::Arc;

use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::exposition;
use crate::metrics::MetricsRegistry;

/// How long `/readyz` waits for the readiness check: a store that hangs (a dropped connection, a server selection
/// that waits) makes the service not ready, it does not make the probe time out.
pub const READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A readiness probe: `Ok` when the service can serve, `Err(reason)` otherwise.
pub type ReadinessCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// The readiness of `target` as `check` judges it each time `/readyz` asks, e.g.
/// `readiness_of(app.clone(), |app| Box::pin(app.ready()))`.
pub fn readiness_of<T: Send + Sync + 'static>(
    target: Arc<T>,
    check: for<'a> fn(&'a T) -> BoxFuture<'a, Result<(), String>>,
) -> ReadinessCheck {
    Arc::new(move || {
        let target = target.clone();
        Box::pin(async move { check(&target).await })
    })
}

#[derive(Clone)]
pub struct AdminState {
    pub metrics: MetricsRegistry,
    pub readiness: ReadinessCheck,
    pub shutdown: CancellationToken,
}

/// Serves admin requests on `listener` until `state.shutdown` is cancelled.
pub async fn serve(listener: TcpListener, state: AdminState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(error) => {
                    tracing::warn!(%error, "admin: accept failed");
                    continue;
                }
            },
            _ = shutdown.cancelled() => return Ok(()),
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, state.clone()));
            let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            if let Err(error) = conn.await {
                tracing::debug!(%error, "admin: connection ended with an error");
            }
        });
    }
}

async fn handle(req: Request<Incoming>, state: AdminState) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(json(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":{"code":"method_not_allowed","message":"use GET"}}"#,
        ));
    }
    Ok(match req.uri().path() {
        "/metrics" => metrics(&req, &state),
        "/healthz" => json(StatusCode::OK, r#"{"status":"ok"}"#),
        "/readyz" => readiness(&state).await,
        _ => json(
            StatusCode::NOT_FOUND,
            r#"{"error":{"code":"not_found","message":"try /metrics, /healthz or /readyz"}}"#,
        ),
    })
}

/// OpenMetrics when the scraper asks for it (Prometheus does), else the Prometheus text format 0.0.4.
fn metrics(req: &Request<Incoming>, state: &AdminState) -> Response<Full<Bytes>> {
    let openmetrics = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(exposition::accepts_openmetrics);
    let (content_type, body) = if openmetrics {
        (exposition::OPENMETRICS, state.metrics.encode())
    } else {
        (exposition::TEXT_004, state.metrics.encode_prometheus_text())
    };
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

async fn readiness(state: &AdminState) -> Response<Full<Bytes>> {
    if state.shutdown.is_cancelled() {
        return json(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"shutting_down"}"#);
    }
    let checked = tokio::time::timeout(READINESS_TIMEOUT, (state.readiness)())
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {READINESS_TIMEOUT:?}")));
    match checked {
        Ok(()) => json(StatusCode::OK, r#"{"status":"ready"}"#),
        Err(reason) => {
            let body = serde_json::json!({ "status": "not_ready", "reason": reason }).to_string();
            json(StatusCode::SERVICE_UNAVAILABLE, &body)
        }
    }
}

fn json(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn admin_endpoints_report_liveness_readiness_and_metrics() {
        let ready = Arc::new(AtomicBool::new(false));
        let flag = ready.clone();
        let metrics = MetricsRegistry::new();
        let http = crate::metrics::HttpMetrics::register(&metrics);
        http.record("GET", "/x", 200, std::time::Duration::from_millis(1));
        let state = AdminState {
            metrics,
            readiness: Arc::new(move || {
                let ok = flag.load(Ordering::SeqCst);
                Box::pin(async move { if ok { Ok(()) } else { Err("database down".to_owned()) } })
            }),
            shutdown: CancellationToken::new(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = state.shutdown.clone();
        let server = tokio::spawn(serve(listener, state));

        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        let not_ready = get(addr, "/readyz").await;
        assert!(
            not_ready.starts_with("HTTP/1.1 503") && not_ready.contains("database down"),
            "{not_ready}"
        );
        ready.store(true, Ordering::SeqCst);
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        let metrics = get(addr, "/metrics").await;
        assert!(
            metrics.contains(r#"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/x",http_response_status_code="200"} 1"#)
                && metrics.contains("text/plain; version=0.0.4")
                && !metrics.contains("# EOF"),
            "{metrics}"
        );
        assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));

        shutdown.cancel();
        server.await.unwrap().unwrap();
    }
}
