//! Prometheus metrics through `prometheus-client`: one registry per service (each service has its own admin port, even
//! when all run in one process), and the request metrics every gRPC and HTTP server records.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

/// A service's metric registry. Cheap to clone; register at start-up, encode on every scrape.
#[derive(Clone)]
pub struct MetricsRegistry {
    inner: Arc<RwLock<Registry>>,
}

impl Default for MetricsRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsRegistry {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(RwLock::new(Registry::default())),
        }
    }

    /// Registers `metric` under `name` (no `_total` suffix for counters: the encoder adds it).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.inner.write().register(name, help, metric);
    }

    /// The Prometheus text format 0.0.4 of every registered metric ([`crate::exposition`]).
    pub fn encode_prometheus_text(&self) -> String {
        crate::exposition::to_text_004(&self.encode())
    }

    /// The OpenMetrics text exposition of every registered metric.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        if let Err(error) = prometheus_client::encoding::text::encode(&mut out, &self.inner.read()) {
            tracing::error!(%error, "encoding metrics failed");
        }
        out
    }
}

/// Latency buckets from 0.5 ms to ~16 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The label set of `rpc_server_call_duration_seconds` (OpenTelemetry `rpc.*` attributes, dots as underscores).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcCallLabels {
    /// Always `grpc`.
    pub rpc_system: &'static str,
    /// The fully qualified service (`devopstrack.auth.v1.AuthService`), or `_OTHER` for a path no service serves.
    pub rpc_service: String,
    pub rpc_method: String,
    /// The status code's name (`OK`, `InvalidArgument`, `Unavailable`, …).
    pub rpc_grpc_status_code: &'static str,
}

/// Server-side gRPC metrics: one histogram, whose `_count` is the number of calls by method and status code.
#[derive(Clone)]
pub struct GrpcMetrics {
    duration: HistogramFamily<RpcCallLabels>,
}

impl GrpcMetrics {
    pub fn register(registry: &MetricsRegistry) -> Self {
        let duration = HistogramFamily::<RpcCallLabels>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "rpc_server_call_duration_seconds",
            "gRPC calls served, by service, method and status code: duration in seconds",
            duration.clone(),
        );
        Self { duration }
    }

    /// Records one finished call. `code` is the status code's name; a call the server answered `Unimplemented` is
    /// recorded under `_OTHER` / `_OTHER`, so a client probing made-up paths cannot grow the label space.
    pub fn record(&self, service: &str, method: &str, code: &'static str, elapsed: Duration) {
        let (service, method) = if code == "Unimplemented" {
            (OTHER, OTHER)
        } else {
            (service, method)
        };
        self.duration
            .get_or_create(&RpcCallLabels {
                rpc_system: "grpc",
                rpc_service: service.to_owned(),
                rpc_method: method.to_owned(),
                rpc_grpc_status_code: code,
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// The value OpenTelemetry's conventions give an attribute outside its known set.
const OTHER: &str = "_OTHER";

/// The label set of `http_server_request_duration_seconds` (OpenTelemetry `http.*` attributes).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpCallLabels {
    /// One of the methods of RFC 9110 (and PATCH), or `_OTHER`.
    pub http_request_method: &'static str,
    /// The route template (`/api/v1/users/{id}`), never the raw path, so cardinality stays bounded.
    pub http_route: String,
    pub http_response_status_code: u16,
}

/// Server-side HTTP metrics (OpenTelemetry semantic-convention names): one histogram, whose `_count` is the number
/// of requests by route and status, and the requests in flight.
#[derive(Clone)]
pub struct HttpMetrics {
    duration: HistogramFamily<HttpCallLabels>,
    in_flight: Gauge,
}

impl HttpMetrics {
    pub fn register(registry: &MetricsRegistry) -> Self {
        let duration = HistogramFamily::<HttpCallLabels>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let in_flight = Gauge::default();
        registry.register(
            "http_server_request_duration_seconds",
            "HTTP requests served, by method, route template and status: duration in seconds",
            duration.clone(),
        );
        registry.register(
            "http_server_active_requests",
            "HTTP requests in flight",
            in_flight.clone(),
        );
        Self { duration, in_flight }
    }

    /// Counts a request as in flight until the returned guard drops.
    pub fn start(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.duration
            .get_or_create(&HttpCallLabels {
                http_request_method: known_method(method),
                http_route: route.to_owned(),
                http_response_status_code: status,
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// `method` when it is a standard one, else `_OTHER` (a client may send any token as a method).
fn known_method(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    KNOWN.into_iter().find(|known| *known == method).unwrap_or(OTHER)
}

/// Decrements the in-flight gauge on drop.
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_calls_appear_in_the_exposition() {
        let registry = MetricsRegistry::new();
        let grpc = GrpcMetrics::register(&registry);
        let http = HttpMetrics::register(&registry);
        grpc.record(
            "devopstrack.auth.v1.AuthService",
            "Login",
            "OK",
            Duration::from_millis(3),
        );
        http.record("GET", "/api/v1/auth/me", 200, Duration::from_micros(250));
        let text = registry.encode_prometheus_text();
        assert!(text.contains(
            r#"rpc_server_call_duration_seconds_count{rpc_system="grpc",rpc_service="devopstrack.auth.v1.AuthService",rpc_method="Login",rpc_grpc_status_code="OK"} 1"#
        ), "{text}");
        assert!(
            text.contains(r#"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/api/v1/auth/me",http_response_status_code="200"} 1"#),
            "{text}"
        );
        assert!(text.contains("http_server_request_duration_seconds_bucket"), "{text}");
        {
            let _guard = http.start();
            assert!(registry.encode().contains("http_server_active_requests 1"));
        }
        assert!(registry.encode().contains("http_server_active_requests 0"));
    }

    #[test]
    fn made_up_methods_and_unimplemented_paths_share_one_series() {
        let registry = MetricsRegistry::new();
        let grpc = GrpcMetrics::register(&registry);
        let http = HttpMetrics::register(&registry);
        for n in 0..3 {
            grpc.record("x.Made", &format!("Up{n}"), "Unimplemented", Duration::from_millis(1));
            http.record(&format!("BREW{n}"), "unmatched", 404, Duration::from_millis(1));
        }
        let text = registry.encode();
        assert!(
            text.contains(r#"rpc_service="_OTHER",rpc_method="_OTHER",rpc_grpc_status_code="Unimplemented"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"http_request_method="_OTHER",http_route="unmatched",http_response_status_code="404"} 3"#),
            "{text}"
        );
        assert!(!text.contains("Up0") && !text.contains("BREW"), "{text}");
    }
}
