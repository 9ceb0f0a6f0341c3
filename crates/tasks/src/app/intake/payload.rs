//! The parts of GitHub's webhook payloads the intake reads (shapes as in GitHub's docs and octokit/webhooks' examples).
//! Everything else in a payload is ignored; a field GitHub may send as `null` or leave out is an `Option`, so only a
//! payload missing what identifies the event (ids, names, times) is refused as malformed.

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Repository {
    /// `owner/name`.
    pub full_name: String,
    pub html_url: Option<String>,
    pub default_branch: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub login: String,
}

#[derive(Debug, Deserialize)]
pub struct WorkflowRunEvent {
    pub action: String,
    pub workflow_run: WorkflowRun,
    pub workflow: Option<Workflow>,
    pub repository: Repository,
    pub sender: Option<User>,
}

#[derive(Debug, Deserialize)]
pub struct Workflow {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WorkflowRun {
    pub id: u64,
    pub name: Option<String>,
    pub html_url: Option<String>,
    /// `requested`, `queued`, `pending`, `waiting`, `in_progress`, `completed`.
    pub status: Option<String>,
    /// Set once completed: `success`, `failure`, `cancelled`, `timed_out`, `skipped`, `neutral`, …
    pub conclusion: Option<String>,
    pub head_sha: Option<String>,
    /// The commit `head_sha` names (absent from some older payloads).
    pub head_commit: Option<HeadCommit>,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub run_started_at: Option<DateTime<Utc>>,
    pub actor: Option<User>,
    pub triggering_actor: Option<User>,
}

#[derive(Debug, Deserialize)]
pub struct HeadCommit {
    /// When it was committed, by the committer's clock (with its offset, as in a push's commits).
    pub timestamp: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
pub struct WorkflowJobEvent {
    pub action: String,
    pub workflow_job: WorkflowJob,
    pub repository: Repository,
    pub sender: Option<User>,
}

#[derive(Debug, Deserialize)]
pub struct WorkflowJob {
    pub id: u64,
    pub run_id: u64,
    pub name: String,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub html_url: Option<String>,
    pub head_sha: Option<String>,
    /// Newer payloads only.
    pub workflow_name: Option<String>,
    pub run_attempt: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct DeploymentStatusEvent {
    pub deployment_status: DeploymentStatus,
    pub deployment: Deployment,
    pub repository: Repository,
    pub sender: Option<User>,
}

#[derive(Debug, Deserialize)]
pub struct DeploymentStatus {
    pub id: u64,
    /// `success`, `failure`, `error`, `pending`, `in_progress`, `queued`, `inactive`.
    pub state: String,
    pub environment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub creator: Option<User>,
}

#[derive(Debug, Deserialize)]
pub struct Deployment {
    pub id: u64,
    pub sha: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub environment: String,
    /// Free JSON (an object, or a string); `version` in it names what was deployed.
    pub payload: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub creator: Option<User>,
}

#[derive(Debug, Deserialize)]
pub struct PushEvent {
    /// `refs/heads/<branch>` or `refs/tags/<tag>`.
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub commits: Vec<Commit>,
    pub repository: Repository,
}

#[derive(Debug, Deserialize)]
pub struct Commit {
    /// The sha.
    pub id: String,
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
pub struct IssuesEvent {
    pub action: String,
    pub issue: Issue,
    pub repository: Repository,
}

#[derive(Debug, Deserialize)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub html_url: Option<String>,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
pub struct Label {
    pub name: String,
}
