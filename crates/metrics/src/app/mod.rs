//! Use-cases of the metrics service: the only code the transports call. Each takes the caller's verified
//! [`Principal`] and enforces its own permissions: viewer and up read (GetDora, QuerySeries, GetOverview); recording
//! events needs the `service` role (tasks' outbox, the gateway's webhook intake) or admin.
//!
//! Writes go through a bounded buffer drained by a background flusher ([`ingest`]): a Record* call returns once its
//! events are buffered, and they become visible to reads within about one flush interval. Reads ([`queries`]) go to
//! the store and compute everything with [`crate::domain`].

mod ingest;
mod queries;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use devopstrack_platform::auth::{Principal, Role};
use devopstrack_platform::metrics::MetricsRegistry;

use crate::domain::Event;
use crate::error::Error;
use crate::store::MetricsStore;
use ingest::WriteBuffer;

pub use queries::{DoraAnswer, DoraQuery, OverviewAnswer, SeriesAnswer, SeriesQuery};

/// At most this many events per Record* call.
pub const MAX_EVENTS_PER_CALL: usize = 1_000;

/// Where "now" comes from: the system clock, or a test's.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The tunables of the use-cases (from [`crate::config::Settings`]).
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub buffer_capacity: usize,
    pub flush_batch: usize,
    pub flush_interval: Duration,
    pub rework_window: TimeDelta,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            buffer_capacity: 100_000,
            flush_batch: 5_000,
            flush_interval: Duration::from_millis(50),
            rework_window: TimeDelta::hours(24),
        }
    }
}

pub struct MetricsApp {
    store: Arc<dyn MetricsStore>,
    buffer: Arc<WriteBuffer>,
    clock: Clock,
    rework_window: TimeDelta,
}

impl MetricsApp {
    /// Registers the ingest metrics (`devopstrack_deployments_total`, `devopstrack_metrics_points_*`) in `registry`.
    /// Nothing is written until [`MetricsApp::start_flusher`] runs.
    pub fn new(store: Arc<dyn MetricsStore>, settings: &AppSettings, clock: Clock, registry: &MetricsRegistry) -> Self {
        Self {
            store,
            buffer: Arc::new(WriteBuffer::new(settings, registry)),
            clock,
            rework_window: settings.rework_window,
        }
    }

    /// The system clock, truncated to microseconds like everything the store keeps.
    pub fn system_clock() -> Clock {
        Arc::new(|| {
            let now = Utc::now();
            DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
        })
    }

    /// Starts the background flusher. When `stop` is cancelled it writes what is still buffered, then ends.
    pub fn start_flusher(&self, stop: CancellationToken) -> JoinHandle<()> {
        let buffer = self.buffer.clone();
        let store = self.store.clone();
        tokio::spawn(async move { buffer.run(store, stop).await })
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The store, for in-process callers (benchmarks, tests) that append or read directly.
    pub fn store(&self) -> &Arc<dyn MetricsStore> {
        &self.store
    }

    /// Events accepted but not written yet.
    pub fn buffered(&self) -> usize {
        self.buffer.depth()
    }

    pub async fn ready(&self) -> Result<(), String> {
        self.store.ping().await.map_err(|e| format!("metrics store: {e}"))
    }

    /// Fails unless `principal` may record events (`service` or `admin`).
    pub fn require_writer(principal: &Principal) -> Result<(), Error> {
        match principal.role {
            Role::Service | Role::Admin => Ok(()),
            Role::Viewer | Role::Operator => Err(Error::PermissionDenied(format!(
                "recording events needs the service or admin role; you are {}",
                principal.role
            ))),
        }
    }

    /// Fails unless `principal` may read (viewer and up; service accounts read nothing).
    pub fn require_reader(principal: &Principal) -> Result<(), Error> {
        if principal.role.at_least(Role::Viewer) {
            Ok(())
        } else {
            Err(Error::PermissionDenied(format!(
                "reading metrics needs the viewer role or above; you are {}",
                principal.role
            )))
        }
    }

    /// Buffers validated events for writing; answers how many were accepted. Idempotent by event id (the store
    /// ignores ids it holds). A full buffer refuses the whole call UNAVAILABLE: the caller retries.
    #[tracing::instrument(skip_all, fields(events = events.len(), subject = %principal.subject))]
    pub fn record(&self, principal: &Principal, events: Vec<Event>) -> Result<u32, Error> {
        Self::require_writer(principal)?;
        if events.len() > MAX_EVENTS_PER_CALL {
            return Err(Error::invalid(
                "events",
                format!("at most {MAX_EVENTS_PER_CALL} per call"),
            ));
        }
        let accepted = u32::try_from(events.len()).unwrap_or(u32::MAX);
        self.buffer.offer(events).map_err(|full| {
            Error::Unavailable(format!(
                "the metrics write buffer is full ({full} events waiting for the store); retry shortly"
            ))
        })?;
        Ok(accepted)
    }
}
