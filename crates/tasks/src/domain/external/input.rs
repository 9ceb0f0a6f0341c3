//! Deliveries about a tracked run as received, and their validation into [`ExternalRun`]. Field paths in errors are
//! the API's (`externalId`, `jobs[3].status`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{MAX_EXTERNAL_ID_CHARS, MAX_EXTERNAL_JOBS, MAX_EXTERNAL_NAME_CHARS, MAX_EXTERNAL_URL_CHARS};
use crate::domain::field::FieldError;
use crate::domain::meta::CommitRef;
use crate::domain::state::{JobStatus, PipelineStatus};

/// What one job of a tracked run is at its source. Stored as the job's executor (`external`), so the job's API view
/// shows it under `params` (`externalId`, `name`, `url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalJobRef {
    pub external_id: String,
    /// The source's name, free text (the DevOpsTrack name is its slug).
    pub name: String,
    /// The job's page at the source; may be empty.
    pub url: String,
}

impl ExternalJobRef {
    pub fn params_json(&self) -> Value {
        json!({"externalId": self.external_id, "name": self.name, "url": self.url})
    }

    /// The stored params back (the codec re-validates every document through here). `path` ends in `.params`.
    pub fn parse(path: &str, map: &Map<String, Value>) -> Result<Self, FieldError> {
        let field = |key: &str| -> Result<String, FieldError> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(FieldError::new(format!("{path}.{key}"), "must be a string")),
            }
        };
        if let Some(k) = map
            .keys()
            .find(|k| !["externalId", "name", "url"].contains(&k.as_str()))
        {
            return Err(FieldError::new(
                format!("{path}.{k}"),
                "unknown parameter: expected one of externalId, name, url",
            ));
        }
        Ok(Self {
            external_id: external_id(&format!("{path}.externalId"), &field("externalId")?)?,
            name: name(&format!("{path}.name"), &field("name")?)?,
            url: url(&format!("{path}.url"), &field("url")?)?,
        })
    }
}

/// A job of a delivery, as received (the transport has decoded enums and timestamps).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExternalJobInput {
    pub external_id: String,
    pub name: String,
    /// `None`: unspecified (refused).
    pub status: Option<JobStatus>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub external_url: String,
}

/// A delivery about one run, as received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExternalRunInput {
    pub external_id: String,
    pub external_url: String,
    pub name: String,
    /// `None`: derived from the jobs.
    pub status: Option<PipelineStatus>,
    pub created_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub jobs: Vec<ExternalJobInput>,
}

/// A validated job of a delivery. `started_at` is kept only for a running or final status, `finished_at` only for a
/// final one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalJob {
    pub reference: ExternalJobRef,
    /// `queued`, `running` or final.
    pub status: JobStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A validated delivery: ids 1..=128 characters, names 1..=200, URLs http(s) or empty, at most
/// [`MAX_EXTERNAL_JOBS`] jobs, statuses a source can report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRun {
    pub external_id: String,
    pub external_url: String,
    pub name: String,
    pub status: Option<PipelineStatus>,
    pub created_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub jobs: Vec<ExternalJob>,
    /// The commit the run is for. [`ExternalRun::parse`] leaves it `None`: the caller checks it with
    /// [`CommitRef::parse`], which needs the clock, and sets it.
    pub commit: Option<CommitRef>,
}

impl ExternalRun {
    /// Field paths are the API's: `externalId`, `jobs[3].status`, ….
    pub fn parse(raw: &ExternalRunInput) -> Result<Self, FieldError> {
        if raw.jobs.len() > MAX_EXTERNAL_JOBS {
            return Err(FieldError::new(
                "jobs",
                format!("at most {MAX_EXTERNAL_JOBS} jobs in a run, got {}", raw.jobs.len()),
            ));
        }
        let status = match raw.status {
            None => None,
            Some(s @ PipelineStatus::WaitingApproval) => {
                return Err(FieldError::new(
                    "status",
                    format!(
                        "{s} is not a status of a tracked run: expected queued, running, succeeded, failed or cancelled"
                    ),
                ));
            }
            Some(s) => Some(s),
        };
        let jobs = raw
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| parse_job(&format!("jobs[{i}]"), j))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            external_id: external_id("externalId", &raw.external_id)?,
            external_url: url("externalUrl", &raw.external_url)?,
            name: name("name", &raw.name)?,
            status,
            created_at: raw.created_at,
            started_at: raw.started_at,
            finished_at: raw
                .finished_at
                .filter(|_| status.is_some_and(PipelineStatus::is_terminal)),
            jobs,
            commit: None,
        })
    }
}

fn parse_job(path: &str, raw: &ExternalJobInput) -> Result<ExternalJob, FieldError> {
    let status = match raw.status {
        Some(s @ (JobStatus::Queued | JobStatus::Running)) => s,
        Some(s) if s.is_terminal() => s,
        other => {
            return Err(FieldError::new(
                format!("{path}.status"),
                format!(
                    "{} is not a status of a tracked job: expected queued, running, succeeded, failed, cancelled or \
                     timed_out",
                    other.map_or("unspecified", JobStatus::as_str)
                ),
            ));
        }
    };
    Ok(ExternalJob {
        reference: ExternalJobRef {
            external_id: external_id(&format!("{path}.externalId"), &raw.external_id)?,
            name: name(&format!("{path}.name"), &raw.name)?,
            url: url(&format!("{path}.externalUrl"), &raw.external_url)?,
        },
        status,
        // A source may date a queued job (GitHub: when it was queued); only a started one has started.
        started_at: raw.started_at.filter(|_| status != JobStatus::Queued),
        finished_at: raw.finished_at.filter(|_| status.is_terminal()),
    })
}

fn external_id(path: &str, raw: &str) -> Result<String, FieldError> {
    let n = raw.chars().count();
    if n == 0 || n > MAX_EXTERNAL_ID_CHARS || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(
            path,
            format!("must be 1 to {MAX_EXTERNAL_ID_CHARS} characters without spaces or control characters"),
        ));
    }
    Ok(raw.to_owned())
}

fn name(path: &str, raw: &str) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    let n = trimmed.chars().count();
    if n == 0 || n > MAX_EXTERNAL_NAME_CHARS || trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            path,
            format!("must be 1 to {MAX_EXTERNAL_NAME_CHARS} characters without control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

fn url(path: &str, raw: &str) -> Result<String, FieldError> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    let rest = raw.strip_prefix("https://").or_else(|| raw.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    let clean = raw.len() <= MAX_EXTERNAL_URL_CHARS && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
    match host {
        Some(h) if clean && !h.is_empty() && !h.contains('@') => Ok(raw.to_owned()),
        _ => Err(FieldError::new(
            path,
            format!("must be empty or an http(s) URL with a host, at most {MAX_EXTERNAL_URL_CHARS} characters"),
        )),
    }
}
