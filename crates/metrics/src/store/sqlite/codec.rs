//! How each event kind maps to its table's columns (`migrations/sqlite/0001_init.sql`): the column lists, binding an
//! event's values in that order, and decoding a row (read by column index, in the same order) back into the event.
//! A DORA read ([`Projection::Dora`]) selects only the columns DORA uses (see
//! [`crate::store::MetricsStore::read_dora`]; decoded in `packed.rs`).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteRow};

use devopstrack_platform::sqlite::{ColumnError, micros};

use crate::domain::{Change, Deployment, DeploymentStatus, Event, Incident, JobRun, JobRunStatus, Measurement, Source};

/// A measurement's table and its columns in bind / select order (`event_id`, `time`, `project`, `environment` first).
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    /// What a DORA read selects, in this order (`packed.rs` decodes them); empty: every column.
    pub dora_columns: &'static [&'static str],
}

/// Which columns a read selects and decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// Every column: the whole event.
    Full,
    /// The columns DORA uses ([`Table::dora_columns`]).
    Dora,
}

impl Table {
    pub fn select(&self, projection: Projection) -> &'static [&'static str] {
        match projection {
            Projection::Full => self.columns,
            Projection::Dora if !self.dora_columns.is_empty() => self.dora_columns,
            Projection::Dora => self.columns,
        }
    }
}

const JOB_RUNS: Table = Table {
    name: "job_runs",
    columns: &[
        "event_id",
        "time",
        "project",
        "environment",
        "pipeline_id",
        "job_id",
        "job_name",
        "status",
        "source",
        "attempt",
        "queued_at",
        "started_at",
    ],
    dora_columns: &[],
};

const DEPLOYMENTS: Table = Table {
    name: "deployments",
    columns: &[
        "event_id",
        "time",
        "project",
        "environment",
        "status",
        "version",
        "commit_sha",
        "commit_time",
        "started_at",
        "pipeline_id",
        "source",
        "rollback",
    ],
    dora_columns: &[
        "event_id",
        "time",
        "project",
        "environment",
        "status",
        "commit_sha",
        "commit_time",
        "rollback",
    ],
};

const CHANGES: Table = Table {
    name: "changes",
    columns: &[
        "event_id",
        "time",
        "project",
        "environment",
        "commit_sha",
        "repository",
        "branch",
    ],
    dora_columns: &["event_id", "time", "project", "commit_sha"],
};

const INCIDENTS: Table = Table {
    name: "incidents",
    columns: &[
        "event_id",
        "time",
        "project",
        "environment",
        "incident_id",
        "title",
        "opened_at",
        "resolved_at",
        "url",
    ],
    dora_columns: &[
        "event_id",
        "time",
        "project",
        "environment",
        "incident_id",
        "opened_at",
        "resolved_at",
    ],
};

pub fn table(measurement: Measurement) -> &'static Table {
    match measurement {
        Measurement::JobRun => &JOB_RUNS,
        Measurement::Deployment => &DEPLOYMENTS,
        Measurement::Change => &CHANGES,
        Measurement::Incident => &INCIDENTS,
    }
}

type Q<'q> = Query<'q, Sqlite, SqliteArguments>;

fn opt_micros(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(micros)
}

/// Binds `event`'s values in its table's column order.
pub fn bind<'q>(query: Q<'q>, event: &Event) -> Q<'q> {
    let query = query
        .bind(event.event_id().to_owned())
        .bind(micros(event.time()))
        .bind(event.project().to_owned())
        .bind(event.environment().to_owned());
    match event {
        Event::JobRun(e) => query
            .bind(e.pipeline_id.clone())
            .bind(e.job_id.clone())
            .bind(e.job_name.clone())
            .bind(e.status.as_str())
            .bind(e.source.as_str())
            .bind(i64::from(e.attempt))
            .bind(opt_micros(e.queued_at))
            .bind(micros(e.started_at)),
        Event::Deployment(e) => query
            .bind(e.status.as_str())
            .bind(e.version.clone())
            .bind(e.commit_sha.clone())
            .bind(opt_micros(e.commit_time))
            .bind(opt_micros(e.started_at))
            .bind(e.pipeline_id.clone())
            .bind(e.source.as_str())
            .bind(e.rollback),
        Event::Change(e) => query
            .bind(e.commit_sha.clone())
            .bind(e.repository.clone())
            .bind(e.branch.clone()),
        Event::Incident(e) => query
            .bind(e.incident_id.clone())
            .bind(e.title.clone())
            .bind(micros(e.opened_at))
            .bind(opt_micros(e.resolved_at))
            .bind(e.url.clone()),
    }
}

fn time_at(row: &SqliteRow, index: usize) -> Result<DateTime<Utc>, ColumnError> {
    let value: i64 = row.try_get(index)?;
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| ColumnError::Corrupt(format!("column {index}: {value} is not a time in microseconds")))
}

fn opt_time_at(row: &SqliteRow, index: usize) -> Result<Option<DateTime<Utc>>, ColumnError> {
    match row.try_get::<Option<i64>, _>(index)? {
        Some(_) => time_at(row, index).map(Some),
        None => Ok(None),
    }
}

fn text(row: &SqliteRow, index: usize) -> Result<String, ColumnError> {
    Ok(row.try_get(index)?)
}

fn parsed<T>(row: &SqliteRow, index: usize, what: &str, parse: fn(&str) -> Option<T>) -> Result<T, ColumnError> {
    let raw: &str = row.try_get(index)?;
    parse(raw).ok_or_else(|| ColumnError::Corrupt(format!("{raw:?} is not a {what}")))
}

/// The event a row of `measurement`'s table (selected in its column order) holds.
pub fn decode(measurement: Measurement, row: &SqliteRow) -> Result<Event, ColumnError> {
    let event_id = text(row, 0)?;
    let time = time_at(row, 1)?;
    let project = text(row, 2)?;
    let environment = text(row, 3)?;
    Ok(match measurement {
        Measurement::JobRun => Event::JobRun(JobRun {
            event_id,
            project,
            environment,
            pipeline_id: text(row, 4)?,
            job_id: text(row, 5)?,
            job_name: text(row, 6)?,
            status: parsed(row, 7, "job run status", JobRunStatus::parse)?,
            source: parsed(row, 8, "source", Source::parse)?,
            attempt: u32::try_from(row.try_get::<i64, _>(9)?)
                .map_err(|_| ColumnError::Corrupt("attempt out of range".into()))?,
            queued_at: opt_time_at(row, 10)?,
            started_at: time_at(row, 11)?,
            finished_at: time,
        }),
        Measurement::Deployment => Event::Deployment(Deployment {
            event_id,
            project,
            environment,
            status: parsed(row, 4, "deployment status", DeploymentStatus::parse)?,
            version: text(row, 5)?,
            commit_sha: text(row, 6)?,
            commit_time: opt_time_at(row, 7)?,
            started_at: opt_time_at(row, 8)?,
            finished_at: time,
            pipeline_id: text(row, 9)?,
            source: parsed(row, 10, "source", Source::parse)?,
            rollback: row.try_get::<bool, _>(11)?,
        }),
        Measurement::Change => Event::Change(Change {
            event_id,
            project,
            commit_sha: text(row, 4)?,
            commit_time: time,
            repository: text(row, 5)?,
            branch: text(row, 6)?,
        }),
        Measurement::Incident => Event::Incident(Incident {
            event_id,
            project,
            environment,
            incident_id: text(row, 4)?,
            title: text(row, 5)?,
            opened_at: time_at(row, 6)?,
            resolved_at: opt_time_at(row, 7)?,
            url: text(row, 8)?,
        }),
    })
}
