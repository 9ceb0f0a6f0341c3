//! The read intents, answered at once in the asker's language: a text for the room and a JSON payload the dashboard
//! renders (never HTML: the dashboard shows text as text).

use serde_json::{Value, json};

use devopstrack_platform::auth::Role;
use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::tasks::v1 as tasks_pb;

use crate::chat::domain::{Intent, Language, Parsed};

use super::ChatError;
use super::permissions::intents_for;
use super::platform::{CallAs, Platform, status_word};
use super::redact::redact_line;

/// How many log lines a failure answer quotes.
pub const LOG_TAIL_LINES: u32 = 30;

/// A bot reply: its text and the structured payload.
#[derive(Debug, Clone)]
pub struct Answer {
    pub text: String,
    pub payload: Value,
}

fn say(lang: Language, en: String, fr: String) -> String {
    match lang {
        Language::En => en,
        Language::Fr => fr,
    }
}

fn run_name(pipeline: &tasks_pb::Pipeline) -> String {
    format!("{}#{}", pipeline.project, pipeline.number)
}

/// Answers a read intent (`parsed.intent.is_read()`, nothing missing).
pub async fn answer(platform: &Platform, who: &CallAs, role: Role, parsed: &Parsed) -> Result<Answer, ChatError> {
    let lang = parsed.language;
    let p = &parsed.params;
    match parsed.intent {
        Intent::Help => Ok(help(role, lang)),
        Intent::StatusOverview => {
            let runs = platform.recent_runs(who, None).await?;
            let failing: Vec<String> = runs
                .iter()
                .filter(|r| r.status == tasks_pb::PipelineStatus::Failed as i32)
                .take(5)
                .map(run_name)
                .collect();
            let active = runs
                .iter()
                .filter(|r| {
                    matches!(
                        tasks_pb::PipelineStatus::try_from(r.status),
                        Ok(tasks_pb::PipelineStatus::Queued
                            | tasks_pb::PipelineStatus::Running
                            | tasks_pb::PipelineStatus::WaitingApproval)
                    )
                })
                .count();
            let text = say(
                lang,
                format!(
                    "{} recent runs: {active} in progress, {} failed{}.",
                    runs.len(),
                    failing.len(),
                    list_suffix(&failing)
                ),
                format!(
                    "{} exécutions récentes : {active} en cours, {} en échec{}.",
                    runs.len(),
                    failing.len(),
                    list_suffix(&failing)
                ),
            );
            Ok(Answer {
                text,
                payload: json!({"kind": "status_overview", "recent": runs.len(), "active": active, "failing": failing}),
            })
        }
        Intent::ProjectStatus => {
            let slug = p.project.as_deref().unwrap_or_default();
            let project = platform.project(who, slug).await?;
            let envs: Vec<Value> = project
                .environments
                .iter()
                .filter(|e| p.environment.as_deref().is_none_or(|want| want == e.name))
                .map(environment_json)
                .collect();
            let lines: Vec<String> = project
                .environments
                .iter()
                .filter(|e| p.environment.as_deref().is_none_or(|want| want == e.name))
                .map(|e| {
                    let version = if e.current_version.is_empty() {
                        "—"
                    } else {
                        &e.current_version
                    };
                    format!("{}: {version}", e.name)
                })
                .collect();
            let text = if lines.is_empty() {
                say(
                    lang,
                    format!("{slug} has no environment yet."),
                    format!("{slug} n'a pas encore d'environnement."),
                )
            } else {
                format!("{slug} — {}", lines.join(", "))
            };
            Ok(Answer {
                text,
                payload: json!({"kind": "project_status", "project": slug, "environments": envs}),
            })
        }
        Intent::FailingPipelines => {
            let runs = platform.failed_runs(who, p.project.as_deref()).await?;
            let names: Vec<String> = runs.iter().take(10).map(run_name).collect();
            let text = if names.is_empty() {
                say(lang, "No failing run.".into(), "Aucune exécution en échec.".into())
            } else {
                say(
                    lang,
                    format!("Failing: {}.", names.join(", ")),
                    format!("En échec : {}.", names.join(", ")),
                )
            };
            Ok(Answer {
                text,
                payload: json!({"kind": "failing_pipelines", "runs": names}),
            })
        }
        Intent::JobFailureReason => {
            let slug = p.project.as_deref().unwrap_or_default();
            let run = platform.run(who, slug, p.run.unwrap_or_default()).await?;
            let failed = run.stages.iter().flat_map(|s| s.jobs.iter()).find(|j| {
                j.status == tasks_pb::JobStatus::Failed as i32 || j.status == tasks_pb::JobStatus::TimedOut as i32
            });
            let Some(job) = failed else {
                let text = say(
                    lang,
                    format!("{} is {}: no job failed.", run_name(&run), status_word(run.status)),
                    format!(
                        "{} est {} : aucun job n'a échoué.",
                        run_name(&run),
                        status_word(run.status)
                    ),
                );
                return Ok(Answer {
                    text,
                    payload: json!({"kind": "job_failure_reason", "run": run_name(&run), "status": status_word(run.status)}),
                });
            };
            let tail: Vec<String> = platform
                .log_tail(who, &job.id, LOG_TAIL_LINES)
                .await?
                .iter()
                .map(|line| redact_line(line))
                .collect();
            let reason = redact_line(&job.exit_reason);
            let link = format!("/pipelines/{}", run.id);
            let text = say(
                lang,
                format!("{} failed in job {}: {reason}", run_name(&run), job.name),
                format!("{} a échoué au job {} : {reason}", run_name(&run), job.name),
            );
            Ok(Answer {
                text,
                payload: json!({"kind": "job_failure_reason", "run": run_name(&run), "job": job.name,
                    "reason": reason, "log": tail, "link": link}),
            })
        }
        Intent::DoraSummary => {
            let days = p.window.map_or(30, |w| w.in_days());
            let report = platform
                .dora(who, p.project.as_deref(), p.environment.as_deref(), days)
                .await?;
            let overall = report.overall.unwrap_or_default();
            let frequency = overall.deployment_frequency.unwrap_or_default();
            let failure = overall.change_failure_rate.unwrap_or_default();
            let scope = p
                .project
                .clone()
                .unwrap_or_else(|| say(lang, "all projects".into(), "tous les projets".into()));
            let rate = failure.rate.map_or("—".to_owned(), |r| format!("{:.0}%", r * 100.0));
            let text = say(
                lang,
                format!(
                    "DORA for {scope} over {days}d: {} deployments ({:.2}/day), change failure rate {rate}.",
                    frequency.deployments, frequency.per_day
                ),
                format!(
                    "DORA pour {scope} sur {days} j : {} déploiements ({:.2}/jour), taux d'échec des changements {rate}.",
                    frequency.deployments, frequency.per_day
                ),
            );
            Ok(Answer {
                text,
                payload: json!({"kind": "dora_summary", "project": p.project, "environment": p.environment,
                    "windowDays": days, "deployments": frequency.deployments, "perDay": frequency.per_day,
                    "changeFailureRate": failure.rate}),
            })
        }
        Intent::WhoDeployed => {
            let Some(slug) = p.project.as_deref() else {
                return Ok(Answer {
                    text: say(lang, "Which project?".into(), "Quel projet ?".into()),
                    payload: json!({"kind": "who_deployed"}),
                });
            };
            let deployments = platform.deployments(who, slug, p.environment.as_deref()).await?;
            let lines: Vec<String> = deployments.iter().take(5).map(deployment_line).collect();
            let text = if lines.is_empty() {
                say(
                    lang,
                    format!("Nothing deployed in {slug} yet."),
                    format!("Rien de déployé dans {slug} pour l'instant."),
                )
            } else {
                lines.join("\n")
            };
            Ok(Answer {
                text,
                payload: json!({"kind": "who_deployed", "project": slug, "deployments": lines}),
            })
        }
        other => Err(ChatError::Internal(anyhow::anyhow!("{} is not a read", other.as_str()))),
    }
}

fn list_suffix(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join(", "))
    }
}

fn environment_json(e: &projects_pb::Environment) -> Value {
    json!({"name": e.name, "currentVersion": e.current_version, "protected": e.protected})
}

fn deployment_line(d: &projects_pb::Deployment) -> String {
    let at = d
        .finished_at
        .or(d.started_at)
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map_or_else(|| "—".to_owned(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    let who = if d.triggered_by.is_empty() {
        "?"
    } else {
        &d.triggered_by
    };
    format!(
        "{} {} → {} by {who} at {at}",
        d.environment,
        d.version,
        status_of(d.status)
    )
}

fn status_of(status: i32) -> &'static str {
    match projects_pb::DeploymentStatus::try_from(status) {
        Ok(projects_pb::DeploymentStatus::Succeeded) => "succeeded",
        Ok(projects_pb::DeploymentStatus::Failed) => "failed",
        Ok(projects_pb::DeploymentStatus::RolledBack) => "rolled back",
        _ => "unknown",
    }
}

/// What the asker may do, and how to say it: only what their role allows, examples included.
pub fn help(role: Role, lang: Language) -> Answer {
    let allowed = intents_for(role);
    let intents: Vec<&str> = allowed.iter().map(|i| i.as_str()).collect();
    let acts = allowed.contains(&Intent::Deploy);
    let text = match (lang, acts) {
        (Language::En, true) => format!(
            "You are {}. You can ask: {}. Examples: \"status of api\", \"why did api#42 fail?\", \"deploy api 2.5.0 to staging\". A command waits for `confirm <code>`.",
            role.as_str(),
            intents.join(", ")
        ),
        (Language::En, false) => format!(
            "You are {}. You can ask: {}. Examples: \"status of api\", \"why did api#42 fail?\", \"dora for api over 30d\".",
            role.as_str(),
            intents.join(", ")
        ),
        (Language::Fr, true) => format!(
            "Votre rôle : {}. Vous pouvez demander : {}. Exemples : « état de api », « pourquoi api#42 a planté ? », « déploie api 2.5.0 en staging ». Une commande attend `confirme <code>`.",
            role.as_str(),
            intents.join(", ")
        ),
        (Language::Fr, false) => format!(
            "Votre rôle : {}. Vous pouvez demander : {}. Exemples : « état de api », « pourquoi api#42 a planté ? », « dora de api sur 30j ».",
            role.as_str(),
            intents.join(", ")
        ),
    };
    Answer {
        text,
        payload: json!({"kind": "help", "intents": intents}),
    }
}
