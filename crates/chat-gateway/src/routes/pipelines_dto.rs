//! JSON shapes of `/api/v1/pipelines/**` and `/api/v1/jobs/**` (camelCase, enums as lowercase strings, times as
//! RFC 3339) and their conversions to and from the tasks gRPC messages. The WebSocket's events carry the same shapes.
//!
//! Inputs refuse unknown fields and wrong JSON types with a 400 naming the field (through [`crate::extract::Json`]).
//! The gateway checks only what it must to translate: job `params` become a `google.protobuf.Struct`, at most
//! [`MAX_PARAMS_DEPTH`] levels deep; and a `commit` is checked by tasks' rules ([`crate::commit`]) so that its errors
//! name the JSON fields `commit.sha` / `commit.time`. Everything else (names, counts, ranges, the 16 KiB params
//! limit) is the tasks service's to judge; it answers INVALID_ARGUMENT naming the field path, which becomes a 400.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use utoipa::{IntoParams, ToSchema};

use devopstrack_proto::tasks::v1 as pb;
use prost_types::value::Kind;

use super::dto::time;
use crate::commit::{CommitSha, CommitTime};
use crate::error::ApiError;

/// Deepest nesting of a job's `params`, the object itself being level 1 (no executor needs more; it bounds the work
/// of converting to and from protobuf).
pub const MAX_PARAMS_DEPTH: usize = 16;

/// Lowercase string enums with their proto counterparts; `Unspecified` (or an unknown number) reads as `null`.
macro_rules! proto_enum {
    ($(#[$meta:meta])* $name:ident, $proto:ident, $case:literal, { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = $case)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            // Not every enum is sent upstream (statuses and sources only come back).
            #[allow(dead_code)]
            pub fn to_proto(self) -> pb::$proto {
                match self {
                    $($name::$variant => pb::$proto::$variant),+
                }
            }

            pub fn from_proto(value: i32) -> Option<Self> {
                match pb::$proto::try_from(value).ok()? {
                    $(pb::$proto::$variant => Some($name::$variant),)+
                    pb::$proto::Unspecified => None,
                }
            }
        }
    };
}

proto_enum!(PipelineStatus, PipelineStatus, "snake_case", {
    Queued, Running, WaitingApproval, Succeeded, Failed, Cancelled,
});
proto_enum!(
    /// `pending`: its stage has not started; `queued` with `attempt > 1`: a retry waiting for `notBefore`.
    JobStatus, JobStatus, "snake_case", {
    Pending, Queued, WaitingApproval, Running, Succeeded, Failed, Cancelled, TimedOut,
});
proto_enum!(Trigger, Trigger, "lowercase", { Manual, Chat, Webhook, Api });
proto_enum!(
    /// `devopstrack`: run by DevOpsTrack's workers; `github`: tracked from GitHub Actions webhooks.
    Source, Source, "lowercase", { Devopstrack, Github });
proto_enum!(
    /// `simulate` (durations, failure rate, log lines) or `http` (call a deploy hook and follow its status).
    Executor, Executor, "lowercase", { Simulate, Http });

/// Empty proto strings become absent (`null`) values.
fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

// ---- answers ----

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Pipeline)]
pub struct PipelineBody {
    pub id: String,
    /// The project's slug.
    pub project: String,
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
    pub approved_by: Option<String>,
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
            rejected_by: non_empty(j.rejected_by),
            not_before: time(j.not_before),
        }
    }
}

/// Attempts in all and the exponential backoff between them: before attempt n+1 the job waits
/// min(initialBackoffMs × 2^(n-1), maxBackoffMs). 0 or omitted: the default.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = RetryPolicy)]
pub struct RetryPolicyBody {
    /// 1–10; default 1 (no retry).
    #[serde(default)]
    pub max_attempts: u32,
    /// 100–600000; default 1000.
    #[serde(default)]
    pub initial_backoff_ms: u64,
    /// At least `initialBackoffMs`; default 60000.
    #[serde(default)]
    pub max_backoff_ms: u64,
}

impl From<pb::RetryPolicy> for RetryPolicyBody {
    fn from(r: pb::RetryPolicy) -> Self {
        Self {
            max_attempts: r.max_attempts,
            initial_backoff_ms: r.initial_backoff_ms,
            max_backoff_ms: r.max_backoff_ms,
        }
    }
}

impl From<RetryPolicyBody> for pb::RetryPolicy {
    fn from(r: RetryPolicyBody) -> Self {
        Self {
            max_attempts: r.max_attempts,
            initial_backoff_ms: r.initial_backoff_ms,
            max_backoff_ms: r.max_backoff_ms,
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

// ---- inputs ----

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
    pub project: String,
    /// Both or neither of `environment` and `version`: a deploy of that version there.
    pub environment: Option<String>,
    pub version: Option<String>,
    /// Default `api`.
    pub trigger: Option<Trigger>,
    /// 1–20 stages, at most 50 jobs per stage and 200 in all.
    pub stages: Vec<StageInput>,
    /// 1–64 characters of `[A-Za-z0-9._:-]`: the same key for the same project answers the pipeline created first
    /// (200 instead of 201) and creates nothing.
    pub idempotency_key: Option<String>,
    /// The commit this run builds or deploys; with its `time`, a deploy's DORA lead time is counted from then.
    pub commit: Option<CommitInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitInput {
    /// 7–64 hex digits (stored lowercase).
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
        Ok((sha.into_inner(), time.map(CommitTime::to_proto)))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageInput {
    /// `^[a-z0-9][a-z0-9._-]{0,62}$`, unique within the pipeline.
    pub name: String,
    pub jobs: Vec<JobInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobInput {
    /// `^[a-z0-9][a-z0-9._-]{0,62}$`, unique within its stage.
    pub name: String,
    /// Default `simulate`.
    pub executor: Option<Executor>,
    /// A JSON object (at most 16 KiB, 16 levels deep). `simulate`: `durationMs` 0–3600000 (default 1000),
    /// `failRate` 0–1 (default 0), `logLines` 0–10000 (default 10). `http`: `url` (required), `statusUrl`,
    /// `hmacSecretRef` (the name of a secret configured in the tasks service).
    #[schema(value_type = Option<Object>)]
    pub params: Option<Map<String, Value>>,
    /// 1–86400; default 3600.
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
    #[param(minimum = 1)]
    pub page_size: Option<u32>,
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
    #[param(minimum = 1)]
    pub limit: Option<u32>,
}

// ---- params: JSON <-> google.protobuf.Struct ----

/// A JSON object as a `Struct`; `path` names the field in errors.
pub fn json_to_struct(object: Map<String, Value>, path: &str) -> Result<prost_types::Struct, ApiError> {
    let mut fields = std::collections::BTreeMap::new();
    for (key, value) in object {
        fields.insert(key, json_to_value(value, 2, path)?);
    }
    Ok(prost_types::Struct { fields })
}

fn json_to_value(value: Value, depth: usize, path: &str) -> Result<prost_types::Value, ApiError> {
    let nested = |depth: usize| {
        if depth > MAX_PARAMS_DEPTH {
            Err(ApiError::invalid(format!(
                "{path}: nested deeper than {MAX_PARAMS_DEPTH} levels"
            )))
        } else {
            Ok(depth)
        }
    };
    let kind = match value {
        Value::Null => Kind::NullValue(prost_types::NullValue::NullValue as i32),
        Value::Bool(b) => Kind::BoolValue(b),
        // Struct numbers are doubles: integers beyond 2^53 lose precision (no executor takes such numbers).
        Value::Number(n) => Kind::NumberValue(
            n.as_f64()
                .ok_or_else(|| ApiError::invalid(format!("{path}: {n} is not a finite number")))?,
        ),
        Value::String(s) => Kind::StringValue(s),
        Value::Array(items) => {
            let depth = nested(depth)?;
            let values = items
                .into_iter()
                .map(|v| json_to_value(v, depth + 1, path))
                .collect::<Result<_, _>>()?;
            Kind::ListValue(prost_types::ListValue { values })
        }
        Value::Object(map) => {
            let depth = nested(depth)?;
            let mut fields = std::collections::BTreeMap::new();
            for (key, value) in map {
                fields.insert(key, json_to_value(value, depth + 1, path)?);
            }
            Kind::StructValue(prost_types::Struct { fields })
        }
    };
    Ok(prost_types::Value { kind: Some(kind) })
}

/// A `Struct` as a JSON object. Whole numbers within ±2^53 come back as integers (`800`, not `800.0`).
pub fn struct_to_json(s: prost_types::Struct) -> Map<String, Value> {
    s.fields.into_iter().map(|(k, v)| (k, value_to_json(v))).collect()
}

fn value_to_json(value: prost_types::Value) -> Value {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        Some(Kind::NumberValue(n)) => number_to_json(n),
        Some(Kind::StringValue(s)) => Value::String(s),
        Some(Kind::ListValue(list)) => Value::Array(list.values.into_iter().map(value_to_json).collect()),
        Some(Kind::StructValue(s)) => Value::Object(struct_to_json(s)),
    }
}

fn number_to_json(n: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() <= EXACT {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::extract::parse_json;

    fn invalid_message<T: serde::de::DeserializeOwned + std::fmt::Debug>(body: &str) -> String {
        match parse_json::<T>(body.as_bytes()) {
            Err(ApiError::InvalidInput { message, .. }) => message,
            other => panic!("expected a 400 for {body}, got {other:?}"),
        }
    }

    const DOCUMENTED: &str = r#"{"project":"api","environment":"staging","version":"1.4.0",
        "commit":{"sha":"3f2a9c1d8e","time":"2025-06-01T09:12:00Z"},"stages":[
        {"name":"build","jobs":[{"name":"compile","executor":"simulate","params":{"durationMs":800,"failRate":0}}]},
        {"name":"test","jobs":[{"name":"unit","executor":"simulate"},{"name":"lint","executor":"simulate"}]},
        {"name":"deploy","jobs":[{"name":"rollout","executor":"simulate"}]}]}"#;

    #[test]
    fn the_documented_create_body_becomes_a_create_request() {
        let request = parse_json::<CreatePipelineBody>(DOCUMENTED.as_bytes())
            .unwrap()
            .into_proto(Utc::now())
            .unwrap();

        assert_eq!(
            (
                request.project.as_str(),
                request.environment.as_str(),
                request.version.as_str()
            ),
            ("api", "staging", "1.4.0")
        );
        assert_eq!(request.trigger, pb::Trigger::Api as i32, "the default trigger");
        assert_eq!(request.idempotency_key, "");
        assert_eq!(
            (request.commit_sha.as_str(), request.commit_time.map(|t| t.seconds)),
            ("3f2a9c1d8e", Some(1_748_769_120))
        );
        let shape: Vec<(&str, Vec<&str>)> = request
            .stages
            .iter()
            .map(|s| (s.name.as_str(), s.jobs.iter().map(|j| j.name.as_str()).collect()))
            .collect();
        assert_eq!(
            shape,
            [
                ("build", vec!["compile"]),
                ("test", vec!["unit", "lint"]),
                ("deploy", vec!["rollout"])
            ]
        );
        let compile = &request.stages[0].jobs[0];
        assert_eq!(compile.executor, pb::Executor::Simulate as i32);
        let params = compile.params.clone().unwrap();
        assert_eq!(
            params.fields["durationMs"].kind,
            Some(Kind::NumberValue(800.0)),
            "{params:?}"
        );
        assert_eq!(request.stages[1].jobs[0].params, None, "params omitted stay absent");
    }

    #[test]
    fn job_options_reach_the_request() {
        let body = r#"{"project":"api","trigger":"chat","idempotencyKey":"k-1","stages":[{"name":"deploy","jobs":[
            {"name":"hook","executor":"http","params":{"url":"https://deploy.example.com"},"timeoutS":60,
             "retry":{"maxAttempts":3,"initialBackoffMs":500},"allowFailure":true,"requiresApproval":true}]}]}"#;

        let request = parse_json::<CreatePipelineBody>(body.as_bytes())
            .unwrap()
            .into_proto(Utc::now())
            .unwrap();

        assert_eq!(
            (request.trigger, request.idempotency_key.as_str()),
            (pb::Trigger::Chat as i32, "k-1")
        );
        let job = &request.stages[0].jobs[0];
        assert_eq!(job.executor, pb::Executor::Http as i32);
        assert_eq!(job.timeout_s, 60);
        assert_eq!(
            job.retry,
            Some(pb::RetryPolicy {
                max_attempts: 3,
                initial_backoff_ms: 500,
                max_backoff_ms: 0
            })
        );
        assert!(job.allow_failure && job.requires_approval);
    }

    #[test]
    fn a_commit_is_lowercased_its_time_optional_and_its_absence_leaves_the_fields_empty() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc();
        let with = |commit: &str| {
            parse_json::<CreatePipelineBody>(format!(r#"{{"project":"api","stages":[]{commit}}}"#).as_bytes())
                .unwrap()
                .into_proto(now)
                .unwrap()
        };

        let upper = with(r#","commit":{"sha":"3484A3FB816E0859FD6E1CEA078D76385FF50625"}"#);
        let offset = with(r#","commit":{"sha":"3484a3f","time":"2026-03-01T13:00:00+01:00"}"#);
        let none = with("");
        let null = with(r#","commit":null"#);

        assert_eq!(
            (upper.commit_sha.as_str(), upper.commit_time),
            ("3484a3fb816e0859fd6e1cea078d76385ff50625", None)
        );
        assert_eq!(
            (offset.commit_sha.as_str(), offset.commit_time.map(|t| t.seconds)),
            ("3484a3f", Some(now.timestamp()))
        );
        for request in [none, null] {
            assert_eq!((request.commit_sha.as_str(), request.commit_time), ("", None));
        }
    }

    #[test]
    fn a_bad_commit_is_refused_naming_commit_sha_or_commit_time() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc();
        let refused = |commit: &str| {
            let body = format!(r#"{{"project":"api","stages":[],"commit":{commit}}}"#);
            match parse_json::<CreatePipelineBody>(body.as_bytes()).and_then(|b| b.into_proto(now)) {
                Err(ApiError::InvalidInput { message, .. }) => message,
                other => panic!("expected a 400 for {commit}, got {other:?}"),
            }
        };
        for (commit, expected) in [
            (r#"{"sha":"abc"}"#, "commit.sha: must be 7 to 64 hex digits"),
            (r#"{"sha":"main-branch"}"#, "commit.sha: must be 7 to 64 hex digits"),
            (r#"{"sha":""}"#, "commit.sha: must be 7 to 64 hex digits"),
            (r#"{"sha":7}"#, "commit.sha: invalid type"),
            (r#"{"time":"2026-03-01T10:00:00Z"}"#, "commit: missing field `sha`"),
            (r#"{"sha":"3484a3f","time":"yesterday"}"#, "commit.time: "),
            (
                r#"{"sha":"3484a3f","time":"2026-03-01T12:06:00Z"}"#,
                "commit.time: must not be more than 5 minutes",
            ),
            (
                r#"{"sha":"3484a3f","time":"1999-12-31T23:59:59Z"}"#,
                "commit.time: must not be before 2000",
            ),
            (r#"{"sha":"3484a3f","author":"me"}"#, "unknown field `author`"),
            (r#""3484a3f""#, "commit: invalid type"),
        ] {
            let message = refused(commit);
            assert!(
                message.contains(expected),
                "{commit}: {message:?} should contain {expected:?}"
            );
        }
    }

    #[test]
    fn wrong_types_unknown_enums_and_fields_name_the_field() {
        let job =
            |extra: &str| format!(r#"{{"project":"api","stages":[{{"name":"b","jobs":[{{"name":"j"{extra}}}]}}]}}"#);
        let cases = [
            (
                invalid_message::<CreatePipelineBody>(r#"{"project":"api","stages":"x"}"#),
                "stages: invalid type",
            ),
            (
                invalid_message::<CreatePipelineBody>(r#"{"project":123,"stages":[]}"#),
                "project: invalid type",
            ),
            (
                invalid_message::<CreatePipelineBody>(&job(r#","executor":"shell""#)),
                "stages[0].jobs[0].executor: unknown variant",
            ),
            (
                invalid_message::<CreatePipelineBody>(&job(r#","params":[1]"#)),
                "stages[0].jobs[0].params: invalid type",
            ),
            (
                invalid_message::<CreatePipelineBody>(&job(r#","timeoutS":-1"#)),
                "stages[0].jobs[0].timeoutS",
            ),
            (
                invalid_message::<CreatePipelineBody>(&job(r#","retry":{"attempts":2}"#)),
                "unknown field `attempts`",
            ),
            (
                invalid_message::<CreatePipelineBody>(&job(r#","command":"rm -rf /""#)),
                "unknown field `command`",
            ),
            (
                invalid_message::<CreatePipelineBody>(r#"{"project":"api","stages":[],"trigger":"cron"}"#),
                "trigger: unknown variant",
            ),
            (
                invalid_message::<CreatePipelineBody>(r#"{"project":"api"}"#),
                "missing field `stages`",
            ),
            (invalid_message::<RejectBody>(r#"{"reason":7}"#), "reason: invalid type"),
        ];
        for (message, expected) in cases {
            assert!(message.contains(expected), "{message:?} should contain {expected:?}");
        }
    }

    #[test]
    fn params_of_every_json_type_survive_the_round_trip() {
        let params = json!({
            "n": 800, "neg": -3, "f": 0.25, "big": 1e300, "s": "text", "t": true, "nothing": null,
            "list": [1, "two", [3], {"four": 4}], "obj": {"a": {"b": []}}
        });
        let Value::Object(object) = params.clone() else {
            unreachable!()
        };

        let back = struct_to_json(json_to_struct(object, "params").unwrap());

        assert_eq!(Value::Object(back), params);
    }

    #[test]
    fn params_nested_deeper_than_the_limit_are_refused_naming_the_job() {
        // `levels` objects, one in the other (params itself is the first level).
        let nest = |levels: usize| {
            let mut value = json!(1);
            for _ in 1..=levels {
                value = json!({ "x": value });
            }
            value
        };
        let Value::Object(at_limit) = nest(MAX_PARAMS_DEPTH) else {
            unreachable!()
        };
        assert!(
            json_to_struct(at_limit, "p").is_ok(),
            "{MAX_PARAMS_DEPTH} levels are fine"
        );

        let body = json!({"project": "api", "stages": [{"name": "b", "jobs": [
            {"name": "ok"}, {"name": "deep", "params": nest(MAX_PARAMS_DEPTH + 1)}]}]});
        let deep_list = json!({"project": "api", "stages": [{"name": "b", "jobs": [
            {"name": "deep", "params": {"l": serde_json::from_str::<Value>(&format!("{}{}", "[".repeat(20), "]".repeat(20))).unwrap()}}]}]});

        for (body, path) in [
            (body, "stages[0].jobs[1].params"),
            (deep_list, "stages[0].jobs[0].params"),
        ] {
            let parsed = serde_json::from_value::<CreatePipelineBody>(body).unwrap();
            match parsed.into_proto(Utc::now()) {
                Err(ApiError::InvalidInput { message, .. }) => {
                    assert!(
                        message.starts_with(path) && message.contains("deeper than 16"),
                        "{message}"
                    )
                }
                other => panic!("expected a 400, got {other:?}"),
            }
        }
    }

    #[test]
    fn answers_are_camel_case_with_lowercase_enums_and_nulls_for_empty_strings() {
        let mut params = std::collections::BTreeMap::new();
        params.insert(
            "durationMs".to_owned(),
            prost_types::Value {
                kind: Some(Kind::NumberValue(800.0)),
            },
        );
        let pipeline = pb::Pipeline {
            id: "p-1".into(),
            project: "api".into(),
            trigger: pb::Trigger::Webhook as i32,
            status: pb::PipelineStatus::WaitingApproval as i32,
            source: pb::Source::Github as i32,
            created_at: Some(prost_types::Timestamp {
                seconds: 1_748_772_000,
                nanos: 0,
            }),
            stages: vec![pb::Stage {
                name: "deploy".into(),
                jobs: vec![pb::Job {
                    id: "j-1".into(),
                    status: pb::JobStatus::TimedOut as i32,
                    executor: pb::Executor::Simulate as i32,
                    params: Some(prost_types::Struct { fields: params }),
                    retry: Some(pb::RetryPolicy {
                        max_attempts: 2,
                        ..Default::default()
                    }),
                    attempt: 2,
                    ..Default::default()
                }],
            }],
            ..Default::default()
        };

        let json = serde_json::to_value(PipelineBody::from(pipeline)).unwrap();

        assert_eq!(
            (&json["status"], &json["trigger"], &json["source"]),
            (&json!("waiting_approval"), &json!("webhook"), &json!("github"))
        );
        assert_eq!(json["createdAt"], "2025-06-01T10:00:00Z");
        assert!(json["environment"].is_null() && json["finishedAt"].is_null() && json["cancelledBy"].is_null());
        assert!(json["commit"].is_null(), "no commit_sha: a null commit");
        let job = &json["stages"][0]["jobs"][0];
        assert_eq!(
            (&job["status"], &job["executor"], &job["params"]["durationMs"]),
            (&json!("timed_out"), &json!("simulate"), &json!(800))
        );
        assert_eq!(
            job["retry"],
            json!({"maxAttempts": 2, "initialBackoffMs": 0, "maxBackoffMs": 0})
        );
        assert_eq!((job["attempt"].as_u64(), job["worker"].is_null()), (Some(2), true));
    }

    #[test]
    fn a_pipelines_commit_is_answered_with_its_time_or_a_null_time() {
        let with = |commit_time| pb::Pipeline {
            id: "p-1".into(),
            commit_sha: "3484a3fb816e".into(),
            commit_time,
            ..Default::default()
        };
        let json = |p| serde_json::to_value(PipelineBody::from(p)).unwrap();

        let timed = json(with(Some(prost_types::Timestamp {
            seconds: 1_748_772_000,
            nanos: 0,
        })));
        let untimed = json(with(None));

        assert_eq!(
            timed["commit"],
            json!({"sha": "3484a3fb816e", "time": "2025-06-01T10:00:00Z"})
        );
        assert_eq!(untimed["commit"], json!({"sha": "3484a3fb816e", "time": null}));
    }

    #[test]
    fn list_and_log_queries_name_the_bad_parameter() {
        use crate::extract::parse_query;
        let list = parse_query::<ListPipelinesQuery>("project=api&status=waiting_approval&pageSize=5").unwrap();
        assert_eq!(
            (list.project.as_deref(), list.status, list.page_size),
            (Some("api"), Some(PipelineStatus::WaitingApproval), Some(5))
        );
        for (query, field) in [
            ("status=done", "status"),
            ("status=WAITING_APPROVAL", "status"),
            ("pageSize=x", "pageSize"),
            ("order=asc", "order"),
        ] {
            match parse_query::<ListPipelinesQuery>(query) {
                Err(ApiError::InvalidInput { message, .. }) => assert!(message.contains(field), "{query}: {message}"),
                other => panic!("{query}: expected a 400, got {other:?}"),
            }
        }
        for query in ["offset=-1", "attempt=x", "limit=1e3"] {
            assert!(parse_query::<JobLogQuery>(query).is_err(), "{query}");
        }
    }
}
