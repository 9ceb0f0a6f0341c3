//! gRPC bootstrap shared by every service: a server that always carries `grpc.health.v1`, server reflection (v1 and
//! v1alpha, describing the health service too) and a layer recording request metrics and continuing the caller's W3C
//! trace; and clients with deadlines that propagate `traceparent`.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use http::{Request, Response};
use opentelemetry::propagation::{Extractor, Injector};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::{Channel, Endpoint, Server};
use tonic_health::ServingStatus;
use tower_service::Service;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::metrics::{GrpcMetrics, MetricsRegistry};

/// Collects services, then serves them with health, reflection and request metrics.
pub struct GrpcServer {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    descriptor_sets: Vec<&'static [u8]>,
    metrics: GrpcMetrics,
}

impl GrpcServer {
    pub fn new(registry: &MetricsRegistry) -> Self {
        Self {
            routes: RoutesBuilder::default(),
            names: Vec::new(),
            descriptor_sets: Vec::new(),
            metrics: GrpcMetrics::register(registry),
        }
    }

    /// Adds a generated service; its name is reported SERVING by health until shutdown.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// An encoded `FileDescriptorSet` for reflection (e.g. `devopstrack_proto::FILE_DESCRIPTOR_SET`).
    pub fn descriptor_set(mut self, set: &'static [u8]) -> Self {
        self.descriptor_sets.push(set);
        self
    }

    /// Serves on `listener` until `shutdown` is cancelled; health turns NOT_SERVING first, then in-flight calls drain.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
        let (reporter, health_service) = tonic_health::server::health_reporter();
        reporter.set_service_status("", ServingStatus::Serving).await;
        for name in &self.names {
            reporter.set_service_status(*name, ServingStatus::Serving).await;
        }

        // grpcurl and most clients speak v1; some (e.g. the Python reflection client) only v1alpha.
        let reflection = || {
            let mut builder = tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
            for set in &self.descriptor_sets {
                builder = builder.register_encoded_file_descriptor_set(set);
            }
            builder
        };
        let reflection_v1 = reflection().build_v1()?;
        let reflection_v1alpha = reflection().build_v1alpha()?;

        let mut routes = self.routes;
        routes
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);

        let names = self.names;
        let signal = async move {
            shutdown.cancelled().await;
            reporter.set_service_status("", ServingStatus::NotServing).await;
            for name in names {
                reporter.set_service_status(name, ServingStatus::NotServing).await;
            }
        };
        let metrics = self.metrics;
        Server::builder()
            .layer(tower::layer::layer_fn(move |inner| ObservedService {
                inner,
                metrics: metrics.clone(),
            }))
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(incoming_nodelay(listener), signal)
            .await?;
        Ok(())
    }
}

/// Accepted connections with `TCP_NODELAY`: without it a response written in several small segments (headers, data,
/// trailers, stream messages) waits for the peer's delayed ACK, adding ~40 ms to calls on a quiet connection (what
/// `tonic`'s own `serve` sets, and a custom listener does not).
fn incoming_nodelay(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> + Send + 'static {
    use futures::StreamExt;
    TcpListenerStream::new(listener).map(|accepted| {
        if let Ok(stream) = &accepted
            && let Err(e) = stream.set_nodelay(true)
        {
            tracing::debug!(error = %e, "could not set TCP_NODELAY on an accepted connection");
        }
        accepted
    })
}

/// Records `rpc_server_call_duration_seconds` and runs each call in a span whose parent is the caller's `traceparent`.
#[derive(Clone)]
struct ObservedService<S> {
    inner: S,
    metrics: GrpcMetrics,
}

impl<S, B> Service<Request<B>> for ObservedService<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (service, method) = split_path(req.uri().path());
        let span = tracing::info_span!(
            "grpc.request",
            otel.kind = "server",
            rpc.service = %service,
            rpc.method = %method,
            trace_id = tracing::field::Empty
        );
        let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(req.headers())));
        let _ = span.set_parent(parent);
        crate::telemetry::record_trace_id(&span);
        // Take the service that was driven to readiness; leave a fresh clone in its place (tower's documented pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let metrics = self.metrics.clone();
        let started = Instant::now();
        Box::pin(
            async move {
                let result = inner.call(req).await;
                let code = match &result {
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .map(tonic::Code::from_i32)
                        .unwrap_or(tonic::Code::Ok),
                    Err(_) => tonic::Code::Internal,
                };
                if code != tonic::Code::Ok {
                    tracing::debug!(grpc.code = ?code, "call failed");
                }
                metrics.record(&service, &method, code_label(code), started.elapsed());
                result
            }
            .instrument(span),
        )
    }
}

/// Status code names as go-grpc-prometheus writes them (`OK`, `InvalidArgument`, …).
fn code_label(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// `/pkg.Service/Method` → (`pkg.Service`, `Method`).
fn split_path(path: &str) -> (String, String) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or_default().to_owned();
    let method = parts.next().unwrap_or_default().to_owned();
    (service, method)
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// Adds the current span's W3C trace context (`traceparent`) to an outgoing call's metadata.
pub fn inject_trace_context(metadata: &mut tonic::metadata::MetadataMap) {
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut MetadataInjector(metadata)));
}

/// A client interceptor that propagates the trace context on every call.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracePropagation;

impl tonic::service::Interceptor for TracePropagation {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        inject_trace_context(request.metadata_mut());
        Ok(request)
    }
}

/// How a client reaches a dependency.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// `http://host:port`.
    pub url: String,
    /// Deadline of each call.
    pub timeout: Duration,
    /// How long to wait for a connection before the call fails UNAVAILABLE.
    pub connect_timeout: Duration,
}

impl ClientSettings {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
        }
    }
}

/// A channel that connects on first use and reconnects after failures, so a dependency that is down yields a quick
/// UNAVAILABLE instead of a hang, and start-up order does not matter.
pub fn lazy_channel(settings: &ClientSettings) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(settings.url.clone())
        .map_err(|e| anyhow::anyhow!("invalid gRPC URL {:?}: {e}", settings.url))?
        .timeout(settings.timeout)
        .connect_timeout(settings.connect_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_lazy())
}

/// Retries an idempotent read up to twice on UNAVAILABLE, with a short pause. Never use it for writes.
pub async fn retry_idempotent<T, F, Fut>(mut call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(status) if status.code() == tonic::Code::Unavailable && attempt < 2 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(
            split_path("/devopstrack.auth.v1.AuthService/Login"),
            ("devopstrack.auth.v1.AuthService".to_owned(), "Login".to_owned())
        );
        assert_eq!(split_path("/"), (String::new(), String::new()));
    }

    #[tokio::test]
    async fn reads_are_retried_on_unavailable_only() {
        let mut calls = 0;
        let result: Result<u8, _> = retry_idempotent(|| {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(tonic::Status::unavailable("down"))
                } else {
                    Ok(7)
                }
            }
        })
        .await;
        assert_eq!((result.unwrap(), calls), (7, 3));

        let mut calls = 0;
        let result: Result<u8, _> = retry_idempotent(|| {
            calls += 1;
            async { Err(tonic::Status::invalid_argument("bad")) }
        })
        .await;
        assert_eq!((result.unwrap_err().code(), calls), (tonic::Code::InvalidArgument, 1));
    }
}
