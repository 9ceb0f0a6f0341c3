//! The deployment history: recorded (idempotently, by id) by the tasks service or an admin, listed newest first, and
//! folded into each environment's state (current version = its latest succeeded deployment).

use chrono::{DateTime, SubsecRound, Utc};

use devopstrack_platform::auth::{Principal, Role};

use super::releases::{ensure_active, parse_optional_sha};
use super::{ProjectView, ProjectsApp, require, short_text, store_err};
use crate::domain::{DeploymentRecord, DeploymentStatus, EnvName, TimeCursor, VersionLabel, parse_deployment_id};
use crate::error::Error;
use crate::pagination::{decode_time_token, encode_time_token, page_size};

/// RecordDeployment as received. `project` is the project's id or slug; an empty `triggered_by` means the caller.
#[derive(Debug, Clone, Default)]
pub struct NewDeployment {
    pub id: String,
    pub project: String,
    pub environment: String,
    pub version: String,
    pub commit_sha: String,
    pub status: Option<DeploymentStatus>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub triggered_by: String,
    pub pipeline_id: String,
    /// The deployment was a rollback.
    pub rollback: bool,
}

#[derive(Debug)]
pub struct DeploymentPage {
    pub deployments: Vec<DeploymentRecord>,
    pub next_page_token: Option<String>,
}

impl ProjectsApp {
    /// Idempotent by id: `(deployment, true)` when stored now, `(the stored one, false)` when the id was recorded
    /// before (nothing changes). Only the `service` role or an admin may record.
    #[tracing::instrument(skip_all, fields(deployment_id = %new.id, project = %new.project))]
    pub async fn record_deployment(
        &self,
        principal: &Principal,
        new: NewDeployment,
    ) -> Result<(DeploymentRecord, bool), Error> {
        if principal.role != Role::Service && !principal.role.at_least(Role::Admin) {
            return Err(Error::PermissionDenied(format!(
                "recording deployments needs the service or admin role; you are {}",
                principal.role
            )));
        }
        let id = parse_deployment_id(&new.id).map_err(|e| Error::invalid("deployment.id", e))?;
        let environment = EnvName::parse(&new.environment).map_err(|e| Error::invalid("deployment.environment", e))?;
        let version = VersionLabel::parse(&new.version).map_err(|e| Error::invalid("deployment.version", e))?;
        let commit_sha = parse_optional_sha("deployment.commitSha", &new.commit_sha)?;
        let status = new
            .status
            .ok_or_else(|| Error::invalid("deployment.status", "is required: succeeded, failed or rolled_back"))?;
        let started_at = new
            .started_at
            .ok_or_else(|| Error::invalid("deployment.startedAt", "is required"))?
            .trunc_subsecs(6);
        let finished_at = new
            .finished_at
            .ok_or_else(|| Error::invalid("deployment.finishedAt", "is required"))?
            .trunc_subsecs(6);
        if finished_at < started_at {
            return Err(Error::invalid("deployment.finishedAt", "must not be before startedAt"));
        }
        let triggered_by = match short_text("deployment.triggeredBy", &new.triggered_by, 200)? {
            who if who.is_empty() => principal.subject.clone(),
            who => who,
        };
        let pipeline_id = short_text("deployment.pipelineId", &new.pipeline_id, 100)?;

        let project = self.project("deployment.projectId", &new.project).await?;
        ensure_active("deployment.projectId", &project)?;
        if !project.environments.iter().any(|e| e.name == environment) {
            return Err(Error::NotFound(format!(
                "deployment.environment: project {} has no environment {environment}",
                project.slug
            )));
        }
        let deployment = DeploymentRecord {
            id,
            project_id: project.id,
            environment,
            version,
            commit_sha,
            status,
            started_at,
            finished_at,
            triggered_by,
            pipeline_id,
            rollback: new.rollback,
        };
        let (stored, created) = self
            .store
            .record_deployment(&deployment)
            .await
            .map_err(store_err("recording a deployment"))?;
        if created {
            tracing::info!(status = status.as_str(), environment = %stored.environment, "deployment recorded");
        }
        Ok((stored, created))
    }

    /// Newest first (by finished time); one environment or all.
    pub async fn list_deployments(
        &self,
        principal: &Principal,
        project: &str,
        environment: &str,
        size: i32,
        token: &str,
    ) -> Result<DeploymentPage, Error> {
        require(principal, Role::Viewer)?;
        let limit = page_size(size)?;
        let environment = match environment {
            "" => None,
            name => Some(EnvName::parse(name).map_err(|e| Error::invalid("environment", e))?),
        };
        let project = self.project("project", project).await?;
        let scope = format!(
            "deployments:{}:{}",
            project.id,
            environment.as_ref().map(EnvName::as_str).unwrap_or_default()
        );
        let after = decode_time_token(token, &scope)?;
        let mut deployments = self
            .store
            .list_deployments(project.id, environment.as_ref(), after.as_ref(), limit + 1)
            .await
            .map_err(store_err("listing deployments"))?;
        let next_page_token = if deployments.len() > limit as usize {
            deployments.truncate(limit as usize);
            deployments.last().map(|d| {
                encode_time_token(
                    &scope,
                    &TimeCursor {
                        at: d.finished_at,
                        id: d.id.clone(),
                    },
                )
            })
        } else {
            None
        };
        Ok(DeploymentPage {
            deployments,
            next_page_token,
        })
    }

    /// Every environment of the project with its current version and last deployment.
    pub async fn environment_states(&self, principal: &Principal, project: &str) -> Result<ProjectView, Error> {
        require(principal, Role::Viewer)?;
        self.cached_view("project", project).await
    }
}
