//! Events to InfluxDB line protocol, one point per event, written with `precision=ns`.
//!
//! - Measurement: the event kind (`job_run`, `deployment`, `change`, `incident`: identifiers, written unescaped).
//! - Tags: `project` and `environment` only — what reads filter on. A tag is part of the series key, so only values
//!   fixed by the event's identity may be tags; `status` and `source` are fields, so a corrected re-send can never
//!   start a second series. An empty value is not written (line protocol has no empty tag values): reads select
//!   "no environment" with `not exists r.environment`.
//! - Fields: everything else. Strings are quoted; counts are integers (`i`); instants are integer microseconds since
//!   the Unix epoch in fields named `…_us`, absent when the event has none.
//! - Timestamp: [`point_time_ns`], the idempotency key: the event's whole second plus a hash of its `event_id` in the
//!   nine sub-second digits. The same event always lands on the same series and timestamp, so writing it again
//!   overwrites it with itself; two distinct events share a point only if they are in the same second, have the same
//!   tags and their ids' hashes agree mod 10⁹ (odds 10⁻⁹ per such pair). The exact event time is in the fields.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::Event;

/// Points per write request (InfluxDB advises batches of about 5,000 lines).
pub const LINES_PER_REQUEST: usize = 5_000;

/// Why an event cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("{field} of event {event_id} cannot be stored as an InfluxDB tag: {reason}")]
    Tag {
        event_id: String,
        field: &'static str,
        reason: &'static str,
    },
    #[error("event {event_id} is outside the instants InfluxDB can store (years 1677 to 2262)")]
    TimeOutOfRange { event_id: String },
}

/// The point's timestamp in nanoseconds: `event second × 10⁹ + (SHA-256(event_id) mod 10⁹)`.
pub fn point_time_ns(event_id: &str, time: DateTime<Utc>) -> Option<i64> {
    let digest = Sha256::digest(event_id.as_bytes());
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    let sub_second = i64::try_from(u64::from_be_bytes(first) % 1_000_000_000).ok()?;
    time.timestamp().checked_mul(1_000_000_000)?.checked_add(sub_second)
}

/// One line (no trailing newline) for `event`.
pub fn encode(event: &Event) -> Result<String, EncodeError> {
    let event_id = event.event_id();
    let mut line = String::with_capacity(256);
    line.push_str(event.measurement().as_str());
    push_tag(&mut line, event_id, "project", event.project())?;
    push_tag(&mut line, event_id, "environment", event.environment())?;
    let mut fields = Fields::new(&mut line);
    fields.string("event_id", event_id);
    match event {
        Event::JobRun(e) => {
            fields.string("pipeline_id", &e.pipeline_id);
            fields.string("job_id", &e.job_id);
            fields.string("job_name", &e.job_name);
            fields.string("status", e.status.as_str());
            fields.string("source", e.source.as_str());
            fields.integer("attempt", i64::from(e.attempt));
            fields.time("queued_at_us", e.queued_at);
            fields.time("started_at_us", Some(e.started_at));
            fields.time("finished_at_us", Some(e.finished_at));
        }
        Event::Deployment(e) => {
            fields.string("status", e.status.as_str());
            fields.string("version", &e.version);
            fields.string("commit_sha", &e.commit_sha);
            fields.time("commit_time_us", e.commit_time);
            fields.time("started_at_us", e.started_at);
            fields.time("finished_at_us", Some(e.finished_at));
            fields.string("pipeline_id", &e.pipeline_id);
            fields.string("source", e.source.as_str());
            fields.integer("rollback", i64::from(e.rollback));
        }
        Event::Change(e) => {
            fields.string("commit_sha", &e.commit_sha);
            fields.time("commit_time_us", Some(e.commit_time));
            fields.string("repository", &e.repository);
            fields.string("branch", &e.branch);
        }
        Event::Incident(e) => {
            fields.string("incident_id", &e.incident_id);
            fields.string("title", &e.title);
            fields.time("opened_at_us", Some(e.opened_at));
            fields.time("resolved_at_us", e.resolved_at);
            fields.string("url", &e.url);
        }
    }
    let time = point_time_ns(event_id, event.time()).ok_or_else(|| EncodeError::TimeOutOfRange {
        event_id: event_id.to_owned(),
    })?;
    line.push(' ');
    line.push_str(&time.to_string());
    Ok(line)
}

/// Appends `,key=value` with `,`, `=` and space escaped; nothing for an empty value. Backslashes and line breaks are
/// refused: line protocol has no escape for them in tags (a trailing `\` would swallow the next separator).
fn push_tag(line: &mut String, event_id: &str, key: &'static str, value: &str) -> Result<(), EncodeError> {
    if value.is_empty() {
        return Ok(());
    }
    let reason = if value.contains('\\') {
        Some("it contains a backslash")
    } else if value.contains(['\n', '\r']) {
        Some("it contains a line break")
    } else {
        None
    };
    if let Some(reason) = reason {
        return Err(EncodeError::Tag {
            event_id: event_id.to_owned(),
            field: key,
            reason,
        });
    }
    line.push(',');
    line.push_str(key);
    line.push('=');
    for c in value.chars() {
        if matches!(c, ',' | '=' | ' ') {
            line.push('\\');
        }
        line.push(c);
    }
    Ok(())
}

/// Writes the field set: ` k=v,k=v` (field keys here are fixed identifiers and need no escaping).
struct Fields<'a> {
    line: &'a mut String,
    first: bool,
}

impl<'a> Fields<'a> {
    fn new(line: &'a mut String) -> Self {
        Self { line, first: true }
    }

    fn key(&mut self, key: &str) {
        self.line.push(if self.first { ' ' } else { ',' });
        self.first = false;
        self.line.push_str(key);
        self.line.push('=');
    }

    /// A quoted string with `"` and `\` escaped (InfluxDB 2 reads line breaks inside quotes as part of the value).
    fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        self.line.push('"');
        for c in value.chars() {
            if matches!(c, '"' | '\\') {
                self.line.push('\\');
            }
            self.line.push(c);
        }
        self.line.push('"');
    }

    fn integer(&mut self, key: &str, value: i64) {
        self.key(key);
        self.line.push_str(&value.to_string());
        self.line.push('i');
    }

    /// Microseconds since the epoch; nothing when `None` (a missing column reads back as `None`).
    fn time(&mut self, key: &str, value: Option<DateTime<Utc>>) {
        if let Some(value) = value {
            self.integer(key, value.timestamp_micros());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Change, Incident};

    fn at(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(micros).unwrap()
    }

    fn change(event_id: &str, project: &str) -> Event {
        Event::Change(Change {
            event_id: event_id.to_owned(),
            project: project.to_owned(),
            commit_sha: "abc".to_owned(),
            commit_time: at(1_780_000_000_123_457),
            repository: "acme/api".to_owned(),
            branch: "main".to_owned(),
        })
    }

    #[test]
    fn point_time_keeps_the_second_and_hashes_the_id_into_the_nanoseconds() {
        let time = at(1_780_000_000_123_457);
        let a = point_time_ns("evt-a", time).unwrap();
        assert_eq!(a.div_euclid(1_000_000_000), 1_780_000_000);
        assert_eq!(a, point_time_ns("evt-a", time).unwrap(), "stable for one id");
        assert_ne!(
            a,
            point_time_ns("evt-b", time).unwrap(),
            "distinct ids, distinct points"
        );
        // Fixed forever: changing the hash would duplicate every event re-sent after an upgrade.
        assert_eq!(a % 1_000_000_000, point_time_ns("evt-a", at(0)).unwrap());
        let before_epoch = point_time_ns("evt-a", at(-1_500_000)).unwrap();
        assert_eq!(before_epoch.div_euclid(1_000_000_000), -2);
    }

    #[test]
    fn instants_influxdb_cannot_hold_are_refused() {
        let far = DateTime::from_timestamp(300 * 365 * 86_400, 0).unwrap();
        assert_eq!(point_time_ns("e", far), None);
        let mut event = change("e", "api");
        if let Event::Change(c) = &mut event {
            c.commit_time = far;
        }
        assert_eq!(
            encode(&event),
            Err(EncodeError::TimeOutOfRange {
                event_id: "e".to_owned()
            })
        );
    }

    #[test]
    fn tags_escape_separators_and_strings_escape_quotes_and_backslashes() {
        let event = Event::Incident(Incident {
            event_id: "inc \"1\"".to_owned(),
            project: "my api,v=2".to_owned(),
            environment: String::new(),
            incident_id: "I-1".to_owned(),
            title: "DB \"primary\" down\\out\nsecond line".to_owned(),
            opened_at: at(1_000_000),
            resolved_at: None,
            url: String::new(),
        });
        let line = encode(&event).unwrap();
        let time = point_time_ns("inc \"1\"", at(1_000_000)).unwrap();
        assert_eq!(
            line,
            format!(
                "incident,project=my\\ api\\,v\\=2 event_id=\"inc \\\"1\\\"\",incident_id=\"I-1\",\
                 title=\"DB \\\"primary\\\" down\\\\out\nsecond line\",opened_at_us=1000000i,url=\"\" {time}"
            )
        );
    }

    #[test]
    fn tag_values_without_an_escape_are_refused_with_the_field_named() {
        for (project, reason) in [("a\\b", "backslash"), ("a\nb", "line break")] {
            let err = encode(&change("e1", project)).unwrap_err();
            assert!(err.to_string().contains("project of event e1"), "{err}");
            assert!(err.to_string().contains(reason), "{err}");
        }
    }
}
