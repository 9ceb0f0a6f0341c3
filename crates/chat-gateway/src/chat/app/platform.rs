//! The platform as the chat sees it: what the parser resolves against ([`ParseContext`]), the facts the read
//! intents answer with, and the calls an action makes. Every call goes through the same typed gRPC clients as the
//! REST routes, with the asker's own token, so each service checks the asker's role itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use devopstrack_peers::ServiceTokens;

use devopstrack_proto::metrics::v1 as metrics_pb;
use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::tasks::v1 as tasks_pb;

use crate::chat::domain::RoomId;
use crate::chat::parser::{
    DefinitionInfo, DefinitionKind, EnvironmentInfo, ParseContext, ProjectInfo, RunInfo, RunState, Tier,
};
use crate::clients::{AuthClient, MetricsClient, ProjectsClient, TasksClient};

use super::ChatError;

/// How many projects and recent runs per project the parser is given (the newest first).
pub const CONTEXT_PROJECTS: i32 = 200;
pub const CONTEXT_RUNS: i32 = 50;

/// Who calls: the asker's bearer token and the request id, forwarded on every call.
#[derive(Clone, Debug)]
pub struct CallAs {
    pub token: String,
    pub request_id: String,
}

impl CallAs {
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(Duration::from_secs(10));
        let metadata = request.metadata_mut();
        if let Ok(value) = format!("Bearer {}", self.token).parse() {
            metadata.insert("authorization", value);
        }
        if let Ok(value) = self.request_id.parse() {
            metadata.insert("x-request-id", value);
        }
        request
    }
}

/// The typed clients the chat calls.
#[derive(Clone)]
pub struct Platform {
    pub projects: ProjectsClient,
    pub tasks: TasksClient,
    pub metrics: MetricsClient,
    /// For the asker's current role when a four-eyes action runs ([`Platform::current_role`]).
    pub auth: AuthClient,
    /// The gateway's own token, vouching for who asked a four-eyes deploy or rollback ([`Platform::vouch`]).
    pub service_tokens: Arc<ServiceTokens>,
}

impl Platform {
    /// What the parser needs for a message in `room`: every project the asker sees, with its environments, its
    /// definitions and its recent runs.
    pub async fn context(&self, who: &CallAs, room: &RoomId, text: &str) -> Result<ParseContext, ChatError> {
        let listed = self
            .projects
            .clone()
            .list_projects(who.request(projects_pb::ListProjectsRequest {
                page_size: CONTEXT_PROJECTS,
                ..Default::default()
            }))
            .await?
            .into_inner();
        let runs = self.recent_runs(who, None).await?;
        let mut by_project: BTreeMap<String, Vec<RunInfo>> = BTreeMap::new();
        for pipeline in runs {
            if let Some(info) = run_info(&pipeline) {
                by_project.entry(pipeline.project.clone()).or_default().push(info);
            }
        }
        // Definitions matter only for a project the message can target: the room's, or one it names by its slug
        // (the parser never guesses a project), so only those are asked for.
        let words: std::collections::HashSet<&str> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| !w.is_empty())
            .collect();
        let mut projects = Vec::with_capacity(listed.projects.len());
        for project in listed.projects {
            let targeted = room.project_slug() == Some(project.slug.as_str()) || words.contains(project.slug.as_str());
            let definitions = if targeted {
                self.definitions(who, &project.slug).await?
            } else {
                Vec::new()
            };
            projects.push(ProjectInfo {
                environments: project.environments.iter().map(environment_info).collect(),
                definitions,
                recent_runs: by_project.remove(&project.slug).unwrap_or_default(),
                slug: project.slug,
            });
        }
        Ok(ParseContext {
            room: room.clone(),
            projects,
        })
    }

    /// The slugs of the projects the asker can see (for the room list: no runs, no definitions).
    pub async fn visible_slugs(&self, who: &CallAs) -> Result<Vec<String>, ChatError> {
        Ok(self
            .projects
            .clone()
            .list_projects(who.request(projects_pb::ListProjectsRequest {
                page_size: CONTEXT_PROJECTS,
                ..Default::default()
            }))
            .await?
            .into_inner()
            .projects
            .into_iter()
            .map(|p| p.slug)
            .collect())
    }

    /// A project's pipeline definitions (name and kind).
    pub async fn definitions(&self, who: &CallAs, project: &str) -> Result<Vec<DefinitionInfo>, ChatError> {
        let listed = self
            .projects
            .clone()
            .list_definitions(who.request(projects_pb::ListDefinitionsRequest {
                project: project.to_owned(),
            }))
            .await?
            .into_inner();
        Ok(listed
            .definitions
            .into_iter()
            .filter_map(|d| {
                let kind = match projects_pb::DefinitionKind::try_from(d.kind) {
                    Ok(projects_pb::DefinitionKind::Ci) => DefinitionKind::Ci,
                    Ok(projects_pb::DefinitionKind::Deploy) => DefinitionKind::Deploy,
                    _ => return None,
                };
                Some(DefinitionInfo { name: d.name, kind })
            })
            .collect())
    }

    /// Starts a run of a definition (tasks' CreateRun), keyed by the action so a retried call starts it once. With
    /// `asked_by`, the gateway vouches for it (see `four_eyes.rs`).
    pub async fn create_run(
        &self,
        who: &CallAs,
        run: tasks_pb::CreateRunRequest,
    ) -> Result<tasks_pb::Pipeline, ChatError> {
        let vouched = !run.asked_by.is_empty();
        let mut request = who.request(run);
        if vouched {
            self.vouch(&mut request).await?;
        }
        let created = self.tasks.clone().create_run(request).await?.into_inner();
        created
            .pipeline
            .ok_or_else(|| ChatError::internal("tasks answered CreateRun without a pipeline".into()))
    }

    /// Rolls an environment back (tasks' Rollback); the run and the versions it moves between. With `asked_by`, the
    /// gateway vouches for it (see `four_eyes.rs`).
    pub async fn rollback(
        &self,
        who: &CallAs,
        rollback: tasks_pb::RollbackRequest,
    ) -> Result<tasks_pb::RollbackResponse, ChatError> {
        let vouched = !rollback.asked_by.is_empty();
        let mut request = who.request(rollback);
        if vouched {
            self.vouch(&mut request).await?;
        }
        Ok(self.tasks.clone().rollback(request).await?.into_inner())
    }

    /// The newest runs, of one project or of all.
    pub async fn recent_runs(&self, who: &CallAs, project: Option<&str>) -> Result<Vec<tasks_pb::Pipeline>, ChatError> {
        Ok(self
            .tasks
            .clone()
            .list_pipelines(who.request(tasks_pb::ListPipelinesRequest {
                project: project.unwrap_or_default().to_owned(),
                page_size: CONTEXT_RUNS,
                ..Default::default()
            }))
            .await?
            .into_inner()
            .pipelines)
    }

    /// The failed runs, newest first.
    pub async fn failed_runs(&self, who: &CallAs, project: Option<&str>) -> Result<Vec<tasks_pb::Pipeline>, ChatError> {
        Ok(self
            .tasks
            .clone()
            .list_pipelines(who.request(tasks_pb::ListPipelinesRequest {
                project: project.unwrap_or_default().to_owned(),
                status: tasks_pb::PipelineStatus::Failed as i32,
                page_size: 20,
                ..Default::default()
            }))
            .await?
            .into_inner()
            .pipelines)
    }

    pub async fn run(&self, who: &CallAs, project: &str, number: u64) -> Result<tasks_pb::Pipeline, ChatError> {
        Ok(self
            .tasks
            .clone()
            .get_pipeline_by_number(who.request(tasks_pb::GetPipelineByNumberRequest {
                project: project.to_owned(),
                number,
            }))
            .await?
            .into_inner())
    }

    /// The last `lines` lines of a job's current attempt.
    pub async fn log_tail(&self, who: &CallAs, job_id: &str, lines: u32) -> Result<Vec<String>, ChatError> {
        let mut offset = 0;
        let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
        // A log is read in pages; only the tail is kept. Bounded: at most 50 pages (50,000 lines).
        for _ in 0..50 {
            let page = self
                .tasks
                .clone()
                .get_job_log(who.request(tasks_pb::GetJobLogRequest {
                    job_id: job_id.to_owned(),
                    attempt: 0,
                    offset,
                    limit: 1_000,
                }))
                .await?
                .into_inner();
            let got = page.lines.len();
            for line in page.lines {
                tail.push_back(line);
                if tail.len() > lines as usize {
                    tail.pop_front();
                }
            }
            if got < 1_000 {
                break;
            }
            offset += got as u64;
        }
        Ok(tail.into_iter().collect())
    }

    pub async fn project(&self, who: &CallAs, slug: &str) -> Result<projects_pb::Project, ChatError> {
        Ok(self
            .projects
            .clone()
            .get_project(who.request(projects_pb::GetProjectRequest {
                project: slug.to_owned(),
            }))
            .await?
            .into_inner())
    }

    pub async fn deployments(
        &self,
        who: &CallAs,
        project: &str,
        environment: Option<&str>,
    ) -> Result<Vec<projects_pb::Deployment>, ChatError> {
        Ok(self
            .projects
            .clone()
            .list_deployments(who.request(projects_pb::ListDeploymentsRequest {
                project: project.to_owned(),
                environment: environment.unwrap_or_default().to_owned(),
                page_size: 10,
                page_token: String::new(),
            }))
            .await?
            .into_inner()
            .deployments)
    }

    pub async fn dora(
        &self,
        who: &CallAs,
        project: Option<&str>,
        environment: Option<&str>,
        days: u16,
    ) -> Result<metrics_pb::DoraReport, ChatError> {
        let to = chrono::Utc::now();
        let from = to - chrono::TimeDelta::days(i64::from(days));
        let stamp = |at: chrono::DateTime<chrono::Utc>| prost_types::Timestamp {
            seconds: at.timestamp(),
            nanos: 0,
        };
        Ok(self
            .metrics
            .clone()
            .get_dora(who.request(metrics_pb::GetDoraRequest {
                project: project.unwrap_or_default().to_owned(),
                environment: environment.unwrap_or_default().to_owned(),
                from: Some(stamp(from)),
                to: Some(stamp(to)),
            }))
            .await?
            .into_inner())
    }

    pub async fn cancel(&self, who: &CallAs, pipeline_id: &str) -> Result<tasks_pb::Pipeline, ChatError> {
        Ok(self
            .tasks
            .clone()
            .cancel_pipeline(who.request(tasks_pb::CancelPipelineRequest {
                id: pipeline_id.to_owned(),
            }))
            .await?
            .into_inner())
    }

    pub async fn retry_job(&self, who: &CallAs, job_id: &str) -> Result<tasks_pb::Pipeline, ChatError> {
        Ok(self
            .tasks
            .clone()
            .retry_job(who.request(tasks_pb::RetryJobRequest {
                job_id: job_id.to_owned(),
            }))
            .await?
            .into_inner())
    }

    pub async fn approve_job(&self, who: &CallAs, job_id: &str) -> Result<tasks_pb::Pipeline, ChatError> {
        Ok(self
            .tasks
            .clone()
            .approve_job(who.request(tasks_pb::ApproveJobRequest {
                job_id: job_id.to_owned(),
            }))
            .await?
            .into_inner())
    }
}

pub(crate) fn environment_info(environment: &projects_pb::Environment) -> EnvironmentInfo {
    EnvironmentInfo {
        name: environment.name.clone(),
        tier: match projects_pb::Tier::try_from(environment.tier) {
            Ok(projects_pb::Tier::Development) => Tier::Development,
            Ok(projects_pb::Tier::Staging) => Tier::Staging,
            Ok(projects_pb::Tier::Production) => Tier::Production,
            _ => Tier::Unspecified,
        },
        protected: environment.protected,
    }
}

/// A run as the parser knows it; `None` for a run without a number (none since numbers were backfilled).
fn run_info(pipeline: &tasks_pb::Pipeline) -> Option<RunInfo> {
    if pipeline.number == 0 {
        return None;
    }
    Some(RunInfo {
        number: pipeline.number,
        definition: (!pipeline.definition.is_empty()).then(|| pipeline.definition.clone()),
        state: run_state(pipeline.status),
        environment: (!pipeline.environment.is_empty()).then(|| pipeline.environment.clone()),
    })
}

pub(crate) fn run_state(status: i32) -> RunState {
    match tasks_pb::PipelineStatus::try_from(status) {
        Ok(tasks_pb::PipelineStatus::Running) => RunState::Running,
        Ok(tasks_pb::PipelineStatus::WaitingApproval) => RunState::WaitingApproval,
        Ok(tasks_pb::PipelineStatus::Succeeded) => RunState::Succeeded,
        Ok(tasks_pb::PipelineStatus::Failed) => RunState::Failed,
        Ok(tasks_pb::PipelineStatus::Cancelled) => RunState::Cancelled,
        _ => RunState::Queued,
    }
}

pub(crate) fn status_word(status: i32) -> &'static str {
    match tasks_pb::PipelineStatus::try_from(status) {
        Ok(tasks_pb::PipelineStatus::Queued) => "queued",
        Ok(tasks_pb::PipelineStatus::Running) => "running",
        Ok(tasks_pb::PipelineStatus::WaitingApproval) => "waiting_approval",
        Ok(tasks_pb::PipelineStatus::Succeeded) => "succeeded",
        Ok(tasks_pb::PipelineStatus::Failed) => "failed",
        Ok(tasks_pb::PipelineStatus::Cancelled) => "cancelled",
        _ => "unknown",
    }
}
