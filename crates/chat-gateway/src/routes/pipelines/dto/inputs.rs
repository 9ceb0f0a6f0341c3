//! What `/api/v1/pipelines/**` and `/api/v1/jobs/**` accept: the body that creates a pipeline (and its conversion to
//! CreatePipeline, checking a `commit` by tasks' rules), a rejection's reason, and the list and log queries.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use devopstrack_platform::commit::{CommitSha, CommitTime};
use devopstrack_proto::tasks::v1 as pb;

use super::{Executor, PipelineStatus, RetryPolicyBody, Trigger, json_to_struct};
use crate::error::ApiError;
use crate::routes::dto::timestamp;

/// A pipeline run: stages in order, the jobs of a stage in parallel.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreatePipelineRequest, example = json!({
    "project": "api", "environment": "staging", "version": "1.4.0",
    "commit": {"sha": "3f2a9c1d8e", "time": "2025-06-01T09:12:00Z"},
    "stages": [
        {"name": "build", "jobs": [
            {"name": "compile", "executor": "simulate", "params": {"durationMs": 800, "failRate": 0}}]},
        {"name": "test", "jobs": [{"name": "unit", "executor": "simulate"}, {"name": "lint", "executor": "simulate"}]},
        {"name": "deploy", "jobs": [{"name": "rollout", "executor": "simulate"}]}
    ]
}))]
pub struct CreatePipelineBody {
    /// The project's slug.
    #[schema(value_type = crate::openapi::contract::ProjectRef)]
    pub project: String,
    /// Both or neither of `environment` and `version`: a deploy of that version there.
    #[schema(value_type = Option<crate::openapi::contract::EnvFilter>)]
    pub environment: Option<String>,
    #[schema(value_type = Option<crate::openapi::contract::PipelineVersion>)]
    pub version: Option<String>,
    /// Default `api`.
    pub trigger: Option<Trigger>,
    /// 1–20 stages, at most 50 jobs per stage and 200 in all.
    #[schema(min_items = 1, max_items = 20)]
    pub stages: Vec<StageInput>,
    /// 1–64 characters of `[A-Za-z0-9._:-]`: the same key for the same project answers the pipeline created first
    /// (200 instead of 201) and creates nothing.
    #[schema(value_type = Option<crate::openapi::contract::IdempotencyKey>)]
    pub idempotency_key: Option<String>,
    /// The commit this run builds or deploys; with its `time`, a deploy's DORA lead time is counted from then.
    pub commit: Option<CommitInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitInput {
    /// 7–64 hex digits (stored lowercase).
    #[schema(value_type = crate::openapi::contract::CommitSha)]
    pub sha: String,
    /// RFC 3339; when the commit was made (authored or pushed). From 2000 on, at most 5 minutes in the future.
    pub time: Option<DateTime<Utc>>,
}

impl CommitInput {
    /// The proto's `commit_sha` and `commit_time`; errors name `commit.sha` / `commit.time`.
    fn into_proto(self, now: DateTime<Utc>) -> Result<(String, Option<prost_types::Timestamp>), ApiError> {
        let sha = CommitSha::parse(&self.sha).map_err(|e| ApiError::invalid(format!("commit.sha: {e}")))?;
        let time = self
            .time
            .map(|at| CommitTime::parse(at, now))
            .transpose()
            .map_err(|e| ApiError::invalid(format!("commit.time: {e}")))?;
        Ok((sha.into_inner(), time.map(|t| timestamp(t.at()))))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageInput {
    /// `^[a-z0-9][a-z0-9._-]{0,62}$`, unique within the pipeline.
    #[schema(value_type = crate::openapi::contract::StepName)]
    pub name: String,
    #[schema(min_items = 1, max_items = 50)]
    pub jobs: Vec<JobInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobInput {
    /// `^[a-z0-9][a-z0-9._-]{0,62}$`, unique within its stage.
    #[schema(value_type = crate::openapi::contract::StepName)]
    pub name: String,
    /// Default `simulate`.
    pub executor: Option<Executor>,
    /// A JSON object (at most 16 KiB, 16 levels deep). `simulate`: `durationMs` 0–3600000 (default 1000),
    /// `failRate` 0–1 (default 0), `logLines` 0–10000 (default 10). `http`: `url` (required), `statusUrl`,
    /// `hmacSecretRef` (the name of a secret configured in the tasks service).
    #[schema(value_type = Option<Object>)]
    pub params: Option<Map<String, Value>>,
    /// 1–86400; omitted or 0: 3600.
    #[schema(maximum = 86400)]
    pub timeout_s: Option<u32>,
    pub retry: Option<RetryPolicyBody>,
    /// A failure of this job does not fail its stage.
    #[serde(default)]
    pub allow_failure: bool,
    /// The job waits for an approval when its stage begins.
    #[serde(default)]
    pub requires_approval: bool,
}

impl CreatePipelineBody {
    /// The CreatePipeline request; fails (naming the field) for params too deep to convert and for a commit tasks
    /// would refuse (`now` bounds its time).
    pub fn into_proto(self, now: DateTime<Utc>) -> Result<pb::CreatePipelineRequest, ApiError> {
        let (commit_sha, commit_time) = self.commit.map(|c| c.into_proto(now)).transpose()?.unwrap_or_default();
        let stages = self
            .stages
            .into_iter()
            .enumerate()
            .map(|(s, stage)| {
                let jobs = stage
                    .jobs
                    .into_iter()
                    .enumerate()
                    .map(|(j, job)| job.into_proto(&format!("stages[{s}].jobs[{j}]")))
                    .collect::<Result<_, _>>()?;
                Ok(pb::Stage { name: stage.name, jobs })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(pb::CreatePipelineRequest {
            project: self.project,
            environment: self.environment.unwrap_or_default(),
            version: self.version.unwrap_or_default(),
            trigger: self.trigger.unwrap_or(Trigger::Api).to_proto() as i32,
            stages,
            idempotency_key: self.idempotency_key.unwrap_or_default(),
            commit_sha,
            commit_time,
        })
    }
}

impl JobInput {
    fn into_proto(self, path: &str) -> Result<pb::Job, ApiError> {
        let params = self
            .params
            .map(|params| json_to_struct(params, &format!("{path}.params")))
            .transpose()?;
        Ok(pb::Job {
            name: self.name,
            executor: self.executor.unwrap_or(Executor::Simulate).to_proto() as i32,
            params,
            timeout_s: self.timeout_s.unwrap_or_default(),
            retry: self.retry.map(pb::RetryPolicy::from),
            allow_failure: self.allow_failure,
            requires_approval: self.requires_approval,
            ..Default::default()
        })
    }
}

/// `POST /api/v1/jobs/{id}/reject`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RejectJobRequest, example = json!({"reason": "not during the freeze"}))]
pub struct RejectBody {
    /// 1–500 characters; becomes the job's `exitReason`.
    #[schema(value_type = crate::openapi::contract::RejectReason)]
    pub reason: String,
}

// ---- queries ----

/// `GET /api/v1/pipelines`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListPipelinesQuery {
    /// Only this project (its slug); omitted: every project.
    pub project: Option<String>,
    /// Only pipelines in this status.
    pub status: Option<PipelineStatus>,
    /// 1–200 (larger values are clamped); default 50.
    #[param(minimum = 1, maximum = 4294967295.0, format = Int64)]
    pub page_size: Option<u32>,
    /// `nextPageToken` of the previous page.
    pub page_token: Option<String>,
}

/// `GET /api/v1/jobs/{id}/log`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobLogQuery {
    /// Which attempt; omitted: the current one.
    pub attempt: Option<u32>,
    /// The first line to return (0-based); default 0.
    pub offset: Option<u64>,
    /// 1–1000 lines (larger values are clamped); default 200.
    #[param(minimum = 1, maximum = 4294967295.0, format = Int64)]
    pub limit: Option<u32>,
}
