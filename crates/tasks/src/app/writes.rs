//! What a transition's effects become in the store: queue entries, stop flags, events (a proto `Event` per status
//! change, with the pipeline after the change), when a deploy ends the deployment for the projects service, and for
//! the metrics service a job run per attempt that ended plus the deployment (see [`super::metric_events`]).

use chrono::{DateTime, Utc};
use prost::Message;

use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::tasks::v1 as pb;

use super::metric_events::{self, Running};
use crate::convert;
use crate::domain::{Effect, JobStatus, Pipeline, PipelineStatus, Source, StateChange, Trigger};
use crate::store::{Delivery, NewEvent, OutboxEntry, QueuedJob, Writes};

/// The attempts running in `p` (taken before a transition, since ending an attempt may clear its start time).
pub fn running_attempts(p: &Pipeline) -> Vec<Running> {
    p.jobs()
        .filter(|j| j.status == JobStatus::Running)
        .map(|j| (j.id, j.attempt, j.started_at))
        .collect()
}

/// The writes of a transition with nothing known of what ran before it (creating a pipeline, tests).
pub fn for_effects(p: &Pipeline, effects: &[Effect], now: DateTime<Utc>) -> Writes {
    for_effects_with(p, effects, now, &[], &[])
}

/// The writes of a transition of `p` (as it is after it): `running` are the attempts that ran before it, `deliveries`
/// the queue deliveries it is the outcome of (for when each attempt was queued).
pub fn for_effects_with(
    p: &Pipeline,
    effects: &[Effect],
    now: DateTime<Utc>,
    running: &[Running],
    deliveries: &[Delivery],
) -> Writes {
    let mut writes = Writes::default();
    let mut ended = false;
    for effect in effects {
        match effect {
            Effect::Enqueue { job, attempt } => writes.enqueue.push(QueuedJob {
                pipeline: p.id,
                job: *job,
                attempt: *attempt,
                not_before: None,
            }),
            Effect::Retry { job, attempt, at } => writes.enqueue.push(QueuedJob {
                pipeline: p.id,
                job: *job,
                attempt: *attempt,
                not_before: Some(*at),
            }),
            Effect::StopRunning { job, attempt } => writes.stop.push((*job, *attempt)),
            // A cancelled job's queue entry is refused when delivered (start_job answers Stale), then acked.
            Effect::CancelQueued { .. } => {}
            Effect::Event(change) => {
                if let StateChange::Pipeline { to, .. } = change {
                    ended |= matches!(to, PipelineStatus::Succeeded | PipelineStatus::Failed);
                }
                writes.events.push(event(p, change, now));
                if let Some(run) = metric_events::job_run(p, change, now, running, deliveries) {
                    writes.metric_events.push(run);
                }
            }
        }
    }
    if ended {
        writes.outbox = deployment(p, now);
        writes.metric_events.extend(metric_events::deployment(p, now));
    }
    writes
}

/// One status change as a stored event.
pub fn event(p: &Pipeline, change: &StateChange, now: DateTime<Utc>) -> NewEvent {
    let message = match change {
        StateChange::Pipeline { .. } => pb::Event {
            r#type: pb::EventType::PipelineUpdated.into(),
            at: Some(convert::timestamp(now)),
            pipeline: Some(convert::pipeline(p)),
            ..Default::default()
        },
        StateChange::Job { job, .. } => {
            let found = p.stages.iter().find_map(|s| {
                s.jobs
                    .iter()
                    .find(|j| j.id == *job)
                    .map(|j| convert::job(p, s.name.as_str(), j))
            });
            pb::Event {
                r#type: pb::EventType::JobUpdated.into(),
                at: Some(convert::timestamp(now)),
                pipeline: Some(convert::pipeline_header(p)),
                job: found,
                ..Default::default()
            }
        }
    };
    NewEvent {
        project: p.meta.project.clone(),
        pipeline: p.id,
        payload: message.encode_to_vec(),
    }
}

/// The deployment a finished deploy pipeline reports, or `None` for a pipeline that is not a deploy (or is tracked
/// from GitHub, whose deployments GitHub reports). Its id names this end of the pipeline (a retried pipeline that
/// ends again reports a new deployment).
fn deployment(p: &Pipeline, now: DateTime<Utc>) -> Option<OutboxEntry> {
    let target = p.meta.target.as_ref()?;
    if p.meta.source != Source::DevOpsTrack {
        return None;
    }
    let finished = p.finished_at.unwrap_or(now);
    let status = match p.status {
        PipelineStatus::Succeeded => projects_pb::DeploymentStatus::Succeeded,
        PipelineStatus::Failed => projects_pb::DeploymentStatus::Failed,
        _ => return None,
    };
    let request = projects_pb::RecordDeploymentRequest {
        deployment: Some(projects_pb::Deployment {
            id: format!("{}:{}", p.id, finished.timestamp_micros()),
            project_id: p.meta.project.clone(),
            environment: target.environment.clone(),
            version: target.version.clone(),
            commit_sha: projects_commit(p),
            status: status.into(),
            started_at: Some(convert::timestamp(p.started_at.unwrap_or(p.created_at))),
            finished_at: Some(convert::timestamp(finished)),
            triggered_by: p.meta.triggered_by.clone(),
            pipeline_id: p.id.to_string(),
            rollback: p.meta.trigger == Trigger::Rollback,
        }),
    };
    Some(OutboxEntry {
        id: p.id,
        payload: request.encode_to_vec(),
        attempts: 0,
        due_at: now,
    })
}

/// The pipeline's commit sha, or empty: projects takes the same 7 to 64 hex digits.
fn projects_commit(p: &Pipeline) -> String {
    p.meta.commit.as_ref().map(|c| c.sha().to_owned()).unwrap_or_default()
}
