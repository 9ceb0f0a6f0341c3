//! Proto requests as the app's input: the stages of a CreatePipelineRequest and a TrackExternalRunRequest, with enums
//! and timestamps decoded. A bad value is INVALID_ARGUMENT naming its field; range checks are the domain's.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use serde_json::Value;

use devopstrack_proto::tasks::v1 as pb;

use super::struct_to_value;
use crate::domain::external::{ExternalJobInput, ExternalRunInput, MAX_EXTERNAL_JOBS, TrackExternalRun};
use crate::domain::spec::{JobInput, RetryInput, StageInput};
use crate::domain::{JobStatus, PipelineInput, PipelineStatus};
use crate::error::Error;

/// A TrackExternalRunRequest as the app's input: enums and timestamps decoded (an unknown number or an impossible time
/// is INVALID_ARGUMENT naming the field); lengths and statuses are the domain's to check.
pub fn track_external_run(r: pb::TrackExternalRunRequest) -> Result<TrackExternalRun, Error> {
    match pb::Source::try_from(r.source) {
        Ok(pb::Source::Github) => {}
        _ => {
            return Err(Error::invalid(
                "source",
                "must be SOURCE_GITHUB (the only external source)",
            ));
        }
    }
    if r.jobs.len() > MAX_EXTERNAL_JOBS {
        return Err(Error::invalid(
            "jobs",
            format!("at most {MAX_EXTERNAL_JOBS} jobs in a run, got {}", r.jobs.len()),
        ));
    }
    let jobs = r
        .jobs
        .into_iter()
        .enumerate()
        .map(|(i, j)| {
            Ok(ExternalJobInput {
                status: job_status_from(&format!("jobs[{i}].status"), j.status)?,
                started_at: time_from(&format!("jobs[{i}].startedAt"), j.started_at)?,
                finished_at: time_from(&format!("jobs[{i}].finishedAt"), j.finished_at)?,
                external_id: j.external_id,
                name: j.name,
                external_url: j.external_url,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(TrackExternalRun {
        project: r.project,
        environment: r.environment,
        version: r.version,
        triggered_by: r.triggered_by,
        commit_sha: r.commit_sha,
        commit_time: time_from("commitTime", r.commit_time)?,
        run: ExternalRunInput {
            external_id: r.external_id,
            external_url: r.external_url,
            name: r.name,
            status: pipeline_status_from("status", r.status)?,
            created_at: time_from("createdAt", r.created_at)?,
            started_at: time_from("startedAt", r.started_at)?,
            finished_at: time_from("finishedAt", r.finished_at)?,
            jobs,
        },
    })
}

/// A proto pipeline status as a filter or a reported status: `UNSPECIFIED` is `None`; an unknown number is
/// INVALID_ARGUMENT naming `field`.
pub fn pipeline_status_from(field: &str, raw: i32) -> Result<Option<PipelineStatus>, Error> {
    Ok(match pb::PipelineStatus::try_from(raw) {
        Ok(pb::PipelineStatus::Unspecified) => None,
        Ok(pb::PipelineStatus::Queued) => Some(PipelineStatus::Queued),
        Ok(pb::PipelineStatus::Running) => Some(PipelineStatus::Running),
        Ok(pb::PipelineStatus::WaitingApproval) => Some(PipelineStatus::WaitingApproval),
        Ok(pb::PipelineStatus::Succeeded) => Some(PipelineStatus::Succeeded),
        Ok(pb::PipelineStatus::Failed) => Some(PipelineStatus::Failed),
        Ok(pb::PipelineStatus::Cancelled) => Some(PipelineStatus::Cancelled),
        Err(_) => return Err(Error::invalid(field, format!("unknown pipeline status {raw}"))),
    })
}

fn job_status_from(field: &str, raw: i32) -> Result<Option<JobStatus>, Error> {
    Ok(match pb::JobStatus::try_from(raw) {
        Ok(pb::JobStatus::Unspecified) => None,
        Ok(pb::JobStatus::Pending) => Some(JobStatus::Pending),
        Ok(pb::JobStatus::Queued) => Some(JobStatus::Queued),
        Ok(pb::JobStatus::WaitingApproval) => Some(JobStatus::WaitingApproval),
        Ok(pb::JobStatus::Running) => Some(JobStatus::Running),
        Ok(pb::JobStatus::Succeeded) => Some(JobStatus::Succeeded),
        Ok(pb::JobStatus::Failed) => Some(JobStatus::Failed),
        Ok(pb::JobStatus::Cancelled) => Some(JobStatus::Cancelled),
        Ok(pb::JobStatus::TimedOut) => Some(JobStatus::TimedOut),
        Err(_) => return Err(Error::invalid(field, format!("unknown job status {raw}"))),
    })
}

/// A proto timestamp as a time; `None` stays `None`.
pub fn time_from(field: &str, t: Option<Timestamp>) -> Result<Option<DateTime<Utc>>, Error> {
    let Some(t) = t else { return Ok(None) };
    u32::try_from(t.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .and_then(|nanos| DateTime::from_timestamp(t.seconds, nanos))
        .map(Some)
        .ok_or_else(|| Error::invalid(field, "is not a valid timestamp"))
}

/// The stages of a CreatePipelineRequest as the domain's raw input (range checks are the domain's).
pub fn pipeline_input(stages: Vec<pb::Stage>) -> Result<PipelineInput, Error> {
    // Counts are checked by the domain before any job is parsed; refuse absurd sizes before converting params.
    if stages.len() > crate::domain::spec::MAX_STAGES * 4 {
        return Err(Error::invalid(
            "stages",
            format!("at most {} stages", crate::domain::spec::MAX_STAGES),
        ));
    }
    let stages = stages
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let jobs = s
                .jobs
                .into_iter()
                .enumerate()
                .map(|(k, j)| job_input(&format!("stages[{i}].jobs[{k}]"), j))
                .collect::<Result<_, _>>()?;
            Ok(StageInput { name: s.name, jobs })
        })
        .collect::<Result<_, Error>>()?;
    Ok(PipelineInput { stages })
}

fn job_input(path: &str, j: pb::Job) -> Result<JobInput, Error> {
    let executor = match pb::Executor::try_from(j.executor) {
        Ok(pb::Executor::Unspecified | pb::Executor::Simulate) => "simulate",
        Ok(pb::Executor::Http) => "http",
        Err(_) => {
            return Err(Error::invalid(
                &format!("{path}.executor"),
                format!("unknown executor {}", j.executor),
            ));
        }
    };
    let params = match j.params {
        None => Value::Null,
        Some(s) => struct_to_value(&s, 0).map_err(|e| Error::invalid(&format!("{path}.params"), e))?,
    };
    let nonzero = |v: u64| (v != 0).then(|| i64::try_from(v).unwrap_or(i64::MAX));
    Ok(JobInput {
        name: j.name,
        executor: executor.to_owned(),
        params,
        timeout_s: nonzero(u64::from(j.timeout_s)),
        retry: j.retry.map(|r| RetryInput {
            max_attempts: nonzero(u64::from(r.max_attempts)),
            initial_backoff_ms: nonzero(r.initial_backoff_ms),
            max_backoff_ms: nonzero(r.max_backoff_ms),
        }),
        allow_failure: j.allow_failure,
        requires_approval: j.requires_approval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_executor_number_names_the_field() {
        let stages = vec![pb::Stage {
            name: "build".into(),
            jobs: vec![pb::Job {
                name: "compile".into(),
                executor: 42,
                ..Default::default()
            }],
        }];
        let err = pipeline_input(stages).unwrap_err().to_string();
        assert!(err.starts_with("stages[0].jobs[0].executor:"), "{err}");
    }
}
