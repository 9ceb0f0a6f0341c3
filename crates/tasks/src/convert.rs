//! Domain ↔ proto translations, shared by the gRPC transport, the event stream and the outbox. Generated types stop
//! at these functions.

use chrono::{DateTime, Utc};
use prost_types::{ListValue, Struct, Timestamp, value::Kind};
use serde_json::{Map, Number, Value};

use devopstrack_proto::tasks::v1 as pb;

use crate::app::TrackExternalRun;
use crate::domain::external::{ExternalJobInput, ExternalRunInput, MAX_EXTERNAL_JOBS};
use crate::domain::spec::{ExecutorKind, JobInput, RetryInput, StageInput};
use crate::domain::{CommitRef, Job, JobStatus, Pipeline, PipelineInput, PipelineStatus, Source, Trigger};
use crate::error::Error;

/// Deepest JSON nesting accepted in job params (a bound on recursion for hostile input).
pub const MAX_PARAMS_DEPTH: usize = 16;

pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn opt_ts(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(timestamp)
}

pub fn pipeline_status(s: PipelineStatus) -> pb::PipelineStatus {
    match s {
        PipelineStatus::Queued => pb::PipelineStatus::Queued,
        PipelineStatus::Running => pb::PipelineStatus::Running,
        PipelineStatus::WaitingApproval => pb::PipelineStatus::WaitingApproval,
        PipelineStatus::Succeeded => pb::PipelineStatus::Succeeded,
        PipelineStatus::Failed => pb::PipelineStatus::Failed,
        PipelineStatus::Cancelled => pb::PipelineStatus::Cancelled,
    }
}

pub fn job_status(s: JobStatus) -> pb::JobStatus {
    match s {
        JobStatus::Pending => pb::JobStatus::Pending,
        JobStatus::Queued => pb::JobStatus::Queued,
        JobStatus::WaitingApproval => pb::JobStatus::WaitingApproval,
        JobStatus::Running => pb::JobStatus::Running,
        JobStatus::Succeeded => pb::JobStatus::Succeeded,
        JobStatus::Failed => pb::JobStatus::Failed,
        JobStatus::Cancelled => pb::JobStatus::Cancelled,
        JobStatus::TimedOut => pb::JobStatus::TimedOut,
    }
}

pub fn trigger(t: Trigger) -> pb::Trigger {
    match t {
        Trigger::Manual => pb::Trigger::Manual,
        Trigger::Chat => pb::Trigger::Chat,
        Trigger::Webhook => pb::Trigger::Webhook,
        Trigger::Api => pb::Trigger::Api,
    }
}

/// The pipeline with its stages and jobs.
pub fn pipeline(p: &Pipeline) -> pb::Pipeline {
    let mut out = pipeline_header(p);
    out.stages = p
        .stages
        .iter()
        .map(|s| pb::Stage {
            name: s.name.as_str().to_owned(),
            jobs: s.jobs.iter().map(|j| job(p, s.name.as_str(), j)).collect(),
        })
        .collect();
    out
}

/// The pipeline without its stages (what job events carry: the job itself is beside it).
pub fn pipeline_header(p: &Pipeline) -> pb::Pipeline {
    let (external_url, external_id, source) = match &p.meta.source {
        Source::DevOpsTrack => (String::new(), String::new(), pb::Source::Devopstrack),
        Source::Github {
            external_url,
            external_id,
        } => (external_url.clone(), external_id.clone(), pb::Source::Github),
    };
    pb::Pipeline {
        id: p.id.to_string(),
        project: p.meta.project.clone(),
        environment: p
            .meta
            .target
            .as_ref()
            .map(|t| t.environment.clone())
            .unwrap_or_default(),
        version: p.meta.target.as_ref().map(|t| t.version.clone()).unwrap_or_default(),
        trigger: trigger(p.meta.trigger).into(),
        triggered_by: p.meta.triggered_by.clone(),
        stages: Vec::new(),
        status: pipeline_status(p.status).into(),
        created_at: Some(timestamp(p.created_at)),
        started_at: opt_ts(p.started_at),
        finished_at: opt_ts(p.finished_at),
        idempotency_key: p.meta.idempotency_key.clone().unwrap_or_default(),
        source: source.into(),
        external_url,
        external_id,
        cancelled_by: p.cancelled_by.clone().unwrap_or_default(),
        commit_sha: p.meta.commit.as_ref().map(|c| c.sha().to_owned()).unwrap_or_default(),
        commit_time: opt_ts(p.meta.commit.as_ref().and_then(CommitRef::time)),
    }
}

pub fn job(p: &Pipeline, stage: &str, j: &Job) -> pb::Job {
    let retry = &j.spec.retry;
    pb::Job {
        id: j.id.to_string(),
        pipeline_id: p.id.to_string(),
        stage: stage.to_owned(),
        name: j.spec.name.as_str().to_owned(),
        executor: match j.spec.executor.kind() {
            ExecutorKind::Simulate => pb::Executor::Simulate,
            ExecutorKind::Http => pb::Executor::Http,
            // No proto value: `params` carries externalId, name and url.
            ExecutorKind::External => pb::Executor::Unspecified,
        }
        .into(),
        params: match value_to_struct(&j.spec.executor.params_json()) {
            Some(Kind::StructValue(s)) => Some(s),
            _ => None,
        },
        timeout_s: j.spec.timeout_s,
        retry: Some(pb::RetryPolicy {
            max_attempts: retry.max_attempts(),
            initial_backoff_ms: retry.initial_backoff_ms(),
            max_backoff_ms: retry.max_backoff_ms(),
        }),
        allow_failure: j.spec.allow_failure,
        requires_approval: j.gated,
        attempt: j.attempt,
        status: job_status(j.status).into(),
        worker: j.worker.clone().unwrap_or_default(),
        started_at: opt_ts(j.started_at),
        finished_at: opt_ts(j.finished_at),
        exit_reason: j.exit_reason.clone().unwrap_or_default(),
        approved_by: j.approved_by.clone().unwrap_or_default(),
        rejected_by: j.rejected_by.clone().unwrap_or_default(),
        not_before: opt_ts(j.not_before),
    }
}

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
    let status = match pb::PipelineStatus::try_from(r.status) {
        Ok(pb::PipelineStatus::Unspecified) => None,
        Ok(pb::PipelineStatus::Queued) => Some(PipelineStatus::Queued),
        Ok(pb::PipelineStatus::Running) => Some(PipelineStatus::Running),
        Ok(pb::PipelineStatus::WaitingApproval) => Some(PipelineStatus::WaitingApproval),
        Ok(pb::PipelineStatus::Succeeded) => Some(PipelineStatus::Succeeded),
        Ok(pb::PipelineStatus::Failed) => Some(PipelineStatus::Failed),
        Ok(pb::PipelineStatus::Cancelled) => Some(PipelineStatus::Cancelled),
        Err(_) => {
            return Err(Error::invalid(
                "status",
                format!("unknown pipeline status {}", r.status),
            ));
        }
    };
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
            status,
            created_at: time_from("createdAt", r.created_at)?,
            started_at: time_from("startedAt", r.started_at)?,
            finished_at: time_from("finishedAt", r.finished_at)?,
            jobs,
        },
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

/// A protobuf Struct as JSON. Numbers that are whole become integers (protobuf has only doubles).
pub fn struct_to_value(s: &Struct, depth: usize) -> Result<Value, String> {
    if depth > MAX_PARAMS_DEPTH {
        return Err(format!("nested deeper than {MAX_PARAMS_DEPTH} levels"));
    }
    let mut map = Map::new();
    for (k, v) in &s.fields {
        map.insert(k.clone(), kind_to_value(v.kind.as_ref(), depth + 1)?);
    }
    Ok(Value::Object(map))
}

fn kind_to_value(kind: Option<&Kind>, depth: usize) -> Result<Value, String> {
    if depth > MAX_PARAMS_DEPTH {
        return Err(format!("nested deeper than {MAX_PARAMS_DEPTH} levels"));
    }
    Ok(match kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::NumberValue(n)) => {
            if !n.is_finite() {
                return Err("numbers must be finite".into());
            }
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Value::Number(Number::from(*n as i64))
            } else {
                Number::from_f64(*n).map(Value::Number).unwrap_or(Value::Null)
            }
        }
        Some(Kind::StructValue(s)) => struct_to_value(s, depth)?,
        Some(Kind::ListValue(l)) => Value::Array(
            l.values
                .iter()
                .map(|v| kind_to_value(v.kind.as_ref(), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// JSON as a protobuf value kind (objects become Struct).
pub fn value_to_struct(v: &Value) -> Option<Kind> {
    Some(match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => Kind::ListValue(ListValue {
            values: a
                .iter()
                .map(|v| prost_types::Value {
                    kind: value_to_struct(v),
                })
                .collect(),
        }),
        Value::Object(m) => Kind::StructValue(Struct {
            fields: m
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        prost_types::Value {
                            kind: value_to_struct(v),
                        },
                    )
                })
                .collect(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn params_survive_a_round_trip_through_struct() {
        let v = json!({"durationMs": 800, "failRate": 0.25, "tags": ["a", null, true], "nested": {"k": "v"}});
        let Some(Kind::StructValue(s)) = value_to_struct(&v) else {
            panic!("an object becomes a Struct")
        };
        assert_eq!(struct_to_value(&s, 0).unwrap(), v);
    }

    #[test]
    fn deep_nesting_and_non_finite_numbers_are_refused() {
        let mut v = json!(1);
        for _ in 0..40 {
            v = json!({ "x": v });
        }
        let Some(Kind::StructValue(s)) = value_to_struct(&v) else {
            panic!("an object becomes a Struct")
        };
        assert!(struct_to_value(&s, 0).unwrap_err().contains("nested"));
        let nan = Struct {
            fields: [(
                "n".to_owned(),
                prost_types::Value {
                    kind: Some(Kind::NumberValue(f64::NAN)),
                },
            )]
            .into(),
        };
        assert!(struct_to_value(&nan, 0).unwrap_err().contains("finite"));
    }

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
