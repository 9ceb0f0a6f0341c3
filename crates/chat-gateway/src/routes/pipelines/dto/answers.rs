//! What `/api/v1/pipelines/**` and `/api/v1/jobs/**` answer: a pipeline with its stages and jobs (also the shapes of
//! the WebSocket's events), a page of pipelines, and lines of a job's log.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use devopstrack_proto::tasks::v1 as pb;

use super::{Executor, JobStatus, PipelineStatus, RetryPolicyBody, Source, Trigger, struct_to_json};
use crate::routes::dto::time;

/// Empty proto strings become absent (`null`) values.
fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Pipeline)]
pub struct PipelineBody {
    pub id: String,
    /// The project's slug.
    pub project: String,
    /// The project's run number: 1, 2, 3… in creation order (runs tracked from GitHub included), never reused. Shown
    /// as `<project>#<number>`, e.g. `api#42`; `GET /api/v1/projects/{slug}/runs/{number}` finds the run.
    #[schema(minimum = 1)]
    pub number: u64,
    /// Set for a deploy, with `version`.
    pub environment: Option<String>,
    pub version: Option<String>,
    pub trigger: Option<Trigger>,
    /// The subject of whoever (or whatever) triggered it.
    pub triggered_by: String,
    pub stages: Vec<StageBody>,
    pub status: Option<PipelineStatus>,
    pub created_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
    pub source: Option<Source>,
    /// For a GitHub run: its page there.
    pub external_url: Option<String>,
    pub external_id: Option<String>,
    pub cancelled_by: Option<String>,
    /// The commit it builds or deploys, when one was named (a deploy's DORA lead time counts from its `time`).
    pub commit: Option<CommitBody>,
    /// The project's pipeline definition the run was created from (`POST /api/v1/projects/{slug}/runs`, or a
    /// rollback), with that definition's version at the time; absent for a free-form pipeline.
    pub definition: Option<DefinitionRefBody>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DefinitionRef)]
pub struct DefinitionRefBody {
    /// The definition's name.
    pub name: String,
    /// The definition's version when the run was created.
    #[schema(minimum = 1)]
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Commit)]
pub struct CommitBody {
    /// 7–64 lowercase hex digits.
    pub sha: String,
    /// When it was made, when known.
    pub time: Option<DateTime<Utc>>,
}

impl From<pb::Pipeline> for PipelineBody {
    fn from(p: pb::Pipeline) -> Self {
        Self {
            id: p.id,
            project: p.project,
            number: p.number,
            definition: (!p.definition.is_empty()).then(|| DefinitionRefBody {
                name: p.definition.clone(),
                version: p.definition_version,
            }),
            environment: non_empty(p.environment),
            version: non_empty(p.version),
            trigger: Trigger::from_proto(p.trigger),
            triggered_by: p.triggered_by,
            stages: p.stages.into_iter().map(StageBody::from).collect(),
            status: PipelineStatus::from_proto(p.status),
            created_at: time(p.created_at),
            started_at: time(p.started_at),
            finished_at: time(p.finished_at),
            idempotency_key: non_empty(p.idempotency_key),
            source: Source::from_proto(p.source),
            external_url: non_empty(p.external_url),
            external_id: non_empty(p.external_id),
            cancelled_by: non_empty(p.cancelled_by),
            commit: non_empty(p.commit_sha).map(|sha| CommitBody {
                sha,
                time: time(p.commit_time),
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Stage)]
pub struct StageBody {
    pub name: String,
    pub jobs: Vec<JobBody>,
}

impl From<pb::Stage> for StageBody {
    fn from(s: pb::Stage) -> Self {
        Self {
            name: s.name,
            jobs: s.jobs.into_iter().map(JobBody::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Job)]
pub struct JobBody {
    pub id: String,
    pub pipeline_id: String,
    /// The name of its stage.
    pub stage: String,
    pub name: String,
    pub executor: Option<Executor>,
    /// Executor parameters, as created.
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    pub timeout_s: u32,
    pub retry: Option<RetryPolicyBody>,
    pub allow_failure: bool,
    pub requires_approval: bool,
    /// 1 for the first run; grows with each retry.
    pub attempt: u32,
    pub status: Option<JobStatus>,
    /// The worker running it (or that ran it last).
    pub worker: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it ended (an error, a timeout, a rejection's reason).
    pub exit_reason: Option<String>,
    /// Who approved the current attempt (a job gated by `requiresApproval` or by its environment).
    pub approved_by: Option<String>,
    /// When `approvedBy` approved it.
    pub approved_at: Option<DateTime<Utc>>,
    pub rejected_by: Option<String>,
    /// A queued retry does not start before this time.
    pub not_before: Option<DateTime<Utc>>,
}

impl From<pb::Job> for JobBody {
    fn from(j: pb::Job) -> Self {
        Self {
            id: j.id,
            pipeline_id: j.pipeline_id,
            stage: j.stage,
            name: j.name,
            executor: Executor::from_proto(j.executor),
            params: j.params.map(struct_to_json).unwrap_or_default(),
            timeout_s: j.timeout_s,
            retry: j.retry.map(RetryPolicyBody::from),
            allow_failure: j.allow_failure,
            requires_approval: j.requires_approval,
            attempt: j.attempt,
            status: JobStatus::from_proto(j.status),
            worker: non_empty(j.worker),
            started_at: time(j.started_at),
            finished_at: time(j.finished_at),
            exit_reason: non_empty(j.exit_reason),
            approved_by: non_empty(j.approved_by),
            approved_at: time(j.approved_at),
            rejected_by: non_empty(j.rejected_by),
            not_before: time(j.not_before),
        }
    }
}

/// `GET /api/v1/pipelines`: newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PipelinePage)]
pub struct PipelinesPage {
    pub pipelines: Vec<PipelineBody>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// Lines of one attempt of a job's log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = JobLog)]
pub struct JobLogBody {
    pub job_id: String,
    /// The attempt these lines belong to.
    pub attempt: u32,
    /// The offset of the first line returned.
    pub offset: u64,
    pub lines: Vec<String>,
    /// Pass back as `offset` to read on.
    pub next_offset: u64,
    /// The attempt has finished and every line has been read.
    pub eof: bool,
}

impl JobLogBody {
    pub fn new(job_id: String, offset: u64, log: pb::GetJobLogResponse) -> Self {
        Self {
            job_id,
            attempt: log.attempt,
            offset,
            lines: log.lines,
            next_offset: log.next_offset,
            eof: log.eof,
        }
    }
}
