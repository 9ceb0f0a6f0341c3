//! The binary pipeline document (format 5). Layout, in order (`str` = varint length + UTF-8, `opt` = 0 | 1 + value,
//! `time` = zigzag varint seconds + varint nanoseconds, `id` = 16 raw UUID bytes):
//!
//! pipeline: id, project str, target opt(environment str, version str, tier u8, protected u8), trigger u8,
//! triggered_by str, idempotency_key opt str, github opt(url str, id str), status u8, active_stage varint,
//! created_at time, started_at opt time, finished_at opt time, cancelled_by opt str, commit opt(sha str, time opt
//! time), stage count varint, stages, definition opt(name str, version varint).
//! stage: name str, job count varint, jobs. job: id, name str, executor (0 simulate: duration_ms varint, fail_rate
//! f64 LE, log_lines varint | 1 any other kind: kind str, params as compact JSON str), timeout_s varint,
//! retry (max_attempts, initial_backoff_ms, max_backoff_ms varints), flags u8 (allow_failure 1, requires_approval 2,
//! gated 4, cancel_requested 8), status u8, attempt varint, not_before opt time, worker opt str, started_at opt time,
//! finished_at opt time, exit_reason opt str, approved_by opt str, approved_at opt time, rejected_by opt str,
//! lease_losses varint.
//!
//! Format 4 is the same without the trailing `definition` (decoded as none), format 3 also without `approved_at`
//! (decoded as unknown), format 2 also without `commit` (decoded as no commit); all are still read, never written.

use super::corrupt;
use super::wire::{Reader, Writer};
use crate::domain::spec::{
    ExecutorSpec, JobSpec, MAX_SIMULATE_DURATION_MS, MAX_SIMULATE_LOG_LINES, MAX_TIMEOUT_S, Name, RetryInput,
    RetryPolicy, SimulateParams,
};
use crate::domain::{
    CommitRef, DefinitionRef, DeployTarget, Job, JobId, JobStatus, Pipeline, PipelineId, PipelineMeta, PipelineStatus,
    Source, Stage, Tier, Trigger,
};
use crate::store::StoreError;

const TIERS: [Tier; 3] = [Tier::Development, Tier::Staging, Tier::Production];
const TRIGGERS: [Trigger; 5] = [
    Trigger::Manual,
    Trigger::Chat,
    Trigger::Webhook,
    Trigger::Api,
    Trigger::Rollback,
];
const PIPELINE_STATUSES: [PipelineStatus; 6] = [
    PipelineStatus::Queued,
    PipelineStatus::Running,
    PipelineStatus::WaitingApproval,
    PipelineStatus::Succeeded,
    PipelineStatus::Failed,
    PipelineStatus::Cancelled,
];
const JOB_STATUSES: [JobStatus; 8] = [
    JobStatus::Pending,
    JobStatus::Queued,
    JobStatus::WaitingApproval,
    JobStatus::Running,
    JobStatus::Succeeded,
    JobStatus::Failed,
    JobStatus::Cancelled,
    JobStatus::TimedOut,
];

/// The code of `value` in `table` (every value is in its table).
fn code<T: PartialEq>(table: &[T], value: &T) -> u8 {
    table.iter().position(|v| v == value).map_or(u8::MAX, |i| i as u8)
}

pub(super) fn encode(p: &Pipeline, out: &mut Vec<u8>) {
    let mut w = Writer(out);
    w.id(p.id.as_uuid());
    w.str(&p.meta.project);
    match &p.meta.target {
        None => w.u8(0),
        Some(t) => {
            w.u8(1);
            w.str(&t.environment);
            w.str(&t.version);
            w.u8(code(&TIERS, &t.tier));
            w.u8(u8::from(t.protected));
        }
    }
    w.u8(code(&TRIGGERS, &p.meta.trigger));
    w.str(&p.meta.triggered_by);
    w.opt_str(p.meta.idempotency_key.as_deref());
    match &p.meta.source {
        Source::DevOpsTrack => w.u8(0),
        Source::Github {
            external_url,
            external_id,
        } => {
            w.u8(1);
            w.str(external_url);
            w.str(external_id);
        }
    }
    w.u8(code(&PIPELINE_STATUSES, &p.status));
    w.varint(p.active_stage as u64);
    w.time(p.created_at);
    w.opt_time(p.started_at);
    w.opt_time(p.finished_at);
    w.opt_str(p.cancelled_by.as_deref());
    match &p.meta.commit {
        None => w.u8(0),
        Some(c) => {
            w.u8(1);
            w.str(c.sha());
            w.opt_time(c.time());
        }
    }
    w.varint(p.stages.len() as u64);
    for s in &p.stages {
        w.str(s.name.as_str());
        w.varint(s.jobs.len() as u64);
        for j in &s.jobs {
            job(&mut w, j);
        }
    }
    match &p.definition {
        None => w.u8(0),
        Some(d) => {
            w.u8(1);
            w.str(&d.name);
            w.varint(d.version.max(0) as u64);
        }
    }
}

fn job(w: &mut Writer<'_>, j: &Job) {
    w.id(j.id.as_uuid());
    w.str(j.spec.name.as_str());
    match &j.spec.executor {
        ExecutorSpec::Simulate(s) => {
            w.u8(0);
            w.varint(s.duration_ms);
            w.0.extend_from_slice(&s.fail_rate.to_le_bytes());
            w.varint(s.log_lines);
        }
        // Rare kinds go through their JSON parameters (and back through the request parser, which knows their rules).
        other @ (ExecutorSpec::Http(_) | ExecutorSpec::External(_)) => {
            w.u8(1);
            w.str(other.kind().as_str());
            w.str(&other.params_json().to_string());
        }
    }
    w.varint(j.spec.timeout_s.into());
    let r = &j.spec.retry;
    w.varint(r.max_attempts().into());
    w.varint(r.initial_backoff_ms());
    w.varint(r.max_backoff_ms());
    let flags = u8::from(j.spec.allow_failure)
        | u8::from(j.spec.requires_approval) << 1
        | u8::from(j.gated) << 2
        | u8::from(j.cancel_requested) << 3;
    w.u8(flags);
    w.u8(code(&JOB_STATUSES, &j.status));
    w.varint(j.attempt.into());
    w.opt_time(j.not_before);
    w.opt_str(j.worker.as_deref());
    w.opt_time(j.started_at);
    w.opt_time(j.finished_at);
    w.opt_str(j.exit_reason.as_deref());
    w.opt_str(j.approved_by.as_deref());
    w.opt_time(j.approved_at);
    w.opt_str(j.rejected_by.as_deref());
    w.varint(j.lease_losses.into());
}

/// Decodes the document after its prefix, laid out as `format` (2 to 5: see the module docs).
pub(super) fn decode(bytes: &[u8], format: u8) -> Result<Pipeline, StoreError> {
    let mut r = Reader { bytes, at: 0 };
    let id = PipelineId::parse(&r.id()?.to_string()).map_err(|e| corrupt(format!("pipeline id: {e}")))?;
    let project = r.str()?;
    let target = match r.u8()? {
        0 => None,
        _ => Some(DeployTarget {
            environment: r.str()?,
            version: r.str()?,
            tier: r.pick(&TIERS, "tier")?,
            protected: r.u8()? != 0,
        }),
    };
    let trigger = r.pick(&TRIGGERS, "trigger")?;
    let triggered_by = r.str()?;
    let idempotency_key = r.opt_str()?;
    let source = match r.u8()? {
        0 => Source::DevOpsTrack,
        _ => Source::Github {
            external_url: r.str()?,
            external_id: r.str()?,
        },
    };
    let status = r.pick(&PIPELINE_STATUSES, "pipeline status")?;
    let active_stage = r.count()?;
    let created_at = r.time()?;
    let started_at = r.opt_time()?;
    let finished_at = r.opt_time()?;
    let cancelled_by = r.opt_str()?;
    let commit = match format {
        2 => None,
        _ => match r.u8()? {
            0 => None,
            _ => {
                let sha = r.str()?;
                let time = r.opt_time()?;
                Some(CommitRef::restore(&sha, time).map_err(|e| corrupt(format!("commit sha: {e}")))?)
            }
        },
    };
    let mut stages = Vec::with_capacity(r.count()?.min(64));
    for _ in 0..stages.capacity() {
        let name = Name::parse(&r.str()?).map_err(corrupt)?;
        let n = r.count()?;
        let mut jobs = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            jobs.push(decode_job(&mut r, format)?);
        }
        stages.push(Stage { name, jobs });
    }
    let definition = match format {
        2..=4 => None,
        _ => match r.u8()? {
            0 => None,
            _ => Some(DefinitionRef {
                name: r.str()?,
                version: i64::try_from(r.varint()?).map_err(|_| corrupt("definition version"))?,
            }),
        },
    };
    if r.at != bytes.len() {
        return Err(corrupt("pipeline document: trailing bytes"));
    }
    if stages.is_empty() || active_stage >= stages.len() {
        return Err(corrupt(format!("active stage {active_stage} of {}", stages.len())));
    }
    Ok(Pipeline {
        id,
        // Not part of the document: the store keeps it beside (see `store::codec`).
        number: 0,
        definition,
        meta: PipelineMeta {
            project,
            target,
            trigger,
            triggered_by,
            idempotency_key,
            source,
            commit,
        },
        stages,
        status,
        active_stage,
        created_at,
        started_at,
        finished_at,
        cancelled_by,
    })
}

fn decode_job(r: &mut Reader<'_>, format: u8) -> Result<Job, StoreError> {
    let id = JobId::parse(&r.id()?.to_string()).map_err(|e| corrupt(format!("job id: {e}")))?;
    let name = Name::parse(&r.str()?).map_err(corrupt)?;
    let path = format!("job {id}");
    let executor = match r.u8()? {
        0 => {
            let s = SimulateParams {
                duration_ms: r.varint()?,
                fail_rate: f64::from_le_bytes(r.take(8)?.try_into().map_err(|_| r.short())?),
                log_lines: r.varint()?,
            };
            let in_range = s.duration_ms <= MAX_SIMULATE_DURATION_MS
                && (0.0..=1.0).contains(&s.fail_rate)
                && s.log_lines <= MAX_SIMULATE_LOG_LINES;
            if !in_range {
                return Err(corrupt(format!("{path}: simulate parameters out of range")));
            }
            ExecutorSpec::Simulate(s)
        }
        1 => {
            let kind = r.str()?;
            let params: serde_json::Value =
                serde_json::from_str(&r.str()?).map_err(|e| corrupt(format!("{path}: params: {e}")))?;
            ExecutorSpec::parse(&path, &kind, &params).map_err(|e| corrupt(e.to_string()))?
        }
        other => return Err(corrupt(format!("{path}: executor code {other}"))),
    };
    let timeout_s = r.u32()?;
    if !(1..=MAX_TIMEOUT_S).contains(&timeout_s) {
        return Err(corrupt(format!("{path}: timeout {timeout_s}s")));
    }
    let (max_attempts, initial, max) = (r.varint()?, r.varint()?, r.varint()?);
    let retry = RetryPolicy::parse(
        &path,
        &RetryInput {
            max_attempts: i64::try_from(max_attempts).ok(),
            initial_backoff_ms: i64::try_from(initial).ok(),
            max_backoff_ms: i64::try_from(max).ok(),
        },
    )
    .map_err(|e| corrupt(e.to_string()))?;
    let flags = r.u8()?;
    Ok(Job {
        id,
        spec: JobSpec {
            name,
            executor,
            timeout_s,
            retry,
            allow_failure: flags & 1 != 0,
            requires_approval: flags & 2 != 0,
        },
        gated: flags & 4 != 0,
        cancel_requested: flags & 8 != 0,
        status: r.pick(&JOB_STATUSES, "job status")?,
        attempt: r.u32()?,
        not_before: r.opt_time()?,
        worker: r.opt_str()?,
        started_at: r.opt_time()?,
        finished_at: r.opt_time()?,
        exit_reason: r.opt_str()?,
        approved_by: r.opt_str()?,
        approved_at: if format >= 4 { r.opt_time()? } else { None },
        rejected_by: r.opt_str()?,
        lease_losses: r.u32()?,
    })
}
