//! The first stored form of a pipeline: one JSON document (`"format": 1`). Still read, so pipelines stored before the
//! binary form keep working; written only by tests. Decoding re-validates every value through the domain's parsers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::spec::{ExecutorSpec, JobSpec, Name, RetryInput, RetryPolicy};
use crate::domain::{
    DeployTarget, Job, JobId, JobStatus, Pipeline, PipelineId, PipelineMeta, PipelineStatus, Source, Stage, Tier,
    Trigger,
};

use super::corrupt;
use crate::store::StoreError;

/// Bumped when the document changes shape.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Doc {
    format: u32,
    id: String,
    project: String,
    target: Option<TargetDoc>,
    trigger: String,
    triggered_by: String,
    idempotency_key: Option<String>,
    github: Option<(String, String)>,
    status: String,
    active_stage: usize,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    cancelled_by: Option<String>,
    stages: Vec<StageDoc>,
}

#[derive(Serialize, Deserialize)]
struct TargetDoc {
    environment: String,
    version: String,
    tier: String,
    protected: bool,
}

#[derive(Serialize, Deserialize)]
struct StageDoc {
    name: String,
    jobs: Vec<JobDoc>,
}

#[derive(Serialize, Deserialize)]
struct JobDoc {
    id: String,
    name: String,
    executor: String,
    params: Value,
    timeout_s: u32,
    retry: (u32, u64, u64),
    allow_failure: bool,
    requires_approval: bool,
    gated: bool,
    status: String,
    attempt: u32,
    not_before: Option<DateTime<Utc>>,
    worker: Option<String>,
    cancel_requested: bool,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    exit_reason: Option<String>,
    approved_by: Option<String>,
    #[serde(default)]
    approved_at: Option<DateTime<Utc>>,
    rejected_by: Option<String>,
    #[serde(default)]
    lease_losses: u32,
}

#[cfg(test)]
fn tier_str(t: Tier) -> &'static str {
    match t {
        Tier::Development => "development",
        Tier::Staging => "staging",
        Tier::Production => "production",
    }
}

#[cfg(test)]
pub(super) fn encode(p: &Pipeline) -> Vec<u8> {
    let doc = Doc {
        format: FORMAT,
        id: p.id.to_string(),
        project: p.meta.project.clone(),
        target: p.meta.target.as_ref().map(|t| TargetDoc {
            environment: t.environment.clone(),
            version: t.version.clone(),
            tier: tier_str(t.tier).to_owned(),
            protected: t.protected,
        }),
        trigger: p.meta.trigger.as_str().to_owned(),
        triggered_by: p.meta.triggered_by.clone(),
        idempotency_key: p.meta.idempotency_key.clone(),
        github: match &p.meta.source {
            Source::DevOpsTrack => None,
            Source::Github {
                external_url,
                external_id,
            } => Some((external_url.clone(), external_id.clone())),
        },
        status: p.status.as_str().to_owned(),
        active_stage: p.active_stage,
        created_at: p.created_at,
        started_at: p.started_at,
        finished_at: p.finished_at,
        cancelled_by: p.cancelled_by.clone(),
        stages: p
            .stages
            .iter()
            .map(|s| StageDoc {
                name: s.name.as_str().to_owned(),
                jobs: s.jobs.iter().map(job_doc).collect(),
            })
            .collect(),
    };
    // A struct of strings, numbers and JSON values always serializes.
    serde_json::to_vec(&doc).unwrap_or_default()
}

#[cfg(test)]
fn job_doc(j: &Job) -> JobDoc {
    let r = &j.spec.retry;
    JobDoc {
        id: j.id.to_string(),
        name: j.spec.name.as_str().to_owned(),
        executor: j.spec.executor.kind().as_str().to_owned(),
        params: j.spec.executor.params_json(),
        timeout_s: j.spec.timeout_s,
        retry: (r.max_attempts(), r.initial_backoff_ms(), r.max_backoff_ms()),
        allow_failure: j.spec.allow_failure,
        requires_approval: j.spec.requires_approval,
        gated: j.gated,
        status: j.status.as_str().to_owned(),
        attempt: j.attempt,
        not_before: j.not_before,
        worker: j.worker.clone(),
        cancel_requested: j.cancel_requested,
        started_at: j.started_at,
        finished_at: j.finished_at,
        exit_reason: j.exit_reason.clone(),
        approved_by: j.approved_by.clone(),
        approved_at: j.approved_at,
        rejected_by: j.rejected_by.clone(),
        lease_losses: j.lease_losses,
    }
}

pub(super) fn decode(bytes: &[u8]) -> Result<Pipeline, StoreError> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| corrupt(format!("pipeline document: {e}")))?;
    if doc.format != FORMAT {
        return Err(corrupt(format!(
            "pipeline document format {} (want {FORMAT})",
            doc.format
        )));
    }
    let id = PipelineId::parse(&doc.id).map_err(|e| corrupt(format!("pipeline id: {e}")))?;
    let target = match doc.target {
        None => None,
        Some(t) => Some(DeployTarget {
            tier: match t.tier.as_str() {
                "development" => Tier::Development,
                "staging" => Tier::Staging,
                "production" => Tier::Production,
                other => return Err(corrupt(format!("tier {other:?}"))),
            },
            environment: t.environment,
            version: t.version,
            protected: t.protected,
        }),
    };
    let stages = doc
        .stages
        .into_iter()
        .map(|s| {
            Ok(Stage {
                name: Name::parse(&s.name).map_err(corrupt)?,
                jobs: s.jobs.into_iter().map(decode_job).collect::<Result<_, StoreError>>()?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    if stages.is_empty() || doc.active_stage >= stages.len() {
        return Err(corrupt(format!(
            "active stage {} of {}",
            doc.active_stage,
            stages.len()
        )));
    }
    Ok(Pipeline {
        id,
        // Not part of the document: the store keeps it beside (see `store::codec`).
        number: 0,
        // The JSON form predates definitions.
        definition: None,
        meta: PipelineMeta {
            project: doc.project,
            target,
            trigger: Trigger::parse(&doc.trigger).ok_or_else(|| corrupt(format!("trigger {:?}", doc.trigger)))?,
            triggered_by: doc.triggered_by,
            idempotency_key: doc.idempotency_key,
            source: match doc.github {
                None => Source::DevOpsTrack,
                Some((external_url, external_id)) => Source::Github {
                    external_url,
                    external_id,
                },
            },
            // The JSON form predates commits.
            commit: None,
        },
        stages,
        status: PipelineStatus::parse(&doc.status).ok_or_else(|| corrupt(format!("status {:?}", doc.status)))?,
        active_stage: doc.active_stage,
        created_at: doc.created_at,
        started_at: doc.started_at,
        finished_at: doc.finished_at,
        cancelled_by: doc.cancelled_by,
    })
}

fn decode_job(j: JobDoc) -> Result<Job, StoreError> {
    let path = format!("job {}", j.id);
    let retry = RetryPolicy::parse(
        &path,
        &RetryInput {
            max_attempts: Some(i64::from(j.retry.0)),
            initial_backoff_ms: i64::try_from(j.retry.1).ok(),
            max_backoff_ms: i64::try_from(j.retry.2).ok(),
        },
    )
    .map_err(|e| corrupt(e.to_string()))?;
    Ok(Job {
        id: JobId::parse(&j.id).map_err(|e| corrupt(format!("{path}: {e}")))?,
        spec: JobSpec {
            name: Name::parse(&j.name).map_err(corrupt)?,
            executor: ExecutorSpec::parse(&path, &j.executor, &j.params).map_err(|e| corrupt(e.to_string()))?,
            timeout_s: j.timeout_s,
            retry,
            allow_failure: j.allow_failure,
            requires_approval: j.requires_approval,
        },
        gated: j.gated,
        status: JobStatus::parse(&j.status).ok_or_else(|| corrupt(format!("{path}: status {:?}", j.status)))?,
        attempt: j.attempt,
        not_before: j.not_before,
        worker: j.worker,
        cancel_requested: j.cancel_requested,
        started_at: j.started_at,
        finished_at: j.finished_at,
        exit_reason: j.exit_reason,
        approved_by: j.approved_by,
        approved_at: j.approved_at,
        rejected_by: j.rejected_by,
        lease_losses: j.lease_losses,
    })
}
