//! Use-cases of the metrics service: the only code the transports call. Each takes the caller's verified
//! [`Principal`] and enforces its own permissions: viewer and up read (GetDora, QuerySeries, GetOverview); recording
//! events needs the `service` role (tasks' outbox, the gateway's webhook intake) or admin.
//!
//! Writes are group-committed ([`ingest`]): a Record* call returns once its events are durably in the store (and so
//! readable at once); concurrent calls share one store write. Reads ([`queries`]) go to the store and compute
//! everything with [`crate::domain`].

mod ingest;
mod queries;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use devopstrack_platform::auth::{Principal, Role};
use devopstrack_platform::metrics::MetricsRegistry;

use crate::domain::Event;
use crate::error::Error;
use crate::store::{MetricsStore, StoreError};
use ingest::{GroupCommit, WriteError};

pub use queries::{DoraAnswer, DoraQuery, OverviewAnswer, SeriesAnswer, SeriesQuery};

/// At most this many events per Record* call.
pub const MAX_EVENTS_PER_CALL: usize = 1_000;

/// Where "now" comes from: the system clock, or a test's.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The tunables of the use-cases (from [`crate::config::Settings`]).
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Events that may wait for their store write; a call that does not fit is refused UNAVAILABLE.
    pub buffer_capacity: usize,
    /// At most this many events per store write (whole calls; a larger call goes alone).
    pub flush_batch: usize,
    pub rework_window: TimeDelta,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            buffer_capacity: 100_000,
            flush_batch: 5_000,
            rework_window: TimeDelta::hours(24),
        }
    }
}

pub struct MetricsApp {
    store: Arc<dyn MetricsStore>,
    writes: Arc<GroupCommit>,
    clock: Clock,
    rework_window: TimeDelta,
}

impl MetricsApp {
    /// Registers the ingest metrics (`devopstrack_deployments_total`, `devopstrack_metrics_points_*`) in `registry`.
    /// Nothing is written (and Record* calls wait) until [`MetricsApp::start_writer`] runs.
    pub fn new(store: Arc<dyn MetricsStore>, settings: &AppSettings, clock: Clock, registry: &MetricsRegistry) -> Self {
        Self {
            store,
            writes: Arc::new(GroupCommit::new(settings, registry)),
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

    /// Starts the store writer. When `stop` is cancelled it writes what is still queued, then ends.
    pub fn start_writer(&self, stop: CancellationToken) -> JoinHandle<()> {
        let writes = self.writes.clone();
        let store = self.store.clone();
        tokio::spawn(async move { writes.run(store, stop).await })
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The store, for in-process callers (benchmarks, tests) that append or read directly.
    pub fn store(&self) -> &Arc<dyn MetricsStore> {
        &self.store
    }

    /// Events of calls in flight, waiting for their store write.
    pub fn waiting(&self) -> usize {
        self.writes.depth()
    }

    /// Whether the store answers (`/readyz`, which bounds the wait).
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

    /// Stores validated events and answers how many were accepted, once they are durably written (see [`ingest`]).
    /// Idempotent by event id (the store ignores ids it holds). A full write queue or a store that is down refuses
    /// the whole call UNAVAILABLE: the caller retries, nothing of it counts as stored.
    #[tracing::instrument(skip_all, fields(events = events.len(), subject = %principal.subject))]
    pub async fn record(&self, principal: &Principal, events: Vec<Event>) -> Result<u32, Error> {
        Self::require_writer(principal)?;
        if events.len() > MAX_EVENTS_PER_CALL {
            return Err(Error::invalid(
                "events",
                format!("at most {MAX_EVENTS_PER_CALL} per call"),
            ));
        }
        let accepted = u32::try_from(events.len()).unwrap_or(u32::MAX);
        self.writes.write(events).await.map_err(|e| match e {
            WriteError::Full(waiting) => Error::Unavailable(format!(
                "the metrics write queue is full ({waiting} events waiting for the store); retry shortly"
            )),
            WriteError::Store(e) => store_error("writing events", e),
            WriteError::Stopped => Error::Unavailable("the metrics service is shutting down; retry shortly".into()),
        })?;
        Ok(accepted)
    }
}

/// Lifts a store error: `Unavailable` (down, busy, timed out) into [`Error::Unavailable`], anything else into
/// [`Error::Internal`] with what we were doing.
fn store_error<C>(doing: C, e: Arc<StoreError>) -> Error
where
    C: std::fmt::Display + Send + Sync + 'static,
{
    match &*e {
        StoreError::Unavailable(reason) => Error::Unavailable(format!("the metrics store is unavailable: {reason}")),
        StoreError::Sqlite(_)
        | StoreError::Migrate(_)
        | StoreError::Influx(_)
        | StoreError::Corrupt(_)
        | StoreError::Url(_) => Error::Internal(anyhow::Error::new(e.clone()).context(doing)),
    }
}
