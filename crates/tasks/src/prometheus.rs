//! The tasks service's own Prometheus instruments, on its admin `/metrics` (Prometheus names, OpenTelemetry units).
//! Not to be confused with the metrics *service* ([`crate::metrics_service`]) or the metric events delivered to it
//! (`outbox::metric_events`):
//!
//! - `devopstrack_jobs_finished_total{status, source}`: jobs that reached a final status (`succeeded`, `failed`,
//!   `cancelled`, `timed_out`), by where they ran (`devopstrack`, `github`). Counted by the process whose write made
//!   them final, so replicas add up.
//! - `devopstrack_pipeline_duration_seconds{status, source}`: from start (or creation) to the final status.
//! - `devopstrack_queue_depth{state}`: job attempts `ready`, `delayed` (waiting for a retry time) and `leased`.
//! - `devopstrack_queue_oldest_ready_age_seconds`: how long the oldest ready attempt has waited (0: none).
//! - `devopstrack_outbox_backlog{outbox}`: entries not yet delivered: `deployments` (finished deploys for the projects
//!   service), `metrics` (job runs and deployments for the metrics service).
//! - `devopstrack_event_watchers`: live `WatchEvents` streams in this process.
//!
//! Counters and the histogram are fed from the effects of each stored transition ([`TaskCounters::observe`]: no store
//! round trip); gauges are sampled from the store every [`SAMPLE_EVERY`] ([`report_gauges`]).

use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::Utc;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use tokio_util::sync::CancellationToken;

use devopstrack_platform::metrics::MetricsRegistry;

use crate::domain::{Effect, Pipeline, Source, StateChange};
use crate::store::{Backlog, QueueDepth};

/// How often the gauges are sampled from the store.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// One sample of what the gauges show. A part that could not be read is `None`: its gauge keeps its last value.
#[derive(Debug, Clone, Copy, Default)]
pub struct GaugeSample {
    pub queue: Option<QueueDepth>,
    pub backlog: Option<Backlog>,
    /// Metric events waiting for the metrics service.
    pub metric_events: Option<u64>,
    /// Live `WatchEvents` streams in this process.
    pub watchers: usize,
    /// GitHub webhook deliveries parked after failing every attempt (waiting for an admin's replay).
    pub parked_webhooks: Option<u64>,
}

/// Where [`report_gauges`] takes its samples from (the use-cases and the event hub, wired by `startup`).
pub type Sampler = Box<dyn Fn() -> Pin<Box<dyn Future<Output = GaugeSample> + Send>> + Send + Sync>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    status: &'static str,
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxLabels {
    outbox: &'static str,
}

type HistogramFamily = Family<OutcomeLabels, Histogram, fn() -> Histogram>;

/// Pipeline durations from 0.5 s to about 4.5 h, doubling.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.5, 2.0, 16))
}

/// The counters and histogram fed by transitions. Cheap to clone (shared cells); usable before it is registered.
#[derive(Clone)]
pub struct TaskCounters {
    jobs_finished: Family<OutcomeLabels, Counter>,
    pipeline_duration: HistogramFamily,
}

impl Default for TaskCounters {
    fn default() -> Self {
        Self {
            jobs_finished: Family::default(),
            pipeline_duration: HistogramFamily::new_with_constructor(duration_histogram as fn() -> Histogram),
        }
    }
}

impl TaskCounters {
    pub fn register(&self, registry: &MetricsRegistry) {
        registry.register(
            "devopstrack_jobs_finished",
            "Jobs that reached a final status, by status and where they ran",
            self.jobs_finished.clone(),
        );
        registry.register(
            "devopstrack_pipeline_duration_seconds",
            "Pipeline runs from start to final status, by that status and where they ran",
            self.pipeline_duration.clone(),
        );
    }

    /// Records what one stored write of `p` did (its effects, in the order the transition returned them).
    pub fn observe(&self, p: &Pipeline, effects: &[Effect]) {
        let source = source_label(&p.meta.source);
        for effect in effects {
            match effect {
                Effect::Event(StateChange::Job { from, to, .. }) if to.is_terminal() && !from.is_terminal() => {
                    self.jobs_finished
                        .get_or_create(&OutcomeLabels {
                            status: to.as_str(),
                            source,
                        })
                        .inc();
                }
                Effect::Event(StateChange::Pipeline { from, to }) if to.is_terminal() && !from.is_terminal() => {
                    let end = p.finished_at.unwrap_or_else(Utc::now);
                    let start = p.started_at.unwrap_or(p.created_at);
                    let seconds = (end - start).num_milliseconds().max(0) as f64 / 1000.0;
                    self.pipeline_duration
                        .get_or_create(&OutcomeLabels {
                            status: to.as_str(),
                            source,
                        })
                        .observe(seconds);
                }
                _ => {}
            }
        }
    }
}

fn source_label(source: &Source) -> &'static str {
    match source {
        Source::DevOpsTrack => "devopstrack",
        Source::Github { .. } => "github",
    }
}

/// Registers the gauges and keeps them current from `sample` until `stop` (a failed sample leaves the last values).
pub async fn report_gauges(sample: Sampler, registry: MetricsRegistry, stop: CancellationToken) {
    let depth = Family::<QueueLabels, Gauge>::default();
    let oldest = Gauge::<f64, AtomicU64>::default();
    let outbox = Family::<OutboxLabels, Gauge>::default();
    let watchers = Gauge::<i64>::default();
    let parked = Gauge::<i64>::default();
    registry.register(
        "devopstrack_webhook_deliveries_parked",
        "GitHub webhook deliveries parked after failing every attempt (GET /api/v1/admin/webhook-deliveries?state=parked)",
        parked.clone(),
    );
    registry.register(
        "devopstrack_queue_depth",
        "Job attempts on the queue: ready to be leased, delayed until their retry time, leased by workers",
        depth.clone(),
    );
    registry.register(
        "devopstrack_queue_oldest_ready_age_seconds",
        "How long the oldest job attempt ready to be leased has waited (0 when none is)",
        oldest.clone(),
    );
    registry.register(
        "devopstrack_outbox_backlog",
        "Outbox entries not yet delivered: deployments (to projects), metrics (to the metrics service)",
        outbox.clone(),
    );
    registry.register(
        "devopstrack_event_watchers",
        "Live WatchEvents streams in this process",
        watchers.clone(),
    );
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let sample = sample().await;
        if let Some(d) = sample.queue {
            for (state, n) in [("ready", d.ready), ("delayed", d.delayed), ("leased", d.leased)] {
                depth.get_or_create(&QueueLabels { state }).set(count(n));
            }
        }
        if let Some(b) = sample.backlog {
            let age = b
                .oldest_ready_at
                .map_or(0.0, |at| (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0);
            oldest.set(age);
            outbox
                .get_or_create(&OutboxLabels { outbox: "deployments" })
                .set(count(b.outbox));
        }
        if let Some(n) = sample.metric_events {
            outbox.get_or_create(&OutboxLabels { outbox: "metrics" }).set(count(n));
        }
        watchers.set(i64::try_from(sample.watchers).unwrap_or(i64::MAX));
        if let Some(n) = sample.parked_webhooks {
            parked.set(count(n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{JobId, JobStatus, PipelineStatus};

    fn exposition(metrics: &TaskCounters) -> String {
        let registry = MetricsRegistry::new();
        metrics.register(&registry);
        registry.encode()
    }

    #[test]
    fn finished_jobs_and_pipelines_are_counted_once_by_status() {
        let (p, _) = crate::domain::Pipeline::new(
            crate::domain::PipelineSpec::parse(
                &serde_json::from_value(serde_json::json!({"stages": [{"name": "b", "jobs": [{"name": "x"}]}]}))
                    .unwrap(),
            )
            .unwrap(),
            crate::domain::PipelineMeta {
                project: "api".into(),
                target: None,
                trigger: crate::domain::Trigger::Api,
                triggered_by: "u".into(),
                idempotency_key: None,
                source: Source::DevOpsTrack,
                commit: None,
            },
            Utc::now(),
        );
        let metrics = TaskCounters::default();
        let job = |from, to| {
            Effect::Event(StateChange::Job {
                job: JobId::new(),
                attempt: 1,
                from,
                to,
            })
        };

        metrics.observe(
            &p,
            &[
                job(JobStatus::Queued, JobStatus::Running),
                job(JobStatus::Running, JobStatus::Failed),
                job(JobStatus::Queued, JobStatus::Cancelled),
                job(JobStatus::Succeeded, JobStatus::Failed),
                Effect::Event(StateChange::Pipeline {
                    from: PipelineStatus::Running,
                    to: PipelineStatus::Failed,
                }),
                Effect::Enqueue {
                    job: JobId::new(),
                    attempt: 1,
                },
            ],
        );

        let text = exposition(&metrics);
        assert!(
            text.contains(r#"devopstrack_jobs_finished_total{status="failed",source="devopstrack"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"devopstrack_jobs_finished_total{status="cancelled",source="devopstrack"} 1"#),
            "{text}"
        );
        assert!(!text.contains(r#"status="running""#), "{text}");
        assert!(
            text.contains(r#"devopstrack_pipeline_duration_seconds_count{status="failed",source="devopstrack"} 1"#),
            "{text}"
        );
    }
}
