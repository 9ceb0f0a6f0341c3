//! What a pipeline is asked to run: stages in order, each a set of jobs run in parallel. [`PipelineSpec::parse`] turns
//! the raw request (from gRPC or REST) into a spec whose every value is in range, or a [`FieldError`] naming the field
//! path (`stages[1].jobs[0].name: …`).
//!
//! Limits: at most [`MAX_STAGES`] (20) stages, [`MAX_JOBS_PER_STAGE`] (50) jobs per stage, [`MAX_JOBS`] (200) jobs in
//! all, params at most [`MAX_PARAMS_BYTES`] (16 KiB) of JSON. Counts are checked before any job is parsed, so a huge
//! request is rejected cheaply.

use std::collections::HashSet;
use std::fmt;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::executor::{
    ExecutorKind, ExecutorSpec, HttpParams, MAX_PARAMS_BYTES, MAX_SIMULATE_DURATION_MS, MAX_SIMULATE_LOG_LINES,
    SimulateParams,
};
pub use crate::field::FieldError;

pub const MAX_STAGES: usize = 20;
pub const MAX_JOBS_PER_STAGE: usize = 50;
pub const MAX_JOBS: usize = 200;
/// `timeout_s` range and default.
pub const MAX_TIMEOUT_S: u32 = 86_400;
pub const DEFAULT_TIMEOUT_S: u32 = 3600;
pub const MAX_ATTEMPTS: u32 = 10;
/// `initial_backoff_ms` range.
pub const MIN_BACKOFF_MS: u64 = 100;
pub const MAX_INITIAL_BACKOFF_MS: u64 = 600_000;
pub const DEFAULT_INITIAL_BACKOFF_MS: u64 = 1000;
pub const DEFAULT_MAX_BACKOFF_MS: u64 = 60_000;

/// The request as received. Numbers are wide and signed so that out-of-range values reach [`PipelineSpec::parse`] and
/// get a field error instead of a decoding error. `None` (proto: 0) means the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PipelineInput {
    pub stages: Vec<StageInput>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StageInput {
    pub name: String,
    pub jobs: Vec<JobInput>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobInput {
    pub name: String,
    /// `simulate` (also when empty) or `http`.
    pub executor: String,
    /// A JSON object (or null); keys depend on the executor.
    pub params: Value,
    pub timeout_s: Option<i64>,
    pub retry: Option<RetryInput>,
    pub allow_failure: bool,
    pub requires_approval: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryInput {
    pub max_attempts: Option<i64>,
    pub initial_backoff_ms: Option<i64>,
    pub max_backoff_ms: Option<i64>,
}

/// A stage or job name: `^[a-z0-9][a-z0-9._-]{0,62}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = (1..=63).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!("{raw:?} must match ^[a-z0-9][a-z0-9._-]{{0,62}}$"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Attempts in all and the exponential backoff between them. Invariant: `1 <= max_attempts <= 10`,
/// `100 <= initial_backoff_ms <= 600_000`, `max_backoff_ms >= initial_backoff_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff_ms: u64,
    max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 1,
            initial_backoff_ms: DEFAULT_INITIAL_BACKOFF_MS,
            max_backoff_ms: DEFAULT_MAX_BACKOFF_MS,
        }
    }
}

impl RetryPolicy {
    /// `path` is the retry field's path; errors name `…max_attempts` and so on.
    pub fn parse(path: &str, raw: &RetryInput) -> Result<Self, FieldError> {
        let field = |name: &str, v: Option<i64>, lo: u64, hi: u64, default: u64| match v {
            None => Ok(default),
            Some(n) if (lo as i64..=hi as i64).contains(&n) => Ok(n as u64),
            Some(_) => Err(FieldError::new(
                format!("{path}.{name}"),
                format!("must be from {lo} to {hi}"),
            )),
        };
        let max_attempts = field("max_attempts", raw.max_attempts, 1, MAX_ATTEMPTS.into(), 1)? as u32;
        let initial = field(
            "initial_backoff_ms",
            raw.initial_backoff_ms,
            MIN_BACKOFF_MS,
            MAX_INITIAL_BACKOFF_MS,
            DEFAULT_INITIAL_BACKOFF_MS,
        )?;
        let max = field(
            "max_backoff_ms",
            raw.max_backoff_ms,
            initial,
            i64::MAX as u64,
            DEFAULT_MAX_BACKOFF_MS.max(initial),
        )?;
        Ok(Self {
            max_attempts,
            initial_backoff_ms: initial,
            max_backoff_ms: max,
        })
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    pub fn initial_backoff_ms(&self) -> u64 {
        self.initial_backoff_ms
    }

    pub fn max_backoff_ms(&self) -> u64 {
        self.max_backoff_ms
    }

    /// The wait after attempt `failed` (1-based) fails: `min(initial * 2^(failed-1), max)`.
    pub fn backoff(&self, failed: u32) -> TimeDelta {
        let factor = 1u64.checked_shl(failed.saturating_sub(1)).unwrap_or(u64::MAX);
        let ms = self.initial_backoff_ms.saturating_mul(factor).min(self.max_backoff_ms);
        TimeDelta::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub name: Name,
    pub executor: ExecutorSpec,
    /// 1..=86_400, default 3600.
    pub timeout_s: u32,
    pub retry: RetryPolicy,
    pub allow_failure: bool,
    pub requires_approval: bool,
}

/// Invariant: 1..=50 jobs with distinct names.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSpec {
    pub name: Name,
    pub jobs: Vec<JobSpec>,
}

/// Invariant: 1..=20 stages with distinct names, 1..=200 jobs in all.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSpec {
    stages: Vec<StageSpec>,
}

impl PipelineSpec {
    pub fn stages(&self) -> &[StageSpec] {
        &self.stages
    }

    pub fn parse(raw: &PipelineInput) -> Result<Self, FieldError> {
        let n = raw.stages.len();
        if n == 0 {
            return Err(FieldError::new("stages", "at least one stage is required"));
        }
        if n > MAX_STAGES {
            return Err(FieldError::new(
                "stages",
                format!("at most {MAX_STAGES} stages (MAX_STAGES), got {n}"),
            ));
        }
        for (i, stage) in raw.stages.iter().enumerate() {
            let jobs = stage.jobs.len();
            if jobs == 0 {
                return Err(FieldError::new(
                    format!("stages[{i}].jobs"),
                    "at least one job is required",
                ));
            }
            if jobs > MAX_JOBS_PER_STAGE {
                return Err(FieldError::new(
                    format!("stages[{i}].jobs"),
                    format!("at most {MAX_JOBS_PER_STAGE} jobs per stage (MAX_JOBS_PER_STAGE), got {jobs}"),
                ));
            }
        }
        let total: usize = raw.stages.iter().map(|s| s.jobs.len()).sum();
        if total > MAX_JOBS {
            return Err(FieldError::new(
                "stages",
                format!("at most {MAX_JOBS} jobs in all (MAX_JOBS), got {total}"),
            ));
        }
        let mut stage_names = HashSet::new();
        let mut stages = Vec::with_capacity(n);
        for (i, stage) in raw.stages.iter().enumerate() {
            let path = format!("stages[{i}]");
            let name = Name::parse(&stage.name).map_err(|e| FieldError::new(format!("{path}.name"), e))?;
            if !stage_names.insert(name.clone()) {
                return Err(FieldError::new(
                    format!("{path}.name"),
                    format!("duplicate stage name {name:?}"),
                ));
            }
            let mut job_names = HashSet::new();
            let mut jobs = Vec::with_capacity(stage.jobs.len());
            for (j, job) in stage.jobs.iter().enumerate() {
                let job = parse_job(&format!("{path}.jobs[{j}]"), job)?;
                if !job_names.insert(job.name.clone()) {
                    return Err(FieldError::new(
                        format!("{path}.jobs[{j}].name"),
                        format!("duplicate job name {:?} in stage {name:?}", job.name.as_str()),
                    ));
                }
                jobs.push(job);
            }
            stages.push(StageSpec { name, jobs });
        }
        Ok(Self { stages })
    }
}

fn parse_job(path: &str, raw: &JobInput) -> Result<JobSpec, FieldError> {
    let name = Name::parse(&raw.name).map_err(|e| FieldError::new(format!("{path}.name"), e))?;
    let executor = ExecutorSpec::parse(path, &raw.executor, &raw.params)?;
    if executor.kind() == ExecutorKind::External {
        return Err(FieldError::new(
            format!("{path}.executor"),
            "external jobs come only from TrackExternalRun: expected simulate or http",
        ));
    }
    let timeout_s = match raw.timeout_s {
        None => DEFAULT_TIMEOUT_S,
        Some(t) if (1..=i64::from(MAX_TIMEOUT_S)).contains(&t) => t as u32,
        Some(_) => {
            return Err(FieldError::new(
                format!("{path}.timeout_s"),
                format!("must be from 1 to {MAX_TIMEOUT_S}"),
            ));
        }
    };
    let retry = match &raw.retry {
        None => RetryPolicy::default(),
        Some(r) => RetryPolicy::parse(&format!("{path}.retry"), r)?,
    };
    Ok(JobSpec {
        name,
        executor,
        timeout_s,
        retry,
        allow_failure: raw.allow_failure,
        requires_approval: raw.requires_approval,
    })
}

#[cfg(test)]
mod tests;
