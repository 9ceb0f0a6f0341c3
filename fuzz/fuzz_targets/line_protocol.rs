//! The metrics service's InfluxDB line protocol writer (`line_protocol::encode`) against a reader written here from
//! the line protocol reference, and the decoding of what InfluxDB hands back (`decode::event`).
//!
//! Input: any event (times at microsecond precision, as the service keeps them). Invariants: `encode` refuses exactly
//! the tag values line protocol cannot escape (a backslash or a line break) and the instants InfluxDB cannot store;
//! otherwise the line is one point of the event's measurement whose tags are its non-empty project and environment,
//! whose timestamp is `point_time_ns`, and whose fields, read back as InfluxDB would and decoded, give the same event.
#![no_main]

use std::collections::HashMap;

use arbitrary::Unstructured;
use chrono::{DateTime, Utc};
use devopstrack_metrics::domain::{
    Change, Deployment, DeploymentStatus, Event, Incident, JobRun, JobRunStatus, Source,
};
use devopstrack_metrics::store::influx::fuzzing::{EncodeError, Record, Value, encode, event, point_time_ns};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(original) = any_event(&mut Unstructured::new(data)) else {
        return;
    };
    let unescapable = |v: &str| v.contains(['\\', '\n', '\r']);
    match encode(&original) {
        Err(EncodeError::Tag { field, .. }) => {
            let value = if field == "project" {
                original.project()
            } else {
                original.environment()
            };
            assert!(unescapable(value), "{field} {value:?} was refused");
        }
        Err(EncodeError::TimeOutOfRange { .. }) => {
            assert!(point_time_ns(original.event_id(), original.time()).is_none());
        }
        Ok(line) => {
            assert!(!unescapable(original.project()) && !unescapable(original.environment()));
            let point = read_line(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
            assert_eq!(point.measurement, original.measurement().as_str());
            let mut expected_tags = Vec::new();
            for (key, value) in [("project", original.project()), ("environment", original.environment())] {
                if !value.is_empty() {
                    expected_tags.push((key.to_owned(), value.to_owned()));
                }
            }
            assert_eq!(point.tags, expected_tags, "{line:?}");
            assert_eq!(Some(point.time), point_time_ns(original.event_id(), original.time()));
            let mut record: Record = HashMap::new();
            let tags = point.tags.into_iter().map(|(k, v)| (k, Value::String(v)));
            for (key, value) in tags.chain(point.fields) {
                assert!(record.insert(key.clone(), value).is_none(), "{key} twice in {line:?}");
            }
            let decoded = event(original.measurement(), &record).expect("decodes");
            assert_eq!(decoded, original, "{line:?}");
        }
    }
});

fn any_event(u: &mut Unstructured) -> arbitrary::Result<Event> {
    Ok(match u.int_in_range(0..=3)? {
        0 => Event::JobRun(JobRun {
            event_id: u.arbitrary()?,
            project: u.arbitrary()?,
            environment: u.arbitrary()?,
            pipeline_id: u.arbitrary()?,
            job_id: u.arbitrary()?,
            job_name: u.arbitrary()?,
            status: *u.choose(&JobRunStatus::ALL)?,
            source: source(u)?,
            attempt: u.arbitrary()?,
            queued_at: maybe_time(u)?,
            started_at: time(u)?,
            finished_at: time(u)?,
        }),
        1 => Event::Deployment(Deployment {
            event_id: u.arbitrary()?,
            project: u.arbitrary()?,
            environment: u.arbitrary()?,
            status: *u.choose(&DeploymentStatus::ALL)?,
            version: u.arbitrary()?,
            commit_sha: u.arbitrary()?,
            commit_time: maybe_time(u)?,
            started_at: maybe_time(u)?,
            finished_at: time(u)?,
            pipeline_id: u.arbitrary()?,
            source: source(u)?,
        }),
        2 => Event::Change(Change {
            event_id: u.arbitrary()?,
            project: u.arbitrary()?,
            commit_sha: u.arbitrary()?,
            commit_time: time(u)?,
            repository: u.arbitrary()?,
            branch: u.arbitrary()?,
        }),
        _ => Event::Incident(Incident {
            event_id: u.arbitrary()?,
            project: u.arbitrary()?,
            environment: u.arbitrary()?,
            incident_id: u.arbitrary()?,
            title: u.arbitrary()?,
            opened_at: time(u)?,
            resolved_at: maybe_time(u)?,
            url: u.arbitrary()?,
        }),
    })
}

fn source(u: &mut Unstructured) -> arbitrary::Result<Source> {
    Ok(if u.arbitrary()? {
        Source::Github
    } else {
        Source::DevOpsTrack
    })
}

fn time(u: &mut Unstructured) -> arbitrary::Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(u.arbitrary()?).ok_or(arbitrary::Error::IncorrectFormat)
}

fn maybe_time(u: &mut Unstructured) -> arbitrary::Result<Option<DateTime<Utc>>> {
    if u.arbitrary()? { time(u).map(Some) } else { Ok(None) }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Up to (not including) the first unescaped `stops` character; `\` escapes `,`, `=` and space.
fn token(stops: &[char], chars: &mut Chars) -> String {
    let mut out = String::new();
    while let Some(&c) = chars.peek() {
        if stops.contains(&c) {
            break;
        }
        chars.next();
        if c == '\\' && chars.peek().is_some_and(|n| [',', '=', ' '].contains(n)) {
            out.push(chars.next().unwrap_or_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// One point as InfluxDB reads it: tags as strings, `…i` fields as longs, quoted fields as strings.
struct Point {
    measurement: String,
    tags: Vec<(String, String)>,
    fields: Vec<(String, Value)>,
    time: i64,
}

/// A reader for one line, after the line protocol reference: the measurement and tag keys and values end at an
/// unescaped `,`, `=` or space (`\` escapes those three); a field value is a quoted string (`\"` and `\\` escaped), or
/// an integer with an `i` suffix; the timestamp follows the last space.
fn read_line(line: &str) -> Result<Point, String> {
    let mut chars = line.chars().peekable();
    let measurement = token(&[',', ' '], &mut chars);
    let mut tags = Vec::new();
    while chars.peek() == Some(&',') {
        chars.next();
        let key = token(&['='], &mut chars);
        if chars.next() != Some('=') {
            return Err(format!("tag {key} has no ="));
        }
        let value = token(&[',', ' '], &mut chars);
        if value.is_empty() {
            return Err(format!("tag {key} is empty"));
        }
        tags.push((key, value));
    }
    if chars.next() != Some(' ') {
        return Err("no field set".into());
    }
    let mut fields = Vec::new();
    loop {
        let key = token(&['='], &mut chars);
        if chars.next() != Some('=') {
            return Err(format!("field {key} has no ="));
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err(format!("field {key}: unterminated string")),
                    Some('"') => break,
                    Some('\\') if matches!(chars.peek(), Some('"' | '\\')) => s.push(chars.next().unwrap_or_default()),
                    Some(c) => s.push(c),
                }
            }
            Value::String(s)
        } else {
            let raw = token(&[',', ' '], &mut chars);
            let digits = raw
                .strip_suffix('i')
                .ok_or_else(|| format!("field {key}: {raw:?} is not an integer"))?;
            Value::Long(digits.parse().map_err(|e| format!("field {key}: {e}"))?)
        };
        fields.push((key, value));
        match chars.next() {
            Some(',') => continue,
            Some(' ') => break,
            other => return Err(format!("after a field: {other:?}")),
        }
    }
    let time: String = chars.collect();
    let time = time.parse().map_err(|e| format!("timestamp {time:?}: {e}"))?;
    Ok(Point {
        measurement,
        tags,
        fields,
        time,
    })
}
