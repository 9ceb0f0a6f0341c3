//! Logs and traces, set up once in `main` (zero2prod `src/telemetry.rs`).
//!
//! - `DEVOPSTRACK_LOG`: an `EnvFilter` directive (default `info`), e.g. `info,devopstrack_auth=debug`.
//! - `DEVOPSTRACK_LOG_FORMAT`: `pretty` (default on a terminal) or `json` (default otherwise).
//! - `OTEL_EXPORTER_OTLP_ENDPOINT`: when set (or given to [`init_with_otlp`], as `devopstrack up --otlp URL` does),
//!   spans are exported over OTLP/gRPC; the exporter's other `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*` variables apply.
//!   Without it spans still carry W3C trace context, so `traceparent` crosses service calls.
//! - Every request's root span (the gateway's `http.request`, each service's `grpc.request`) records its `trace_id`
//!   ([`record_trace_id`]), so in JSON each log line of a request names its trace in its `spans` list.

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl LogFormat {
    /// Reads `DEVOPSTRACK_LOG_FORMAT`; defaults to pretty on a terminal, JSON otherwise (containers).
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var("DEVOPSTRACK_LOG_FORMAT").ok().as_deref() {
            None | Some("") => Ok(if std::io::stdout().is_terminal() {
                Self::Pretty
            } else {
                Self::Json
            }),
            Some("pretty") => Ok(Self::Pretty),
            Some("json") => Ok(Self::Json),
            Some(other) => anyhow::bail!("DEVOPSTRACK_LOG_FORMAT={other:?}: expected \"pretty\" or \"json\""),
        }
    }
}

/// Keeps exporters alive; dropping it flushes pending spans.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("telemetry: flushing spans failed: {error}");
        }
    }
}

/// Installs the global subscriber and the W3C trace-context propagator. Call once, from `main`.
pub fn init(service_name: &str) -> anyhow::Result<TelemetryGuard> {
    init_with_otlp(service_name, None)
}

/// [`init`], exporting spans to `otlp` (an OTLP/gRPC URL) when given, else to `OTEL_EXPORTER_OTLP_ENDPOINT` if set.
pub fn init_with_otlp(service_name: &str, otlp: Option<&str>) -> anyhow::Result<TelemetryGuard> {
    let filter_spec = std::env::var("DEVOPSTRACK_LOG").unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_new(&filter_spec)
        .map_err(|e| anyhow::anyhow!("DEVOPSTRACK_LOG={filter_spec:?} is not a valid filter: {e}"))?;
    let format = LogFormat::from_env()?;

    let mut provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service_name.to_owned()).build());
    let endpoint = match otlp {
        Some(url) => Some(url.to_owned()),
        None => std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok(),
    }
    .filter(|e| !e.is_empty());
    if let Some(url) = &endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(url)
            .build()
            .map_err(|e| anyhow::anyhow!("OTLP endpoint {url:?}: cannot build the exporter: {e}"))?;
        provider = provider.with_batch_exporter(exporter);
    }
    let provider = provider.build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("devopstrack"));

    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let result = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().compact()).try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("telemetry already initialised: {e}"))?;
    if let Some(endpoint) = endpoint {
        tracing::info!(%endpoint, "exporting traces over OTLP");
    }
    Ok(TelemetryGuard { provider })
}

/// Records the span's OpenTelemetry trace id (32 hex digits) in its `trace_id` field, which the span must declare
/// (`trace_id = tracing::field::Empty`). Call after the span's parent is set.
pub fn record_trace_id(span: &tracing::Span) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}
