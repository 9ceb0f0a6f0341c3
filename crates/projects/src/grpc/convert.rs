//! Generated types ⇄ use-case inputs and records. Enum numbers and timestamps are checked here (an unknown number is
//! INVALID_ARGUMENT naming the field); everything else is validated by the use-cases.

use chrono::{DateTime, Utc};
use devopstrack_proto::projects::v1 as pb;

use crate::app::{
    EnvironmentInput, GithubIntegrationView, NewDeployment, NewProject, ProjectView, RepositoryInput,
    WebhookVerification,
};
use crate::domain::{
    DefinitionKind, DeploymentRecord, DeploymentStatus, EnvironmentConfig, EnvironmentState, Provider, ReleaseRecord,
    Repository, Tier, WebhookVerdict,
};
use crate::error::Error;

pub fn new_project(request: pb::CreateProjectRequest) -> Result<NewProject, Error> {
    let pb::CreateProjectRequest {
        slug,
        name,
        description,
        tags,
        owner,
        repositories,
        environments,
    } = request;
    let repositories = repositories
        .into_iter()
        .enumerate()
        .map(|(i, r)| repository_input(&format!("repositories[{i}]"), r))
        .collect::<Result<_, _>>()?;
    let environments = environments
        .into_iter()
        .enumerate()
        .map(|(i, e)| environment_input(&format!("environments[{i}]"), e))
        .collect::<Result<_, _>>()?;
    Ok(NewProject {
        slug,
        name,
        description,
        tags,
        owner,
        repositories,
        environments,
    })
}

pub fn repository_input(field: &str, repository: pb::Repository) -> Result<RepositoryInput, Error> {
    let provider = match pb::Provider::try_from(repository.provider) {
        Ok(pb::Provider::Unspecified) => None,
        Ok(pb::Provider::Github) => Some(Provider::Github),
        Ok(pb::Provider::Gitlab) => Some(Provider::Gitlab),
        Ok(pb::Provider::Other) => Some(Provider::Other),
        Err(_) => {
            return Err(Error::invalid(
                &format!("{field}.provider"),
                format!("unknown provider {}", repository.provider),
            ));
        }
    };
    Ok(RepositoryInput {
        url: repository.url,
        provider,
        default_branch: repository.default_branch,
    })
}

/// The read-only fields (`current_version`, `last_deployment`) are ignored.
pub fn environment_input(field: &str, environment: pb::Environment) -> Result<EnvironmentInput, Error> {
    let tier = match pb::Tier::try_from(environment.tier) {
        Ok(pb::Tier::Unspecified) => None,
        Ok(pb::Tier::Development) => Some(Tier::Development),
        Ok(pb::Tier::Staging) => Some(Tier::Staging),
        Ok(pb::Tier::Production) => Some(Tier::Production),
        Err(_) => {
            return Err(Error::invalid(
                &format!("{field}.tier"),
                format!("unknown tier {}", environment.tier),
            ));
        }
    };
    Ok(EnvironmentInput {
        name: environment.name,
        tier,
        url: environment.url,
        protected: environment.protected,
    })
}

pub fn new_deployment(d: pb::Deployment) -> Result<NewDeployment, Error> {
    let status = match pb::DeploymentStatus::try_from(d.status) {
        Ok(pb::DeploymentStatus::Unspecified) => None,
        Ok(pb::DeploymentStatus::Succeeded) => Some(DeploymentStatus::Succeeded),
        Ok(pb::DeploymentStatus::Failed) => Some(DeploymentStatus::Failed),
        Ok(pb::DeploymentStatus::RolledBack) => Some(DeploymentStatus::RolledBack),
        Err(_) => {
            return Err(Error::invalid(
                "deployment.status",
                format!("unknown status {}", d.status),
            ));
        }
    };
    Ok(NewDeployment {
        id: d.id,
        project: d.project_id,
        environment: d.environment,
        version: d.version,
        commit_sha: d.commit_sha,
        status,
        started_at: d
            .started_at
            .map(|t| from_timestamp("deployment.startedAt", t))
            .transpose()?,
        finished_at: d
            .finished_at
            .map(|t| from_timestamp("deployment.finishedAt", t))
            .transpose()?,
        triggered_by: d.triggered_by,
        pipeline_id: d.pipeline_id,
        rollback: d.rollback,
    })
}

fn from_timestamp(field: &str, t: prost_types::Timestamp) -> Result<DateTime<Utc>, Error> {
    u32::try_from(t.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(t.seconds, nanos))
        .ok_or_else(|| Error::invalid(field, "is not a valid timestamp"))
}

pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

fn provider(p: Provider) -> pb::Provider {
    match p {
        Provider::Github => pb::Provider::Github,
        Provider::Gitlab => pb::Provider::Gitlab,
        Provider::Other => pb::Provider::Other,
    }
}

fn tier(t: Tier) -> pb::Tier {
    match t {
        Tier::Development => pb::Tier::Development,
        Tier::Staging => pb::Tier::Staging,
        Tier::Production => pb::Tier::Production,
    }
}

fn status(s: DeploymentStatus) -> pb::DeploymentStatus {
    match s {
        DeploymentStatus::Succeeded => pb::DeploymentStatus::Succeeded,
        DeploymentStatus::Failed => pb::DeploymentStatus::Failed,
        DeploymentStatus::RolledBack => pb::DeploymentStatus::RolledBack,
    }
}

fn repository(r: Repository) -> pb::Repository {
    pb::Repository {
        url: r.url.to_string(),
        provider: provider(r.provider) as i32,
        default_branch: r.default_branch,
    }
}

fn environment(config: &EnvironmentConfig, state: Option<&EnvironmentState>) -> pb::Environment {
    let current = state.and_then(|s| s.current.as_ref());
    let last = state.and_then(|s| s.last.clone());
    pb::Environment {
        name: config.name.to_string(),
        tier: tier(config.tier) as i32,
        url: config.url.clone(),
        protected: config.protected,
        current_version: current.map(|d| d.version.to_string()).unwrap_or_default(),
        last_deployment: last.map(deployment),
    }
}

pub fn project(view: ProjectView) -> pb::Project {
    let environments = view
        .environments()
        .map(|(config, state)| environment(config, state))
        .collect();
    let p = view.project;
    pb::Project {
        id: p.id.to_string(),
        slug: p.slug.to_string(),
        name: p.name.to_string(),
        description: p.description,
        tags: p.tags.into_iter().map(|t| t.to_string()).collect(),
        owner: p.owner,
        repositories: p.repositories.into_iter().map(repository).collect(),
        environments,
        version: p.version,
        created_at: Some(timestamp(p.created_at)),
        updated_at: Some(timestamp(p.updated_at)),
        archived_at: p.archived_at.map(timestamp),
    }
}

pub fn release(r: ReleaseRecord) -> pb::Release {
    pb::Release {
        id: r.id.to_string(),
        project_id: r.project_id.to_string(),
        version: r.version.to_string(),
        commit_sha: r.commit_sha.map(|c| c.to_string()).unwrap_or_default(),
        notes: r.notes,
        created_by: r.created_by,
        created_at: Some(timestamp(r.created_at)),
    }
}

pub fn deployment(d: DeploymentRecord) -> pb::Deployment {
    pb::Deployment {
        id: d.id,
        project_id: d.project_id.to_string(),
        environment: d.environment.to_string(),
        version: d.version.to_string(),
        commit_sha: d.commit_sha.map(|c| c.to_string()).unwrap_or_default(),
        status: status(d.status) as i32,
        started_at: Some(timestamp(d.started_at)),
        finished_at: Some(timestamp(d.finished_at)),
        triggered_by: d.triggered_by,
        pipeline_id: d.pipeline_id,
        rollback: d.rollback,
    }
}

pub fn github_integration(view: GithubIntegrationView) -> pb::GithubIntegration {
    pb::GithubIntegration {
        project_id: view.project_id.to_string(),
        project_slug: view.project_slug.as_str().to_owned(),
        configured: view.configured,
        updated_at: view.updated_at.map(timestamp),
    }
}

pub fn webhook_verification(verification: WebhookVerification) -> pb::VerifyGithubWebhookResponse {
    let result = match verification.verdict {
        WebhookVerdict::Valid => pb::WebhookVerification::Valid,
        WebhookVerdict::InvalidSignature => pb::WebhookVerification::InvalidSignature,
        WebhookVerdict::NotConfigured => pb::WebhookVerification::NotConfigured,
    };
    let (project_id, project_slug) = verification
        .project
        .map(|(id, slug)| (id.to_string(), slug.as_str().to_owned()))
        .unwrap_or_default();
    pb::VerifyGithubWebhookResponse {
        result: result as i32,
        project_id,
        project_slug,
    }
}

/// A definition kind; unspecified is `None` (the use-case names the missing field).
pub fn from_definition_kind(raw: i32) -> Result<Option<DefinitionKind>, Error> {
    match pb::DefinitionKind::try_from(raw) {
        Ok(pb::DefinitionKind::Unspecified) => Ok(None),
        Ok(pb::DefinitionKind::Ci) => Ok(Some(DefinitionKind::Ci)),
        Ok(pb::DefinitionKind::Deploy) => Ok(Some(DefinitionKind::Deploy)),
        Err(_) => Err(Error::invalid("kind", format!("unknown definition kind {raw}"))),
    }
}
