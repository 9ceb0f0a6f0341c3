//! Pipeline use-cases for callers: create (idempotent), read, list, cancel, retry a job, approve, reject, read logs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use devopstrack_platform::auth::{Principal, Role};

use super::{TasksApp, require, writes};
use crate::domain::{
    Actor, CommitRef, DefinitionRef, DeployRequest, DeployTarget, IdempotencyKey, JobId, JobStatus, Pipeline,
    PipelineId, PipelineInput, PipelineMeta, PipelineSpec, PipelineStatus, ProjectRef, Source, TransitionError,
    Trigger,
};
use crate::error::Error;
use crate::store::{Created, PipelineFilter};

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;
pub const DEFAULT_LOG_LIMIT: u32 = 200;
pub const MAX_LOG_LIMIT: u32 = 1000;
const MAX_REASON_CHARS: usize = 500;

/// CreatePipeline as received (the stages already in the domain's raw shape).
#[derive(Debug, Clone, Default)]
pub struct CreatePipeline {
    pub project: String,
    pub environment: String,
    pub version: String,
    pub trigger: Option<Trigger>,
    pub input: PipelineInput,
    pub idempotency_key: String,
    /// Optional: the commit the run builds or deploys (see [`CommitRef::parse`]); `commit_time` needs `commit_sha`.
    pub commit_sha: String,
    pub commit_time: Option<DateTime<Utc>>,
    /// The definition the stages come from (runs from definitions, `app/definitions.rs`); `None` for a free-form spec.
    pub definition: Option<DefinitionRef>,
    /// The chat's four eyes: who asked for this deploy, when the caller approved it in the chat. Set only by the
    /// transport once it has checked that the gateway vouches for it (tasks `CreateRun`/`Rollback` `asked_by`).
    pub asked_by: Option<String>,
}

/// The longest subject `askedBy` may name.
const MAX_SUBJECT_CHARS: usize = 128;

/// `askedBy` checked: a subject of 1..=128 visible characters.
fn parse_asked_by(raw: &str) -> Result<String, Error> {
    let ok = !raw.is_empty()
        && raw.chars().count() <= MAX_SUBJECT_CHARS
        && raw.chars().all(|c| !c.is_whitespace() && !c.is_control());
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(Error::invalid(
            "askedBy",
            format!("a user's subject: 1 to {MAX_SUBJECT_CHARS} characters, no spaces or control characters"),
        ))
    }
}

#[derive(Debug, Clone, Default)]
pub struct PipelineQuery {
    pub project: String,
    pub status: Option<PipelineStatus>,
    pub page_size: i32,
    pub page_token: String,
}

#[derive(Debug)]
pub struct PipelinePage {
    pub pipelines: Vec<Pipeline>,
    pub next_page_token: Option<String>,
}

#[derive(Debug)]
pub struct JobLog {
    pub lines: Vec<String>,
    pub next_offset: u64,
    pub eof: bool,
    pub attempt: u32,
}

impl TasksApp {
    /// Creates a run (operator or admin). `bearer` is the caller's token, used to look the project and environment
    /// up in the projects service as the caller. Idempotent by `(project, idempotency_key)`: `(pipeline, false)`
    /// when the key was used before (the stored pipeline as it is, whatever this request's stages or commit say).
    ///
    /// With `asked_by` (the chat's four eyes), the run is triggered by that person and the caller approves its
    /// environment's gate now ([`Pipeline::pre_approve`]: the caller's role and four eyes are checked there).
    #[tracing::instrument(skip_all, fields(project = %new.project))]
    pub async fn create_pipeline(
        &self,
        principal: &Principal,
        bearer: &str,
        new: CreatePipeline,
    ) -> Result<(Pipeline, bool), Error> {
        require(principal, Role::Operator, "creating a pipeline")?;
        // Parse the whole request (the spec last) before asking anyone anything.
        let project = ProjectRef::parse(&new.project)?;
        let key = IdempotencyKey::parse_optional(&new.idempotency_key)?;
        let deploy = DeployRequest::parse(&new.environment, &new.version)?;
        let commit = CommitRef::parse(&new.commit_sha, new.commit_time, self.now())?;
        let asked_by = new.asked_by.as_deref().map(parse_asked_by).transpose()?;
        let spec = PipelineSpec::parse(&new.input)?;
        let info = self
            .projects
            .lookup(
                bearer,
                project.as_str(),
                deploy.as_ref().map(|d| d.environment.as_str()),
            )
            .await?;
        let target = match (deploy, info.environment) {
            (Some(deploy), Some((tier, protected))) => Some(DeployTarget {
                environment: deploy.environment.into_string(),
                version: deploy.version.into_string(),
                tier,
                protected,
            }),
            _ => None,
        };
        let meta = PipelineMeta {
            project: info.slug,
            target,
            trigger: new.trigger.unwrap_or(Trigger::Api),
            triggered_by: asked_by.clone().unwrap_or_else(|| principal.subject.clone()),
            idempotency_key: key.map(IdempotencyKey::into_string),
            source: Source::DevOpsTrack,
            commit,
        };
        let now = self.now();
        let (mut pipeline, mut effects) = Pipeline::new(spec, meta, now);
        pipeline.definition = new.definition.clone();
        if asked_by.is_some() {
            let approved = pipeline
                .pre_approve(&Actor::from(principal), now)
                .map_err(|e| match e {
                    TransitionError::NoGate => Error::invalid("askedBy", e.to_string()),
                    other => other.into(),
                })?;
            effects.extend(approved);
        }
        let writes = writes::for_effects(&pipeline, &effects, now);
        match self.store.create_pipeline(&pipeline, &writes).await? {
            Created::Created { number } => {
                pipeline.number = number;
                self.created(&pipeline);
                tracing::info!(pipeline_id = %pipeline.id, number, "pipeline created");
                Ok((pipeline, true))
            }
            Created::Existing(stored) => Ok((stored.pipeline, false)),
        }
    }

    pub async fn get_pipeline(&self, principal: &Principal, id: &str) -> Result<Pipeline, Error> {
        require(principal, Role::Viewer, "reading pipelines")?;
        let id = parse_pipeline_id("id", id)?;
        Ok(self
            .store
            .pipeline(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("pipeline {id} not found")))?
            .pipeline)
    }

    /// Run `number` of `project` (viewer, like [`Self::get_pipeline`]).
    pub async fn get_pipeline_by_number(
        &self,
        principal: &Principal,
        project: &str,
        number: u64,
    ) -> Result<Pipeline, Error> {
        require(principal, Role::Viewer, "reading pipelines")?;
        if project.is_empty() {
            return Err(Error::invalid("project", "is required (a project slug)"));
        }
        if number == 0 {
            return Err(Error::invalid("number", "run numbers start at 1"));
        }
        Ok(self
            .store
            .pipeline_by_number(project, number)
            .await?
            .ok_or_else(|| Error::NotFound(format!("run {project}#{number} not found")))?
            .pipeline)
    }

    pub async fn list_pipelines(&self, principal: &Principal, query: PipelineQuery) -> Result<PipelinePage, Error> {
        require(principal, Role::Viewer, "reading pipelines")?;
        let limit = match query.page_size {
            n if n < 0 => return Err(Error::invalid("pageSize", "must not be negative")),
            0 => DEFAULT_PAGE_SIZE,
            n => u32::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE),
        };
        let before = match query.page_token.as_str() {
            "" => None,
            token => Some(decode_token(token)?),
        };
        let filter = PipelineFilter {
            project: (!query.project.is_empty()).then_some(query.project),
            status: query.status,
        };
        let mut pipelines = self.store.list_pipelines(&filter, before, limit + 1).await?;
        let next_page_token = if pipelines.len() > limit as usize {
            pipelines.truncate(limit as usize);
            pipelines.last().map(|p| encode_token(p.id))
        } else {
            None
        };
        Ok(PipelinePage {
            pipelines,
            next_page_token,
        })
    }

    /// Operator or admin.
    pub async fn cancel_pipeline(&self, principal: &Principal, id: &str) -> Result<Pipeline, Error> {
        require(principal, Role::Operator, "cancelling a pipeline")?;
        let id = parse_pipeline_id("id", id)?;
        let who = principal.subject.clone();
        Ok(self.transition(id, |p, now| p.cancel(&who, now)).await?.0)
    }

    /// Operator or admin.
    pub async fn retry_job(&self, principal: &Principal, job: &str) -> Result<Pipeline, Error> {
        require(principal, Role::Operator, "retrying a job")?;
        let job = parse_job_id(job)?;
        let id = self.pipeline_of_job(job).await?;
        Ok(self.transition(id, |p, now| p.retry_job(job, now)).await?.0)
    }

    /// The domain checks who may approve what (operator: non-production; admin: any; not the trigger-er in
    /// production).
    pub async fn approve_job(&self, principal: &Principal, job: &str) -> Result<Pipeline, Error> {
        require(principal, Role::Operator, "approving a job")?;
        let job = parse_job_id(job)?;
        let id = self.pipeline_of_job(job).await?;
        let actor = Actor::from(principal);
        Ok(self.transition(id, |p, now| p.approve(job, &actor, now)).await?.0)
    }

    pub async fn reject_job(&self, principal: &Principal, job: &str, reason: &str) -> Result<Pipeline, Error> {
        require(principal, Role::Operator, "rejecting a job")?;
        let job = parse_job_id(job)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(Error::invalid("reason", format!("1 to {MAX_REASON_CHARS} characters")));
        }
        if reason.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::invalid("reason", "must not contain control characters"));
        }
        let id = self.pipeline_of_job(job).await?;
        let actor = Actor::from(principal);
        Ok(self
            .transition(id, |p, now| p.reject(job, &actor, reason, now))
            .await?
            .0)
    }

    /// Lines of a job attempt (`attempt` 0: the current one) from `offset`.
    pub async fn job_log(
        &self,
        principal: &Principal,
        job: &str,
        attempt: u32,
        offset: u64,
        limit: u32,
    ) -> Result<JobLog, Error> {
        require(principal, Role::Viewer, "reading job logs")?;
        let job_id = parse_job_id(job)?;
        let id = self.pipeline_of_job(job_id).await?;
        let pipeline = self
            .store
            .pipeline(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("job {job_id} not found")))?
            .pipeline;
        let job = pipeline
            .stages
            .iter()
            .flat_map(|s| &s.jobs)
            .find(|j| j.id == job_id)
            .ok_or_else(|| Error::NotFound(format!("job {job_id} not found")))?;
        let attempt = match attempt {
            0 => job.attempt,
            n if n > job.attempt => {
                return Err(Error::invalid(
                    "attempt",
                    format!("job {job_id} has {} attempt(s)", job.attempt),
                ));
            }
            n => n,
        };
        let limit = match limit {
            0 => DEFAULT_LOG_LIMIT,
            n => n.min(MAX_LOG_LIMIT),
        };
        let page = self.store.read_log(job_id, attempt, offset, limit).await?;
        let next_offset = page.first_offset + page.lines.len() as u64;
        let finished = attempt < job.attempt || job.status.is_terminal() || job.status == JobStatus::Pending;
        Ok(JobLog {
            lines: page.lines,
            next_offset: next_offset.max(offset.min(page.total)),
            eof: finished && next_offset >= page.total,
            attempt,
        })
    }
}

pub fn parse_pipeline_id(field: &str, raw: &str) -> Result<PipelineId, Error> {
    PipelineId::parse(raw).map_err(|e| Error::invalid(field, e))
}

fn parse_job_id(raw: &str) -> Result<JobId, Error> {
    JobId::parse(raw).map_err(|e| Error::invalid("jobId", e))
}

/// The page token after `id`: base64url of its 16 bytes.
pub fn encode_token(id: PipelineId) -> String {
    URL_SAFE_NO_PAD.encode(id.as_uuid().as_bytes())
}

/// The pipeline a page token points after; INVALID_ARGUMENT naming `pageToken` for anything [`encode_token`] did not
/// make.
pub fn decode_token(token: &str) -> Result<PipelineId, Error> {
    let bad = || Error::invalid("pageToken", "is not a token this service issued");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let bytes: [u8; 16] = bytes.try_into().map_err(|_| bad())?;
    PipelineId::parse(&uuid::Uuid::from_bytes(bytes).to_string()).map_err(|_| bad())
}
