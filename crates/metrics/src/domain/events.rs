//! The four raw event kinds. Each carries an `event_id`, its idempotency key: appending an event whose id is already
//! stored changes nothing. `time()` is the instant an event is filed under (what a time-range read selects on).

use chrono::{DateTime, Utc};

/// Where a job run or deployment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    DevOpsTrack,
    Github,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::DevOpsTrack => "devopstrack",
            Source::Github => "github",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "devopstrack" => Some(Source::DevOpsTrack),
            "github" => Some(Source::Github),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobRunStatus {
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
}

impl JobRunStatus {
    pub const ALL: [JobRunStatus; 4] = [Self::Succeeded, Self::Failed, Self::Cancelled, Self::TimedOut];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::TimedOut => "timed_out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeploymentStatus {
    Succeeded,
    Failed,
    RolledBack,
}

impl DeploymentStatus {
    pub const ALL: [DeploymentStatus; 3] = [Self::Succeeded, Self::Failed, Self::RolledBack];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::RolledBack => "rolled_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A job attempt that ended. Filed under `finished_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRun {
    pub event_id: String,
    pub project: String,
    /// Empty when the job is not part of a deploy.
    pub environment: String,
    pub pipeline_id: String,
    pub job_id: String,
    pub job_name: String,
    pub status: JobRunStatus,
    pub source: Source,
    pub attempt: u32,
    pub queued_at: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// A deployment that ended. Filed under `finished_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub event_id: String,
    pub project: String,
    pub environment: String,
    pub status: DeploymentStatus,
    pub version: String,
    /// Empty when unknown.
    pub commit_sha: String,
    pub commit_time: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: DateTime<Utc>,
    pub pipeline_id: String,
    pub source: Source,
    /// A rollback (the deploy definition run back to an earlier good version): a remediation, not a change (see
    /// `dora.rs`).
    pub rollback: bool,
}

/// A commit that reached the default branch. Filed under `commit_time`.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub event_id: String,
    pub project: String,
    pub commit_sha: String,
    pub commit_time: DateTime<Utc>,
    pub repository: String,
    pub branch: String,
}

/// One report about an incident: its opening, or its resolution (`resolved_at` set). Both share `incident_id`; the
/// incident as a whole is the reports folded together. Filed under `resolved_at` when set, else `opened_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub event_id: String,
    pub project: String,
    /// Empty when the source did not say.
    pub environment: String,
    pub incident_id: String,
    pub title: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub url: String,
}

/// What the store holds: one of the four kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    JobRun(JobRun),
    Deployment(Deployment),
    Change(Change),
    Incident(Incident),
}

/// The four kinds by name (InfluxDB measurement names, SQLite table discriminator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measurement {
    JobRun,
    Deployment,
    Change,
    Incident,
}

impl Measurement {
    pub const ALL: [Measurement; 4] = [Self::JobRun, Self::Deployment, Self::Change, Self::Incident];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobRun => "job_run",
            Self::Deployment => "deployment",
            Self::Change => "change",
            Self::Incident => "incident",
        }
    }
}

impl Event {
    pub fn event_id(&self) -> &str {
        match self {
            Event::JobRun(e) => &e.event_id,
            Event::Deployment(e) => &e.event_id,
            Event::Change(e) => &e.event_id,
            Event::Incident(e) => &e.event_id,
        }
    }

    pub fn project(&self) -> &str {
        match self {
            Event::JobRun(e) => &e.project,
            Event::Deployment(e) => &e.project,
            Event::Change(e) => &e.project,
            Event::Incident(e) => &e.project,
        }
    }

    /// Empty for changes (a commit is not tied to an environment).
    pub fn environment(&self) -> &str {
        match self {
            Event::JobRun(e) => &e.environment,
            Event::Deployment(e) => &e.environment,
            Event::Change(_) => "",
            Event::Incident(e) => &e.environment,
        }
    }

    pub fn measurement(&self) -> Measurement {
        match self {
            Event::JobRun(_) => Measurement::JobRun,
            Event::Deployment(_) => Measurement::Deployment,
            Event::Change(_) => Measurement::Change,
            Event::Incident(_) => Measurement::Incident,
        }
    }

    /// The instant the event is filed under.
    pub fn time(&self) -> DateTime<Utc> {
        match self {
            Event::JobRun(e) => e.finished_at,
            Event::Deployment(e) => e.finished_at,
            Event::Change(e) => e.commit_time,
            Event::Incident(e) => e.resolved_at.unwrap_or(e.opened_at),
        }
    }
}
