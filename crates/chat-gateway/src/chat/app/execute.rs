//! What an action does once released: one call to tasks as the person whose decision released it. tasks checks
//! that person's role again (and its own approval rules), so the chat never widens anyone's rights.
//!
//! A critical deploy or rollback (four eyes: asked and confirmed by one person, approved by another) is created by
//! tasks on behalf of the asker (`asked_by`, vouched for by the gateway's service token) with its environment's gate
//! approved by the approver, whose token the call carries: the run records who asked and who approved, and starts
//! without a second approval. tasks refuses it when the approver may not approve it or is the asker.

use devopstrack_proto::tasks::v1 as tasks_pb;

use crate::chat::domain::{Intent, Parsed};
use crate::chat::store::{Action, Outcome, RunRef};

use super::ChatError;
use super::platform::{CallAs, Platform};

/// What an executed action produced.
pub struct Done {
    pub run: Option<RunRef>,
    pub outcome: Outcome,
}

/// How an action reads on its card and in the audit trail: `deploy api 2.5.0 to production`.
pub fn target(parsed: &Parsed) -> String {
    let p = &parsed.params;
    let project = p.project.as_deref().unwrap_or("?");
    let run = || p.run.map_or_else(|| project.to_owned(), |n| format!("{project}#{n}"));
    match parsed.intent {
        Intent::Deploy => format!(
            "deploy {project} {} to {}",
            p.version.as_deref().unwrap_or("?"),
            p.environment.as_deref().unwrap_or("?")
        ),
        Intent::Rollback => match &p.version {
            Some(version) => format!(
                "rollback {project} {} to {version}",
                p.environment.as_deref().unwrap_or("?")
            ),
            None => format!("rollback {project} {}", p.environment.as_deref().unwrap_or("?")),
        },
        Intent::RunPipeline => format!("run {project} {}", p.definition.as_deref().unwrap_or("ci")),
        Intent::Retry => format!("retry {}", run()),
        Intent::Cancel => format!("cancel {}", run()),
        Intent::Approve => format!("approve {}", run()),
        other => format!("{} {project}", other.as_str()),
    }
}

fn run_ref(pipeline: &tasks_pb::Pipeline) -> Result<RunRef, ChatError> {
    RunRef::new(&pipeline.id, pipeline.number).map_err(ChatError::internal)
}

fn done(pipeline: &tasks_pb::Pipeline, summary: String) -> Result<Done, ChatError> {
    Ok(Done {
        run: Some(run_ref(pipeline)?),
        outcome: Outcome {
            succeeded: true,
            summary,
        },
    })
}

/// Runs `action` as `who`.
pub async fn run(platform: &Platform, who: &CallAs, action: &Action) -> Result<Done, ChatError> {
    let p = &action.params;
    let project = p
        .project
        .as_deref()
        .ok_or_else(|| ChatError::InvalidInput("project: the action names no project".into()))?;
    let number = || {
        p.run
            .ok_or_else(|| ChatError::InvalidInput("run: the action names no run".into()))
    };
    // Who asked, for tasks, when someone else's approval released the action.
    let asked_by = if action.risk.needs_approval() {
        action.asker.id().to_owned()
    } else {
        String::new()
    };
    match action.intent {
        Intent::Retry => {
            let run = platform.run(who, project, number()?).await?;
            let failed: Vec<&tasks_pb::Job> = run
                .stages
                .iter()
                .flat_map(|s| s.jobs.iter())
                .filter(|j| {
                    matches!(
                        tasks_pb::JobStatus::try_from(j.status),
                        Ok(tasks_pb::JobStatus::Failed
                            | tasks_pb::JobStatus::TimedOut
                            | tasks_pb::JobStatus::Cancelled)
                    )
                })
                .collect();
            if failed.is_empty() {
                return Err(ChatError::Conflict(format!(
                    "{project}#{} has no failed job to retry",
                    run.number
                )));
            }
            let mut latest = run.clone();
            for job in &failed {
                latest = platform.retry_job(who, &job.id).await?;
            }
            done(
                &latest,
                format!("retried {} job(s) of {project}#{}", failed.len(), run.number),
            )
        }
        Intent::Cancel => {
            let run = platform.run(who, project, number()?).await?;
            let cancelled = platform.cancel(who, &run.id).await?;
            done(&cancelled, format!("cancelled {project}#{}", run.number))
        }
        Intent::Approve => {
            let run = platform.run(who, project, number()?).await?;
            let waiting: Vec<&tasks_pb::Job> = run
                .stages
                .iter()
                .flat_map(|s| s.jobs.iter())
                .filter(|j| j.status == tasks_pb::JobStatus::WaitingApproval as i32)
                .collect();
            if waiting.is_empty() {
                return Err(ChatError::Conflict(format!(
                    "{project}#{} has no job waiting for approval",
                    run.number
                )));
            }
            let mut latest = run.clone();
            for job in &waiting {
                latest = platform.approve_job(who, &job.id).await?;
            }
            done(&latest, format!("approved {project}#{}", run.number))
        }
        Intent::RunPipeline | Intent::Deploy => {
            let deploy = action.intent == Intent::Deploy;
            let definition = p
                .definition
                .clone()
                .unwrap_or_else(|| if deploy { "deploy" } else { "ci" }.to_owned());
            let run = platform
                .create_run(
                    who,
                    tasks_pb::CreateRunRequest {
                        project: project.to_owned(),
                        definition: definition.clone(),
                        environment: if deploy {
                            p.environment.clone().unwrap_or_default()
                        } else {
                            String::new()
                        },
                        version: if deploy {
                            p.version.clone().unwrap_or_default()
                        } else {
                            String::new()
                        },
                        commit_sha: String::new(),
                        // Keyed by the action: a retried execution starts the run once.
                        idempotency_key: format!("chat-{}", action.id),
                        trigger: tasks_pb::Trigger::Chat as i32,
                        asked_by: if deploy { asked_by } else { String::new() },
                    },
                )
                .await?;
            done(&run, format!("started {project}#{} ({definition})", run.number))
        }
        Intent::Rollback => {
            let environment = p
                .environment
                .clone()
                .ok_or_else(|| ChatError::InvalidInput("environment: the rollback names no environment".into()))?;
            let rolled = platform
                .rollback(
                    who,
                    tasks_pb::RollbackRequest {
                        project: project.to_owned(),
                        environment: environment.clone(),
                        to: p.version.clone().unwrap_or_default(),
                        idempotency_key: format!("chat-{}", action.id),
                        asked_by,
                    },
                )
                .await?;
            let run = rolled
                .pipeline
                .ok_or_else(|| ChatError::internal("tasks answered Rollback without a pipeline".into()))?;
            done(
                &run,
                format!(
                    "rolling {project} {environment} back from {} to {} ({project}#{})",
                    rolled.from_version, rolled.to_version, run.number
                ),
            )
        }
        other => Err(ChatError::InvalidInput(format!(
            "intent: {} is not a command",
            other.as_str()
        ))),
    }
}
