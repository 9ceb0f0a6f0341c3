//! Pivoted records (one row per point, a column per field, plus the `project`/`environment` tags) back to events —
//! the inverse of `line_protocol::encode`. A missing required field or a value of the wrong type is
//! [`StoreError::Corrupt`] naming the event and the field.

use chrono::{DateTime, Utc};

use super::annotated_csv::{Record, Value};
use crate::domain::{Change, Deployment, DeploymentStatus, Event, Incident, JobRun, JobRunStatus, Measurement, Source};
use crate::store::StoreError;

/// The event in `record`, a row of `measurement`.
pub fn event(measurement: Measurement, record: &Record) -> Result<Event, StoreError> {
    let row = Row {
        record,
        event_id: string(record, "event_id").unwrap_or_default(),
    };
    let event_id = row.required_string("event_id")?;
    let project = row.tag("project")?;
    let environment = row.tag("environment")?;
    Ok(match measurement {
        Measurement::JobRun => Event::JobRun(JobRun {
            event_id,
            project,
            environment,
            pipeline_id: row.required_string("pipeline_id")?,
            job_id: row.required_string("job_id")?,
            job_name: row.required_string("job_name")?,
            status: row.parsed("status", JobRunStatus::parse)?,
            source: row.parsed("source", Source::parse)?,
            attempt: row.attempt()?,
            queued_at: row.time("queued_at_us")?,
            started_at: row.required_time("started_at_us")?,
            finished_at: row.required_time("finished_at_us")?,
        }),
        Measurement::Deployment => Event::Deployment(Deployment {
            event_id,
            project,
            environment,
            status: row.parsed("status", DeploymentStatus::parse)?,
            version: row.required_string("version")?,
            commit_sha: row.required_string("commit_sha")?,
            commit_time: row.time("commit_time_us")?,
            started_at: row.time("started_at_us")?,
            finished_at: row.required_time("finished_at_us")?,
            pipeline_id: row.required_string("pipeline_id")?,
            source: row.parsed("source", Source::parse)?,
            // Absent in points written before rollbacks existed: they were not.
            rollback: row.integer("rollback")?.is_some_and(|n| n != 0),
        }),
        Measurement::Change => Event::Change(Change {
            event_id,
            project,
            commit_sha: row.required_string("commit_sha")?,
            commit_time: row.required_time("commit_time_us")?,
            repository: row.required_string("repository")?,
            branch: row.required_string("branch")?,
        }),
        Measurement::Incident => Event::Incident(Incident {
            event_id,
            project,
            environment,
            incident_id: row.required_string("incident_id")?,
            title: row.required_string("title")?,
            opened_at: row.required_time("opened_at_us")?,
            resolved_at: row.time("resolved_at_us")?,
            url: row.required_string("url")?,
        }),
    })
}

fn string(record: &Record, column: &str) -> Option<String> {
    match record.get(column) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

struct Row<'a> {
    record: &'a Record,
    event_id: String,
}

impl Row<'_> {
    fn corrupt(&self, column: &str, problem: &str) -> StoreError {
        StoreError::Corrupt(format!(
            "influxdb point of event {:?}: {column} {problem}",
            self.event_id
        ))
    }

    /// A string field every point of the measurement has (possibly empty).
    fn required_string(&self, column: &str) -> Result<String, StoreError> {
        match self.record.get(column) {
            Some(Value::String(s)) => Ok(s.clone()),
            None | Some(Value::Null) => Err(self.corrupt(column, "is missing")),
            Some(other) => Err(self.corrupt(column, &format!("is not a string: {other:?}"))),
        }
    }

    /// A tag: absent (or null, when other rows of the table have it) means empty.
    fn tag(&self, column: &str) -> Result<String, StoreError> {
        match self.record.get(column) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.corrupt(column, &format!("is not a string: {other:?}"))),
        }
    }

    fn parsed<T>(&self, column: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
        let raw = self.required_string(column)?;
        parse(&raw).ok_or_else(|| self.corrupt(column, &format!("has an unknown value {raw:?}")))
    }

    fn integer(&self, column: &str) -> Result<Option<i64>, StoreError> {
        match self.record.get(column) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Long(n)) => Ok(Some(*n)),
            Some(other) => Err(self.corrupt(column, &format!("is not an integer: {other:?}"))),
        }
    }

    fn attempt(&self) -> Result<u32, StoreError> {
        let n = self
            .integer("attempt")?
            .ok_or_else(|| self.corrupt("attempt", "is missing"))?;
        u32::try_from(n).map_err(|_| self.corrupt("attempt", &format!("is out of range: {n}")))
    }

    /// Microseconds since the epoch; `None` when the point has no such field.
    fn time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.integer(column)? {
            None => Ok(None),
            Some(micros) => DateTime::from_timestamp_micros(micros)
                .map(Some)
                .ok_or_else(|| self.corrupt(column, &format!("is out of range: {micros}"))),
        }
    }

    fn required_time(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        self.time(column)?.ok_or_else(|| self.corrupt(column, "is missing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cells: &[(&str, Value)]) -> Record {
        cells.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn s(v: &str) -> Value {
        Value::String(v.to_owned())
    }

    #[test]
    fn a_change_reads_back_with_its_fields_and_tags() {
        let row = record(&[
            ("event_id", s("c1")),
            ("project", s("api")),
            ("commit_sha", s("abc")),
            ("commit_time_us", Value::Long(1_780_000_000_123_457)),
            ("repository", s("acme/api")),
            ("branch", s("main")),
        ]);
        let expected = Event::Change(Change {
            event_id: "c1".to_owned(),
            project: "api".to_owned(),
            commit_sha: "abc".to_owned(),
            commit_time: DateTime::from_timestamp_micros(1_780_000_000_123_457).unwrap(),
            repository: "acme/api".to_owned(),
            branch: "main".to_owned(),
        });
        assert_eq!(event(Measurement::Change, &row).unwrap(), expected);
    }

    #[test]
    fn missing_or_mistyped_fields_are_corrupt_records_naming_the_field() {
        let base = [
            ("event_id", s("c1")),
            ("commit_sha", s("abc")),
            ("commit_time_us", Value::Long(1)),
            ("repository", s("r")),
            ("branch", s("main")),
        ];
        let cases: [(&str, Option<Value>, &str); 3] = [
            ("branch", None, "branch is missing"),
            (
                "commit_time_us",
                Some(s("yesterday")),
                "commit_time_us is not an integer",
            ),
            ("commit_time_us", Some(Value::Null), "commit_time_us is missing"),
        ];
        for (column, value, message) in cases {
            let mut row = record(&base);
            match value {
                Some(v) => row.insert(column.to_owned(), v),
                None => row.remove(column),
            };
            let err = event(Measurement::Change, &row).unwrap_err();
            assert!(
                matches!(&err, StoreError::Corrupt(m) if m.contains(message) && m.contains("\"c1\"")),
                "{err}"
            );
        }
    }
}
