//! The InfluxDB 2 store (production): events are points written as line protocol and read back with Flux.
//!
//! - Schema, timestamps and idempotency: see [`line_protocol`]. One measurement per kind, tags `project` and
//!   `environment`, every other value a field, the point time = event second + hash of the `event_id`.
//! - [`MetricsStore::append`] first asks which of the batch's ids are stored already ([`flux::existing_ids_query`])
//!   and writes only the others, so the first version of an event wins as in SQLite (`INSERT OR IGNORE`); an event
//!   re-sent concurrently lands on its own point and overwrites itself. Writes go in requests of
//!   [`line_protocol::LINES_PER_REQUEST`] lines, `precision=ns`. Every event is encoded before the first request,
//!   so an event that cannot be stored fails the batch before anything is written.
//! - [`MetricsStore::read`] runs [`flux::read_query`] (range, measurement, tags, pivot), parses the annotated CSV
//!   ([`annotated_csv`]), decodes ([`decode`]), keeps the events timed in `[from, to)` (in whole µs) and sorts them
//!   by time then event id.
//! - Errors name the operation, the HTTP status and the server's message. A server that cannot be reached, does not
//!   answer in time, reports itself unhealthy or answers `429`/`502`/`503`/`504` is [`StoreError::Unavailable`] (the
//!   service answers UNAVAILABLE: retry later); any other refusal or unreadable answer is [`StoreError::Influx`]. The
//!   token is never logged nor put in an error; the URL's path is ignored.
//!
//! Clients: the influxdb2 crate (without TLS features, `default-features = false`: its TLS stacks are old; the
//! `influxdb-tls` cargo feature turns its rustls on for `https://`) writes line protocol and reads `/health`. Flux
//! queries go through the workspace's reqwest 0.12 and our own annotated-CSV parser, because the crate's
//! `query_raw` unwraps on malformed answers and on body read errors (a panic in the service), does not send
//! `Accept: application/csv`, and folds null and missing columns together.

mod annotated_csv;
mod decode;
mod flux;
mod line_protocol;

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use influxdb2::RequestError;
use influxdb2::api::write::TimestampPrecision;
use influxdb2::models::Status;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use super::{InfluxSettings, MetricsStore, ReadQuery, StoreError, StoreResult};
use crate::domain::{Event, Measurement};
use annotated_csv::{CsvError, Value};

pub use line_protocol::LINES_PER_REQUEST;

/// What the cargo-fuzz targets in `fuzz/` call: the annotated-CSV parser, the decoding of its rows and the line
/// protocol encoder. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::annotated_csv::{CsvError, Record, Value, parse};
    pub use super::decode::event;
    pub use super::line_protocol::{EncodeError, encode, point_time_ns};
}

/// How long one HTTP exchange with InfluxDB may take before the operation fails (retryable).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Event ids per "which are stored already" query.
const IDS_PER_QUERY: usize = 1_000;

/// A store on one bucket of one InfluxDB 2 organization.
pub struct InfluxStore {
    writer: influxdb2::Client,
    http: reqwest::Client,
    query_url: reqwest::Url,
    org: String,
    bucket: String,
    token: Option<SecretString>,
    timeout: Duration,
}

impl fmt::Debug for InfluxStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InfluxStore")
            .field("url", &self.query_url.origin().ascii_serialization())
            .field("org", &self.org)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl InfluxStore {
    /// Checks the settings and builds the clients; sends nothing (a server that is down shows in [`Self::ping`]).
    pub async fn connect(settings: &InfluxSettings) -> StoreResult<Self> {
        let mut url = reqwest::Url::parse(&settings.url)
            .map_err(|e| StoreError::Url(format!("InfluxDB URL {:?}: {e}", settings.url)))?;
        match url.scheme() {
            "http" => {}
            "https" if cfg!(feature = "influxdb-tls") => {}
            "https" => {
                return Err(StoreError::Url(format!(
                    "{:?}: https needs devopstrack-metrics built with the `influxdb-tls` feature",
                    settings.url
                )));
            }
            other => {
                return Err(StoreError::Url(format!(
                    "{:?}: scheme {other} is not http(s)",
                    settings.url
                )));
            }
        }
        for (name, value) in [("org", &settings.org), ("bucket", &settings.bucket)] {
            if value.trim().is_empty() {
                return Err(StoreError::Influx(format!("settings: the InfluxDB {name} is empty")));
            }
        }
        let token = settings
            .token
            .as_ref()
            .map(|t| t.expose_secret().to_owned())
            .unwrap_or_default();
        let writer = influxdb2::ClientBuilder::new(url.as_str(), &settings.org, token)
            .build()
            .map_err(|e| StoreError::Influx(format!("building the InfluxDB client: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(DEFAULT_REQUEST_TIMEOUT)
            .build()
            .map_err(|e| StoreError::Influx(format!("building the InfluxDB query client: {e}")))?;
        url.set_path("/api/v2/query");
        url.set_query(None);
        Ok(Self {
            writer,
            http,
            query_url: url,
            org: settings.org.clone(),
            bucket: settings.bucket.clone(),
            token: settings.token.clone(),
            timeout: DEFAULT_REQUEST_TIMEOUT,
        })
    }

    /// The same store with another per-request timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn timed<T>(&self, op: &str, request: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        tokio::time::timeout(self.timeout, request).await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "influxdb: {op}: no answer within {:?}",
                self.timeout
            )))
        })
    }

    /// Runs a Flux query and parses the annotated CSV answer.
    async fn query(&self, op: &str, flux: String) -> StoreResult<Vec<annotated_csv::Record>> {
        let body = serde_json::json!({
            "query": flux,
            "type": "flux",
            "dialect": {
                "header": true,
                "delimiter": ",",
                "annotations": ["datatype", "group", "default"],
                "dateTimeFormat": "RFC3339Nano",
            },
        });
        let mut request = self
            .http
            .post(self.query_url.clone())
            .query(&[("org", &self.org)])
            .header(ACCEPT, "application/csv");
        if let Some(token) = &self.token {
            let mut value = HeaderValue::from_str(&format!("Token {}", token.expose_secret()))
                .map_err(|_| StoreError::Influx("settings: the InfluxDB token is not a valid header value".into()))?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        let text = self
            .timed(op, async {
                let response = request.json(&body).send().await.map_err(|e| transport_error(op, &e))?;
                let status = response.status().as_u16();
                let text = response.text().await.map_err(|e| transport_error(op, &e))?;
                if status == 200 {
                    Ok(text)
                } else {
                    Err(http_error(op, status, &text))
                }
            })
            .await?;
        annotated_csv::parse(&text).map_err(|e| match e {
            CsvError::Query(message) => StoreError::Influx(format!("{op}: query failed: {message}")),
            malformed @ CsvError::Malformed { .. } => StoreError::Influx(format!("{op}: {malformed}")),
        })
    }

    /// Which of `events` (one measurement) are stored already.
    async fn existing_ids(&self, measurement: Measurement, events: &[&Event]) -> StoreResult<HashSet<String>> {
        let mut existing = HashSet::new();
        for chunk in events.chunks(IDS_PER_QUERY) {
            let first = chunk.iter().map(|e| e.time()).min();
            let last = chunk.iter().map(|e| e.time()).max();
            let (Some(first), Some(last)) = (first, last) else {
                continue;
            };
            let (start, stop) = flux::point_range(first, last);
            let ids: Vec<&str> = chunk.iter().map(|e| e.event_id()).collect();
            let flux = flux::existing_ids_query(&self.bucket, measurement, start, stop, &ids);
            for record in self.query("append (existing ids)", flux).await? {
                if let Some(Value::String(id)) = record.get("_value") {
                    existing.insert(id.clone());
                }
            }
        }
        Ok(existing)
    }

    async fn write(&self, lines: &[String]) -> StoreResult<()> {
        for chunk in lines.chunks(LINES_PER_REQUEST) {
            let body = chunk.join("\n");
            self.timed("append (write)", async {
                self.writer
                    .write_line_protocol_with_precision(&self.org, &self.bucket, body, TimestampPrecision::Nanoseconds)
                    .await
                    .map_err(|e| crate_error("append (write)", e))
            })
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl MetricsStore for InfluxStore {
    async fn append(&self, events: &[Event]) -> StoreResult<()> {
        let mut seen = HashSet::new();
        let unique: Vec<&Event> = events.iter().filter(|e| seen.insert(e.event_id())).collect();
        let mut encoded = Vec::with_capacity(unique.len());
        for event in &unique {
            let line = line_protocol::encode(event).map_err(|e| StoreError::Influx(format!("append: {e}")))?;
            encoded.push((*event, line));
        }
        let mut lines = Vec::with_capacity(encoded.len());
        for measurement in Measurement::ALL {
            let of_kind: Vec<&Event> = encoded
                .iter()
                .filter(|(e, _)| e.measurement() == measurement)
                .map(|(e, _)| *e)
                .collect();
            if of_kind.is_empty() {
                continue;
            }
            let existing = self.existing_ids(measurement, &of_kind).await?;
            lines.extend(
                encoded
                    .iter()
                    .filter(|(e, _)| e.measurement() == measurement && !existing.contains(e.event_id()))
                    .map(|(_, line)| line.clone()),
            );
        }
        self.write(&lines).await
    }

    async fn read(&self, query: &ReadQuery) -> StoreResult<Vec<Event>> {
        let (start, stop) = flux::point_range(query.from, query.to);
        let (start, stop) = (start.max(earliest_point()), stop.min(latest_point()));
        if query.from >= query.to || start >= stop {
            return Ok(Vec::new());
        }
        let spec = flux::ReadSpec {
            bucket: &self.bucket,
            measurement: query.measurement,
            project: query.project.as_deref(),
            environment: query.environment.as_deref(),
            start,
            stop,
        };
        // Compared in whole microseconds, the precision both stores keep (as the SQLite store's `WHERE`).
        let range = query.from.timestamp_micros()..query.to.timestamp_micros();
        let mut events = Vec::new();
        for record in self.query("read", flux::read_query(&spec)).await? {
            let event = decode::event(query.measurement, &record)?;
            if range.contains(&event.time().timestamp_micros()) {
                events.push(event);
            }
        }
        events.sort_by(|a, b| a.time().cmp(&b.time()).then_with(|| a.event_id().cmp(b.event_id())));
        Ok(events)
    }

    async fn ping(&self) -> StoreResult<()> {
        let health = self
            .timed("ping", async {
                self.writer.health().await.map_err(|e| crate_error("ping", e))
            })
            .await?;
        match health.status {
            Status::Pass => Ok(()),
            Status::Fail => Err(StoreError::Unavailable(format!(
                "influxdb: ping: InfluxDB reports it is not healthy: {}",
                health.message.unwrap_or_default()
            ))),
        }
    }
}

/// The earliest and latest instants an InfluxDB timestamp (i64 nanoseconds) can hold, in whole seconds.
fn earliest_point() -> DateTime<Utc> {
    DateTime::from_timestamp(-9_223_372_036, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn latest_point() -> DateTime<Utc> {
    DateTime::from_timestamp(9_223_372_036, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `429` and `503` (and `502`/`504` from a proxy) are worth retrying: [`StoreError::Unavailable`]; the others need a
/// fix.
fn http_error(op: &str, status: u16, body: &str) -> StoreError {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.trim().chars().take(300).collect());
    if matches!(status, 429 | 502 | 503 | 504) {
        StoreError::Unavailable(format!("influxdb: {op}: HTTP {status}: {message}"))
    } else {
        StoreError::Influx(format!("{op}: HTTP {status}: {message}"))
    }
}

/// Could not reach the server or read its answer: [`StoreError::Unavailable`], with the whole cause chain
/// ("connection refused").
fn transport_error(op: &str, error: &(dyn std::error::Error + 'static)) -> StoreError {
    let message = devopstrack_platform::store::chain(error);
    StoreError::Unavailable(format!("influxdb: {op}: InfluxDB unreachable: {message}"))
}

fn crate_error(op: &str, error: RequestError) -> StoreError {
    match error {
        RequestError::Http { status, text } => http_error(op, status.as_u16(), &text),
        RequestError::ReqwestProcessing { source } if source.is_decode() => {
            StoreError::Influx(format!("{op}: unreadable answer (not InfluxDB 2?): {source}"))
        }
        RequestError::ReqwestProcessing { source } => transport_error(op, &source),
        RequestError::Serializing { source } => StoreError::Influx(format!("{op}: encoding the request: {source}")),
        RequestError::Deserializing { text } => StoreError::Influx(format!("{op}: unreadable answer: {text}")),
    }
}
