//! Deliveries about a tracked run as received, and their validation into [`ExternalRun`]. Field paths in errors are
//! the API's (`externalId`, `jobs[3].status`).

use chrono::{DateTime, Utc};

use super::MAX_EXTERNAL_JOBS;
use crate::domain::external_ref::{ExternalJobRef, external_id, name, url};
use crate::domain::field::FieldError;
use crate::domain::meta::CommitRef;
use crate::domain::state::{JobStatus, PipelineStatus};

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
