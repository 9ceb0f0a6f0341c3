//! Domain ↔ proto translations, shared by the gRPC transport, the event stream and the outbox. Generated types stop
//! at these functions.

mod params;
mod requests;

use chrono::{DateTime, Utc};
use prost_types::{Timestamp, value::Kind};

use devopstrack_proto::tasks::v1 as pb;

use crate::domain::spec::ExecutorKind;
use crate::domain::{CommitRef, Job, JobStatus, Pipeline, PipelineStatus, Source, Trigger};

pub use params::{MAX_PARAMS_DEPTH, struct_to_value, value_to_struct};
pub use requests::{pipeline_input, pipeline_status_from, time_from, track_external_run};

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
        Trigger::Rollback => pb::Trigger::Rollback,
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
        number: p.number,
        environment: p.meta.environment().to_owned(),
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
        definition: p.definition.as_ref().map(|d| d.name.clone()).unwrap_or_default(),
        definition_version: p.definition.as_ref().map_or(0, |d| d.version),
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
        approved_at: opt_ts(j.approved_at),
        rejected_by: j.rejected_by.clone().unwrap_or_default(),
        not_before: opt_ts(j.not_before),
    }
}
