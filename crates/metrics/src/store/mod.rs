//! The metrics store: raw events appended and read back by measurement, project, environment and time range. One
//! trait, two implementations chosen by URL (`http(s)://…` InfluxDB 2, `sqlite://path`), one conformance suite
//! (`tests/api/store/`) that both pass. Nothing is aggregated here: DORA and the series are computed in
//! [`crate::domain`] from what [`MetricsStore::read`] returns, so both stores give identical answers.
//!
//! Semantics (both stores):
//! - [`MetricsStore::append`] is idempotent by `event_id`: appending an event whose id is stored again changes
//!   nothing, also within one batch. A batch is stored whole or, on error, may be retried whole.
//! - [`MetricsStore::read`] returns the events of one measurement whose [`Event::time`] is in `[from, to)`, matching
//!   the project and environment filters when set, ordered by time then event id. Times round-trip at microsecond
//!   precision at least.

pub mod influx;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::domain::{Event, Measurement};

/// SQLite errors enter through `From`, which sorts out those meaning "busy, try again"
/// (`devopstrack_platform::store::sqlx_unavailable`); the InfluxDB store sorts its own (`influx/mod.rs`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or cannot take the request right now (unreachable, timed out, `429`/`5xx`,
    /// busy): the same request may succeed later. The service answers UNAVAILABLE.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Sqlite(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The InfluxDB server refused the request (a status that retrying will not fix) or answered something
    /// unreadable.
    #[error("influxdb: {0}")]
    Influx(String),
    /// A stored value that no longer parses.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("unsupported database URL: {0}")]
    Url(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if devopstrack_platform::store::sqlx_unavailable(&e) {
            StoreError::Unavailable(devopstrack_platform::store::chain(&e))
        } else {
            StoreError::Sqlite(e)
        }
    }
}

/// Which events to read back.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadQuery {
    pub measurement: Measurement,
    /// `None`: every project.
    pub project: Option<String>,
    /// `None`: every environment. `Some("")` selects events without an environment.
    pub environment: Option<String>,
    /// Inclusive.
    pub from: DateTime<Utc>,
    /// Exclusive.
    pub to: DateTime<Utc>,
}

#[async_trait]
pub trait MetricsStore: Send + Sync + 'static {
    /// Stores every event not stored yet (by `event_id`).
    async fn append(&self, events: &[Event]) -> StoreResult<()>;

    /// The matching events, ordered by time then event id.
    async fn read(&self, query: &ReadQuery) -> StoreResult<Vec<Event>>;

    /// [`read`](Self::read) for DORA ([`crate::domain::dora::compute`]): the same events in the same order, but only
    /// the fields DORA uses are guaranteed; the others may be left empty (`String::new()`, `None`, any `source`).
    /// Kept: every field of job runs; of deployments, event id, project, environment, status, commit sha, commit
    /// time and finish time; of changes, event id, project, commit sha and commit time; of incidents, all but title
    /// and url. A store with nothing to gain from narrower reads returns whole events (this default).
    async fn read_dora(&self, query: &ReadQuery) -> StoreResult<Vec<Event>> {
        self.read(query).await
    }

    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;
}

/// How to reach the store: the URL picks the implementation; the InfluxDB fields are ignored by SQLite.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// `sqlite://path` (embedded), or `http(s)://host:port` (InfluxDB 2).
    pub url: String,
    pub influx_org: String,
    pub influx_bucket: String,
    pub influx_token: Option<SecretString>,
}

/// What the InfluxDB store needs.
#[derive(Debug, Clone)]
pub struct InfluxSettings {
    pub url: String,
    pub org: String,
    pub bucket: String,
    pub token: Option<SecretString>,
}

/// Opens the store `settings.url` names: `sqlite:` → [`sqlite::SqliteStore`] (created and migrated when missing),
/// `http://` / `https://` → [`influx::InfluxStore`].
pub async fn open(settings: &StoreSettings) -> anyhow::Result<Arc<dyn MetricsStore>> {
    let url = settings.url.as_str();
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("http://") || url.starts_with("https://") {
        let influx = InfluxSettings {
            url: settings.url.clone(),
            org: settings.influx_org.clone(),
            bucket: settings.influx_bucket.clone(),
            token: settings.influx_token.clone(),
        };
        Ok(Arc::new(influx::InfluxStore::connect(&influx).await?))
    } else {
        Err(StoreError::Url(format!("{url:?}: expected sqlite://path, http:// or https://")).into())
    }
}
