//! DORA reads, packed: the selected rows come back as ONE JSON text (`json_group_array` of `json_array`s, built by
//! SQLite in C) instead of one sqlx row each. sqlx's per-row cost (a copy of every value, handed from its worker
//! thread through a channel: ~5 µs a row under load) was most of GetDora's time; parsing the JSON is a fraction of
//! it. Only the columns [`super::codec::Table::dora_columns`] names are selected; the other fields are left empty
//! (see [`crate::store::MetricsStore::read_dora`]). Job runs are not part of DORA and are not read this way.
//! Limit: one read part's JSON must stay under SQLite's 1 GB string length (~9 million deployments; the bench's
//! year-long read holds 66,000 a part); beyond that the read fails with an error, it does not truncate.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use devopstrack_platform::sqlite::ColumnError;

use super::codec::table;
use crate::domain::{Change, Deployment, DeploymentStatus, Event, Incident, Measurement, Source};

/// `SELECT json_group_array(json_array(<dora columns>)) FROM (<rows>)`, where `rows_sql` selects those columns in
/// read order (the aggregate keeps the subquery's order; [`decode`]'s caller checks it anyway).
pub fn select_sql(measurement: Measurement, rows_sql: &str) -> String {
    format!(
        "SELECT json_group_array(json_array({})) FROM ({rows_sql})",
        table(measurement).dora_columns.join(", ")
    )
}

fn time(value: i64) -> Result<DateTime<Utc>, ColumnError> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| ColumnError::Corrupt(format!("{value} is not a time in microseconds")))
}

fn opt_time(value: Option<i64>) -> Result<Option<DateTime<Utc>>, ColumnError> {
    value.map(time).transpose()
}

fn rows<T: DeserializeOwned>(json: &str) -> Result<Vec<T>, ColumnError> {
    serde_json::from_str(json).map_err(|e| ColumnError::Corrupt(format!("packed rows: {e}")))
}

type DeploymentRow = (String, i64, String, String, String, String, Option<i64>, i64);
type ChangeRow = (String, i64, String, String);
type IncidentRow = (String, i64, String, String, String, i64, Option<i64>);

/// The events `json` (from [`select_sql`] over `measurement`'s table) holds, in its order.
pub fn decode(measurement: Measurement, json: &str) -> Result<Vec<Event>, ColumnError> {
    match measurement {
        Measurement::Deployment => rows::<DeploymentRow>(json)?
            .into_iter()
            .map(
                |(event_id, at, project, environment, status, commit_sha, commit_time, rollback)| {
                    Ok(Event::Deployment(Deployment {
                        event_id,
                        project,
                        environment,
                        status: DeploymentStatus::parse(&status)
                            .ok_or_else(|| ColumnError::Corrupt(format!("{status:?} is not a deployment status")))?,
                        version: String::new(),
                        commit_sha,
                        commit_time: opt_time(commit_time)?,
                        started_at: None,
                        finished_at: time(at)?,
                        pipeline_id: String::new(),
                        source: Source::DevOpsTrack,
                        rollback: rollback != 0,
                    }))
                },
            )
            .collect(),
        Measurement::Change => rows::<ChangeRow>(json)?
            .into_iter()
            .map(|(event_id, at, project, commit_sha)| {
                Ok(Event::Change(Change {
                    event_id,
                    project,
                    commit_sha,
                    commit_time: time(at)?,
                    repository: String::new(),
                    branch: String::new(),
                }))
            })
            .collect(),
        Measurement::Incident => rows::<IncidentRow>(json)?
            .into_iter()
            .map(
                |(event_id, _, project, environment, incident_id, opened_at, resolved_at)| {
                    Ok(Event::Incident(Incident {
                        event_id,
                        project,
                        environment,
                        incident_id,
                        title: String::new(),
                        opened_at: time(opened_at)?,
                        resolved_at: opt_time(resolved_at)?,
                        url: String::new(),
                    }))
                },
            )
            .collect(),
        Measurement::JobRun => Err(ColumnError::Corrupt("job runs are not read packed".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_rows_decode_and_bad_values_are_corrupt() {
        let json = r#"[["d1",1700000000000001,"shop","dev","rolled_back","abc",null,1]]"#;
        let got = decode(Measurement::Deployment, json).unwrap();
        let Event::Deployment(d) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(
            (d.status, d.commit_time, d.rollback),
            (DeploymentStatus::RolledBack, None, true)
        );
        assert_eq!(d.finished_at.timestamp_micros(), 1_700_000_000_000_001);
        let bad = r#"[["d1",1,"shop","dev","exploded","abc",null,0]]"#;
        assert!(matches!(
            decode(Measurement::Deployment, bad),
            Err(ColumnError::Corrupt(_))
        ));
        assert!(matches!(
            decode(Measurement::Change, "[[1]]"),
            Err(ColumnError::Corrupt(_))
        ));
        assert!(decode(Measurement::Incident, "[]").unwrap().is_empty());
    }
}
