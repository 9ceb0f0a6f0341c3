//! Prometheus metrics through `prometheus-client`: one registry per service (each service has its own admin port, even
//! when all run in one process), and the request metrics every gRPC and HTTP server records.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrpcCallLabels {
    pub grpc_service: String,
    pub grpc_method: String,
    pub grpc_code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrpcMethodLabels {
    pub grpc_service: String,
    pub grpc_method: String,
}

/// Server-side gRPC metrics (names follow go-grpc-prometheus).
#[derive(Clone)]
pub struct GrpcMetrics {
    handled: Family<GrpcCallLabels, Counter>,
    duration: HistogramFamily<GrpcMethodLabels>,
}

impl GrpcMetrics {
    pub fn register(registry: &MetricsRegistry) -> Self {
        let handled = Family::<GrpcCallLabels, Counter>::default();
        let duration =
            HistogramFamily::<GrpcMethodLabels>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "grpc_server_handled",
            "gRPC calls completed, by method and status code",
            handled.clone(),
        );
        registry.register("grpc_server_handling_seconds", "gRPC call duration", duration.clone());
        Self { handled, duration }
    }

    pub fn record(&self, service: &str, method: &str, code: &str, elapsed: Duration) {
        self.handled
            .get_or_create(&GrpcCallLabels {
                grpc_service: service.to_owned(),
                grpc_method: method.to_owned(),
                grpc_code: code.to_owned(),
            })
            .inc();
        self.duration
            .get_or_create(&GrpcMethodLabels {
                grpc_service: service.to_owned(),
                grpc_method: method.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpCallLabels {
    pub method: String,
    /// The route template (`/api/v1/users/{id}`), never the raw path, so cardinality stays bounded.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpRouteLabels {
    pub method: String,
    pub route: String,
}

/// Server-side HTTP metrics (OpenTelemetry semantic-convention names).
#[derive(Clone)]
pub struct HttpMetrics {
    requests: Family<HttpCallLabels, Counter>,
    duration: HistogramFamily<HttpRouteLabels>,
    in_flight: Gauge,
}

impl HttpMetrics {
    pub fn register(registry: &MetricsRegistry) -> Self {
        let requests = Family::<HttpCallLabels, Counter>::default();
        let duration = HistogramFamily::<HttpRouteLabels>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let in_flight = Gauge::default();
        registry.register(
            "http_server_requests",
            "HTTP requests completed, by route template and status",
            requests.clone(),
        );
        registry.register(
            "http_server_request_duration_seconds",
            "HTTP request duration",
            duration.clone(),
        );
        registry.register(
            "http_server_active_requests",
            "HTTP requests in flight",
            in_flight.clone(),
        );
        Self {
            requests,
            duration,
            in_flight,
        }
    }

    /// Counts a request as in flight until the returned guard drops.
    pub fn start(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&HttpCallLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.duration
            .get_or_create(&HttpRouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }
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
        let text = registry.encode();
        assert!(text.contains(
            r#"grpc_server_handled_total{grpc_service="devopstrack.auth.v1.AuthService",grpc_method="Login",grpc_code="OK"} 1"#
        ), "{text}");
        assert!(
            text.contains(r#"http_server_requests_total{method="GET",route="/api/v1/auth/me",status="200"} 1"#),
            "{text}"
        );
        assert!(text.contains("http_server_request_duration_seconds_bucket"), "{text}");
        {
            let _guard = http.start();
            assert!(registry.encode().contains("http_server_active_requests 1"));
        }
        assert!(registry.encode().contains("http_server_active_requests 0"));
    }
}
