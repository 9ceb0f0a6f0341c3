//! What a tasks event becomes in a project's room: nothing, or one notice (a run failed, a deploy finished, an
//! approval waits) with the key that makes it once-only. A notice that offers a command (retry, approve) says which
//! command, at which risk, and which roles may ask for it, so the dashboard shows the card to them only; the chat
//! checks the role again when someone does.

use chrono::{DateTime, Utc};
use devopstrack_platform::auth::Role;
use devopstrack_proto::tasks::v1 as pb;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::chat::app::permissions::refuse_proposal;
use crate::chat::app::redact::redact_line;
use crate::chat::domain::{EnvironmentFacts, Intent, Language, Risk, RoomId, RunFacts, risk_of};
use crate::chat::store::ClientMsgId;

/// What happened to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happened {
    /// A run that deploys nothing failed.
    RunFailed,
    /// A deploy ended, well or not.
    DeployFinished { succeeded: bool },
    /// Jobs wait for someone's approval.
    ApprovalWaiting,
}

impl Happened {
    fn name(self) -> &'static str {
        match self {
            Happened::RunFailed => "run_failed",
            Happened::DeployFinished { .. } => "deploy_finished",
            Happened::ApprovalWaiting => "approval_waiting",
        }
    }
}

/// A run event worth a notice: what happened, to which run, and the key of this occurrence.
#[derive(Debug, Clone)]
pub struct Noticed {
    pub happened: Happened,
    pub run: pb::Pipeline,
    pub room: RoomId,
    /// The same for every copy of this event (another replica, a replay after a restart), different for the next
    /// occurrence (the run fails again after a retry: another `finished_at`; other jobs wait).
    pub key: ClientMsgId,
}

/// The notice an event deserves, if any: only a pipeline's own updates count (a job's carry no stages).
pub fn noticed(event: &pb::Event) -> Option<Noticed> {
    if event.r#type != i32::from(pb::EventType::PipelineUpdated) {
        return None;
    }
    let run = event.pipeline.as_ref()?;
    let deploys = !run.environment.is_empty();
    let (happened, occurrence) = match pb::PipelineStatus::try_from(run.status).ok()? {
        pb::PipelineStatus::Failed if !deploys => (Happened::RunFailed, finished(run)),
        pb::PipelineStatus::Failed => (Happened::DeployFinished { succeeded: false }, finished(run)),
        pb::PipelineStatus::Succeeded if deploys => (Happened::DeployFinished { succeeded: true }, finished(run)),
        pb::PipelineStatus::WaitingApproval => {
            let waiting: Vec<String> = waiting_jobs(run)
                .map(|job| format!("{}/{}", job.id, job.attempt))
                .collect();
            (Happened::ApprovalWaiting, waiting.join(","))
        }
        _ => return None,
    };
    let room = RoomId::project(&run.project).ok()?;
    let digest = Sha256::digest(format!("{}\n{}\n{occurrence}", run.id, happened.name()));
    let key = ClientMsgId::parse(&format!("notice:{}:{}", happened.name(), &hex::encode(digest)[..32])).ok()?;
    Some(Noticed {
        happened,
        run: run.clone(),
        room,
        key,
    })
}

fn finished(run: &pb::Pipeline) -> String {
    run.finished_at
        .as_ref()
        .map_or_else(String::new, |t| format!("{}.{:09}", t.seconds, t.nanos))
}

fn waiting_jobs(run: &pb::Pipeline) -> impl Iterator<Item = &pb::Job> {
    run.stages
        .iter()
        .flat_map(|stage| &stage.jobs)
        .filter(|job| job.status == i32::from(pb::JobStatus::WaitingApproval))
}

/// The first job that failed or timed out, as `stage/job: reason` (the reason's secrets masked).
fn failure(run: &pb::Pipeline) -> Option<String> {
    let failed = [pb::JobStatus::Failed, pb::JobStatus::TimedOut].map(i32::from);
    run.stages.iter().find_map(|stage| {
        let job = stage.jobs.iter().find(|job| failed.contains(&job.status))?;
        let reason = redact_line(&job.exit_reason);
        Some(match reason.trim() {
            "" => format!("{}/{}", stage.name, job.name),
            reason => format!("{}/{}: {reason}", stage.name, job.name),
        })
    })
}

impl Noticed {
    /// `api#42` (or the run's id before it had a number).
    fn run_ref(&self) -> String {
        match self.run.number {
            0 => format!("{} run {}", self.run.project, self.run.id),
            n => format!("{}#{n}", self.run.project),
        }
    }

    /// The notice's text and payload. `environment` is what projects says about the run's environment (`None`:
    /// unknown, counted as the worst case).
    pub fn render(&self, environment: Option<EnvironmentFacts>) -> (String, Value) {
        let run = self.run_ref();
        let run_facts = RunFacts {
            deploys_to: (!self.run.environment.is_empty()).then(|| environment.unwrap_or(EnvironmentFacts::UNKNOWN)),
        };
        let why = failure(&self.run).map(|f| format!(": {f}")).unwrap_or_default();
        let (text, offer) = match self.happened {
            Happened::RunFailed => (
                format!("{run} failed{why}."),
                Some((Intent::Retry, risk_of(Intent::Retry, None, Some(run_facts)))),
            ),
            Happened::DeployFinished { succeeded: true } => (
                format!(
                    "{} {} is deployed to {} ({run}).",
                    self.run.project, self.run.version, self.run.environment
                ),
                None,
            ),
            Happened::DeployFinished { succeeded: false } => (
                format!(
                    "Deploying {} {} to {} failed ({run}){why}.",
                    self.run.project, self.run.version, self.run.environment
                ),
                Some((Intent::Retry, risk_of(Intent::Retry, None, Some(run_facts)))),
            ),
            Happened::ApprovalWaiting => {
                let jobs: Vec<&str> = waiting_jobs(&self.run).map(|job| job.name.as_str()).collect();
                let what = match self.run.environment.as_str() {
                    "" => String::new(),
                    env => format!(" to deploy {} to {env}", self.run.version),
                };
                (
                    format!(
                        "{run} waits for an approval{what} ({}); not by {}, who started it.",
                        jobs.join(", "),
                        self.run.triggered_by
                    ),
                    Some((Intent::Approve, risk_of(Intent::Approve, environment, None))),
                )
            }
        };
        let mut payload = json!({
            "kind": "notice",
            "notice": self.happened.name(),
            "run": {
                "pipelineId": self.run.id,
                "project": self.run.project,
                "number": self.run.number,
                "environment": self.run.environment,
                "version": self.run.version,
            },
        });
        let text = match offer {
            Some((intent, risk)) => {
                let command = format!("{} {run}", intent.as_str());
                payload["offer"] = json!({
                    "intent": intent,
                    "command": command,
                    "risk": risk,
                    "roles": allowed_roles(intent, risk),
                });
                format!("{text} Type `{command}` to {} it.", intent.as_str())
            }
            None => text,
        };
        (text, payload)
    }
}

/// The roles that may ask for `intent` at `risk`.
fn allowed_roles(intent: Intent, risk: Risk) -> Vec<Role> {
    [Role::Viewer, Role::Operator, Role::Admin]
        .into_iter()
        .filter(|role| refuse_proposal(*role, intent, risk, Language::En).is_none())
        .collect()
}

/// When the event happened, for the notice's time.
pub fn event_time(event: &pb::Event) -> DateTime<Utc> {
    event
        .at
        .as_ref()
        .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .unwrap_or_else(Utc::now)
}

#[cfg(test)]
mod tests;
