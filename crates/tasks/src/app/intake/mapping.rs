//! GitHub events → what DevOpsTrack records, decided before the delivery is accepted (so a malformed body is refused
//! as INVALID_ARGUMENT and an event that maps to nothing is "ignored") and again when the inbox processes it:
//!
//! - `workflow_run` → `TrackExternalRun` (the run, by its GitHub id, with its commit: `head_sha` and
//!   `head_commit.timestamp`); `workflow_job` → the same call with the job (merged by job id) and, once completed, a
//!   metrics `JobRun` (source github).
//! - `deployment_status` success / failure / error → a metrics `Deployment` and a projects `RecordDeployment` (so a
//!   success moves the environment's current version); other states are ignored.
//! - `push` to the repository's default branch → one metrics `Change` per commit.
//! - `issues` labelled `incident`: opened / labeled → an open metrics `Incident`, closed → resolved.
//!
//! Every id sent downstream is derived from the payload only (`gh-job:<job id>:<attempt>`, `gh-deploy-status:<id>`,
//! `gh-change:<project>:<sha>`, …), never from the delivery, so a redelivery is idempotent downstream too.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use devopstrack_proto::metrics::v1 as metrics_pb;
use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::tasks::v1 as tasks_pb;

use devopstrack_platform::commit::{CommitSha, CommitTime};

use super::payload::{
    DeploymentStatusEvent, IssuesEvent, PushEvent, Repository, User, WorkflowJobEvent, WorkflowRunEvent,
};
use super::status::{job_run_status, job_status, run_status};
use crate::convert::timestamp;

/// The label that makes an issue an incident (compared case-insensitively).
pub const INCIDENT_LABEL: &str = "incident";

/// The `X-GitHub-Event` values the intake knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GithubEvent {
    WorkflowRun,
    WorkflowJob,
    DeploymentStatus,
    Push,
    Issues,
    /// Sent when a webhook is created; verified, then ignored.
    Ping,
    /// Anything else: verified, then ignored.
    Other,
}

impl GithubEvent {
    pub fn parse(header: &str) -> Self {
        match header {
            "workflow_run" => Self::WorkflowRun,
            "workflow_job" => Self::WorkflowJob,
            "deployment_status" => Self::DeploymentStatus,
            "push" => Self::Push,
            "issues" => Self::Issues,
            "ping" => Self::Ping,
            _ => Self::Other,
        }
    }

    /// The metric label: bounded, whatever a caller sends.
    pub fn label(self) -> &'static str {
        match self {
            Self::WorkflowRun => "workflow_run",
            Self::WorkflowJob => "workflow_job",
            Self::DeploymentStatus => "deployment_status",
            Self::Push => "push",
            Self::Issues => "issues",
            Self::Ping => "ping",
            Self::Other => "other",
        }
    }
}

/// One effect of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Applied at once, through the TrackExternalRun use-case.
    TrackRun(tasks_pb::TrackExternalRunRequest),
    /// The others go to the outboxes, stored with the delivery's completion.
    JobRun(metrics_pb::JobRun),
    MetricsDeployment(metrics_pb::Deployment),
    ProjectDeployment(projects_pb::Deployment),
    Changes(Vec<metrics_pb::Change>),
    Incident(metrics_pb::Incident),
}

/// A body that is not what its event should be: not JSON (`syntax`), or a field missing or of the wrong type (the
/// message starts with its path, e.g. `workflow_run.id: missing field`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BadPayload {
    pub syntax: bool,
    pub message: String,
}

/// What a verified delivery becomes.
#[derive(Debug, PartialEq)]
pub enum Mapped {
    Actions(Vec<Action>),
    /// Nothing to record; the reason is answered to GitHub.
    Ignored(&'static str),
}

/// Maps a verified delivery of `event` for the project `project` (its slug). A body that is not JSON or lacks a
/// required field is a [`BadPayload`] naming the field.
pub fn map(event: GithubEvent, project: &str, body: &[u8]) -> Result<Mapped, BadPayload> {
    match event {
        GithubEvent::WorkflowRun => Ok(workflow_run(project, parse_json(body)?)),
        GithubEvent::WorkflowJob => Ok(workflow_job(project, parse_json(body)?)),
        GithubEvent::DeploymentStatus => Ok(deployment_status(project, parse_json(body)?)),
        GithubEvent::Push => Ok(push(project, parse_json(body)?)),
        GithubEvent::Issues => Ok(issues(project, parse_json(body)?)),
        GithubEvent::Ping => Ok(Mapped::Ignored("ping")),
        GithubEvent::Other => Ok(Mapped::Ignored("event type not handled")),
    }
}

fn workflow_run(project: &str, event: WorkflowRunEvent) -> Mapped {
    let run = event.workflow_run;
    let name = [
        run.name.as_deref(),
        event.workflow.as_ref().and_then(|w| w.name.as_deref()),
    ]
    .into_iter()
    .flatten()
    .find(|n| !n.trim().is_empty())
    .map_or_else(|| format!("workflow run {}", run.id), |n| clip(n, 200));
    let status = run_status(run.status.as_deref(), run.conclusion.as_deref());
    let finished = matches!(
        status,
        tasks_pb::PipelineStatus::Succeeded | tasks_pb::PipelineStatus::Failed | tasks_pb::PipelineStatus::Cancelled
    );
    let started_at = run
        .run_started_at
        .or((status != tasks_pb::PipelineStatus::Queued).then_some(run.created_at));
    let triggered_by = login([run.triggering_actor.as_ref(), run.actor.as_ref(), event.sender.as_ref()]);
    let (commit_sha, commit_time) = commit(run.head_sha.as_deref(), run.head_commit.and_then(|c| c.timestamp));
    Mapped::Actions(vec![Action::TrackRun(tasks_pb::TrackExternalRunRequest {
        project: project.to_owned(),
        source: tasks_pb::Source::Github as i32,
        external_id: run.id.to_string(),
        external_url: run.html_url.unwrap_or_else(|| run_url(&event.repository, run.id)),
        name,
        triggered_by,
        status: status as i32,
        created_at: Some(timestamp(run.created_at)),
        started_at: started_at.map(timestamp),
        finished_at: if finished { run.updated_at.map(timestamp) } else { None },
        jobs: Vec::new(),
        environment: String::new(),
        version: String::new(),
        commit_sha,
        commit_time,
    })])
}

fn workflow_job(project: &str, event: WorkflowJobEvent) -> Mapped {
    let job = event.workflow_job;
    let status = job_status(&event.action, job.status.as_deref(), job.conclusion.as_deref());
    let run_name = job
        .workflow_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map_or_else(|| format!("workflow run {}", job.run_id), |n| clip(n, 200));
    let track = tasks_pb::TrackExternalRunRequest {
        project: project.to_owned(),
        source: tasks_pb::Source::Github as i32,
        external_id: job.run_id.to_string(),
        external_url: run_url(&event.repository, job.run_id),
        name: run_name,
        triggered_by: login([event.sender.as_ref()]),
        status: tasks_pb::PipelineStatus::Unspecified as i32,
        created_at: job.created_at.or(job.started_at).map(timestamp),
        started_at: None,
        finished_at: None,
        jobs: vec![tasks_pb::ExternalJob {
            external_id: job.id.to_string(),
            name: clip(&job.name, 200),
            status: status as i32,
            started_at: job.started_at.map(timestamp),
            finished_at: job.completed_at.map(timestamp),
            external_url: job.html_url.clone().unwrap_or_default(),
        }],
        environment: String::new(),
        version: String::new(),
        // A job's payload has no commit time; tasks keeps the one its run's delivery brought.
        commit_sha: commit(job.head_sha.as_deref(), None).0,
        commit_time: None,
    };
    let mut actions = vec![Action::TrackRun(track)];
    if let (Some(run_status), Some(started), Some(finished)) =
        (job_run_status(status), job.started_at, job.completed_at)
    {
        let attempt = job.run_attempt.unwrap_or(1).max(1);
        actions.push(Action::JobRun(metrics_pb::JobRun {
            event_id: event_id("gh-job", &format!("{}:{attempt}", job.id)),
            project: project.to_owned(),
            environment: String::new(),
            pipeline_id: format!("gh-run:{}", job.run_id),
            job_id: format!("gh-job:{}", job.id),
            job_name: clip(&job.name, 200),
            status: run_status as i32,
            source: metrics_pb::Source::Github as i32,
            attempt,
            queued_at: job.created_at.map(timestamp),
            started_at: Some(timestamp(started)),
            finished_at: Some(timestamp(finished.max(started))),
        }));
    }
    Mapped::Actions(actions)
}

fn deployment_status(project: &str, event: DeploymentStatusEvent) -> Mapped {
    let (status, deployment) = (event.deployment_status, event.deployment);
    let (metrics_status, projects_status) = match status.state.as_str() {
        "success" => (
            metrics_pb::DeploymentStatus::Succeeded,
            projects_pb::DeploymentStatus::Succeeded,
        ),
        "failure" | "error" => (
            metrics_pb::DeploymentStatus::Failed,
            projects_pb::DeploymentStatus::Failed,
        ),
        _ => return Mapped::Ignored("deployment state is not final"),
    };
    // GitHub environment names are case-insensitive; DevOpsTrack's are lower-case.
    let environment = status
        .environment
        .as_deref()
        .unwrap_or(&deployment.environment)
        .to_lowercase();
    let version = deployment
        .payload
        .as_ref()
        .and_then(|p| p.get("version"))
        .and_then(|v| v.as_str())
        .or(deployment.git_ref.as_deref())
        .or(deployment.sha.as_deref())
        .map(|v| clip(v, 64))
        .unwrap_or_else(|| format!("deployment-{}", deployment.id));
    let commit_sha = deployment.sha.clone().unwrap_or_default();
    let started_at = deployment.created_at.min(status.created_at);
    let id = format!("gh-deploy-status:{}", status.id);
    Mapped::Actions(vec![
        Action::MetricsDeployment(metrics_pb::Deployment {
            event_id: id.clone(),
            project: project.to_owned(),
            environment: environment.clone(),
            status: metrics_status as i32,
            version: version.clone(),
            commit_sha: commit_sha.clone(),
            commit_time: None,
            started_at: Some(timestamp(started_at)),
            finished_at: Some(timestamp(status.created_at)),
            pipeline_id: String::new(),
            source: metrics_pb::Source::Github as i32,
            rollback: false,
        }),
        Action::ProjectDeployment(projects_pb::Deployment {
            id,
            project_id: project.to_owned(),
            environment,
            version,
            commit_sha,
            status: projects_status as i32,
            started_at: Some(timestamp(started_at)),
            finished_at: Some(timestamp(status.created_at)),
            triggered_by: login([
                status.creator.as_ref(),
                deployment.creator.as_ref(),
                event.sender.as_ref(),
            ]),
            pipeline_id: String::new(),
            rollback: false,
        }),
    ])
}

fn push(project: &str, event: PushEvent) -> Mapped {
    let Some(branch) = event.git_ref.strip_prefix("refs/heads/") else {
        return Mapped::Ignored("not a branch push");
    };
    if event.repository.default_branch.as_deref() != Some(branch) {
        return Mapped::Ignored("not the default branch");
    }
    if event.deleted || event.commits.is_empty() {
        return Mapped::Ignored("no commits");
    }
    let repository = event.repository.full_name;
    let changes = event
        .commits
        .into_iter()
        .map(|commit| metrics_pb::Change {
            event_id: event_id("gh-change", &format!("{project}:{}", commit.id)),
            project: project.to_owned(),
            commit_sha: commit.id,
            commit_time: Some(timestamp(commit.timestamp)),
            repository: repository.clone(),
            branch: branch.to_owned(),
        })
        .collect();
    Mapped::Actions(vec![Action::Changes(changes)])
}

fn issues(project: &str, event: IssuesEvent) -> Mapped {
    let issue = event.issue;
    if !issue.labels.iter().any(|l| l.name.eq_ignore_ascii_case(INCIDENT_LABEL)) {
        return Mapped::Ignored("not labelled incident");
    }
    let incident_id = format!("github:{}#{}", event.repository.full_name, issue.number);
    let (event_id, resolved_at) = match event.action.as_str() {
        "opened" | "labeled" => (event_id("gh-incident-open", &incident_id), None),
        "closed" => {
            let at = issue.closed_at.unwrap_or_else(Utc::now);
            let key = format!("{incident_id}@{}", at.timestamp());
            (event_id("gh-incident-resolved", &key), Some(at))
        }
        _ => return Mapped::Ignored("issue action not tracked"),
    };
    Mapped::Actions(vec![Action::Incident(metrics_pb::Incident {
        event_id,
        project: project.to_owned(),
        environment: String::new(),
        incident_id: clip(&incident_id, 200),
        title: clip(&issue.title, 200),
        opened_at: Some(timestamp(issue.created_at)),
        resolved_at: resolved_at.map(timestamp),
        url: issue.html_url.unwrap_or_default(),
    })])
}

/// A run's commit as tasks takes it. A sha tasks would refuse is left out, and its time with it; so is a time tasks
/// would refuse (before 2000, or ahead of our clock: a commit's timestamp is the committer's clock). Either way the run
/// is still tracked, only without a lead time.
fn commit(sha: Option<&str>, at: Option<DateTime<Utc>>) -> (String, Option<prost_types::Timestamp>) {
    let Some(sha) = sha.and_then(|s| CommitSha::parse(s).ok()) else {
        return (String::new(), None);
    };
    let time = at.and_then(|at| CommitTime::parse(at, Utc::now()).ok());
    (sha.into_inner(), time.map(|t| timestamp(t.at())))
}

/// `T` from JSON, or what is wrong with it and where.
fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, BadPayload> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." || path.is_empty() {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        };
        BadPayload {
            syntax: inner.is_syntax() || inner.is_eof(),
            message,
        }
    })?;
    deserializer.end().map_err(|e| BadPayload {
        syntax: true,
        message: e.to_string(),
    })?;
    Ok(value)
}

/// `<kind>:<key>`, or `<kind>:sha256:<hex>` of the key when that would pass 128 characters (long repository names).
pub fn event_id(kind: &str, key: &str) -> String {
    let id = format!("{kind}:{key}");
    if id.len() <= 128 {
        id
    } else {
        format!("{kind}:sha256:{:x}", Sha256::digest(key.as_bytes()))
    }
}

fn run_url(repository: &Repository, run_id: u64) -> String {
    let base = repository
        .html_url
        .clone()
        .unwrap_or_else(|| format!("https://github.com/{}", repository.full_name));
    format!("{base}/actions/runs/{run_id}")
}

fn login<const N: usize>(users: [Option<&User>; N]) -> String {
    users
        .into_iter()
        .flatten()
        .map(|u| u.login.clone())
        .next()
        .unwrap_or_else(|| "github".into())
}

/// At most `max` characters (GitHub names may be longer than what the services accept).
fn clip(text: &str, max: usize) -> String {
    text.trim().chars().take(max).collect()
}

#[cfg(test)]
mod tests;
