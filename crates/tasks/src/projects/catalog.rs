//! What runs from definitions and rollbacks read from projects, always as the caller (their token forwarded, so
//! projects applies its own permissions): a pipeline definition, whether a version has a release, and an environment's
//! deployment history. Reads, so retried like any idempotent call.

use devopstrack_pipeline_spec::PipelineInput;
use devopstrack_proto::projects::v1 as pb;
use tonic::metadata::MetadataValue;

use devopstrack_platform::grpc::retry_idempotent;

use super::Projects;
use crate::error::Error;

/// How much deployment history a rollback looks at (newest first): one page of ListDeployments.
pub const HISTORY_PAGE: i32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Ci,
    Deploy,
}

/// A pipeline definition as a run needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDefinition {
    pub name: String,
    pub version: i64,
    pub kind: RunKind,
    pub spec: PipelineInput,
    pub allow_unreleased: bool,
}

/// One entry of an environment's deployment history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastDeployment {
    pub version: String,
    pub succeeded: bool,
    /// Its status says it was rolled back (DEPLOYMENT_STATUS_ROLLED_BACK).
    pub rolled_back: bool,
    /// It was itself a rollback.
    pub rollback: bool,
}

fn as_caller<T>(bearer: &str, message: T) -> Result<tonic::Request<T>, Error> {
    let authorization = MetadataValue::try_from(format!("Bearer {bearer}"))
        .map_err(|_| Error::Unauthenticated("the access token is not valid metadata".into()))?;
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", authorization);
    Ok(request)
}

/// A refusal from projects as this service's error; `not_found` words NOT_FOUND for the caller.
fn refused(s: &tonic::Status, not_found: impl FnOnce() -> Error) -> Error {
    match s.code() {
        tonic::Code::NotFound => not_found(),
        tonic::Code::InvalidArgument => Error::InvalidInput(s.message().to_owned()),
        tonic::Code::PermissionDenied => Error::PermissionDenied(s.message().to_owned()),
        tonic::Code::Unauthenticated => Error::Unauthenticated(s.message().to_owned()),
        _ => Error::Unavailable(format!("projects service: {}", s.message())),
    }
}

impl Projects {
    /// The definition `name` of `project`: NOT_FOUND naming `definition` when the project has none of that name.
    pub async fn definition(&self, bearer: &str, project: &str, name: &str) -> Result<RunDefinition, Error> {
        let message = pb::GetDefinitionRequest {
            project: project.to_owned(),
            name: name.to_owned(),
        };
        let found = retry_idempotent(|| {
            let mut client = self.projects.clone();
            let request = as_caller(bearer, message.clone());
            async move {
                match request {
                    Ok(request) => client.get_definition(request).await,
                    Err(e) => Err(tonic::Status::unauthenticated(e.to_string())),
                }
            }
        })
        .await
        .map_err(|s| refused(&s, || Error::NotFound(format!("definition: {}", s.message()))))?
        .into_inner();
        let kind = match pb::DefinitionKind::try_from(found.kind) {
            Ok(pb::DefinitionKind::Deploy) => RunKind::Deploy,
            Ok(pb::DefinitionKind::Ci) => RunKind::Ci,
            Ok(pb::DefinitionKind::Unspecified) | Err(_) => {
                return Err(Error::Unavailable(format!(
                    "projects service: definition {name} has an unknown kind {}",
                    found.kind
                )));
            }
        };
        let spec = serde_json::from_str(&found.spec_json).map_err(|e| {
            Error::Unavailable(format!(
                "projects service: definition {name} has an unreadable spec: {e}"
            ))
        })?;
        Ok(RunDefinition {
            name: found.name,
            version: found.version,
            kind,
            spec,
            allow_unreleased: found.allow_unreleased,
        })
    }

    /// Whether `project` has a release `version`.
    pub async fn release_exists(&self, bearer: &str, project: &str, version: &str) -> Result<bool, Error> {
        let message = pb::GetReleaseRequest {
            project: project.to_owned(),
            version: version.to_owned(),
        };
        let answer = retry_idempotent(|| {
            let mut client = self.projects.clone();
            let request = as_caller(bearer, message.clone());
            async move {
                match request {
                    Ok(request) => client.get_release(request).await,
                    Err(e) => Err(tonic::Status::unauthenticated(e.to_string())),
                }
            }
        })
        .await;
        match answer {
            Ok(_) => Ok(true),
            Err(s) if s.code() == tonic::Code::NotFound && s.message().starts_with("version:") => Ok(false),
            Err(s) => Err(refused(&s, || Error::NotFound(format!("project: {}", s.message())))),
        }
    }

    /// The environment's deployment history, newest first (at most [`HISTORY_PAGE`] entries).
    pub async fn deployments(
        &self,
        bearer: &str,
        project: &str,
        environment: &str,
    ) -> Result<Vec<PastDeployment>, Error> {
        let message = pb::ListDeploymentsRequest {
            project: project.to_owned(),
            environment: environment.to_owned(),
            page_size: HISTORY_PAGE,
            page_token: String::new(),
        };
        let page = retry_idempotent(|| {
            let mut client = self.projects.clone();
            let request = as_caller(bearer, message.clone());
            async move {
                match request {
                    Ok(request) => client.list_deployments(request).await,
                    Err(e) => Err(tonic::Status::unauthenticated(e.to_string())),
                }
            }
        })
        .await
        .map_err(|s| refused(&s, || Error::NotFound(format!("project: {}", s.message()))))?
        .into_inner();
        Ok(page
            .deployments
            .into_iter()
            .map(|d| {
                let status = pb::DeploymentStatus::try_from(d.status);
                PastDeployment {
                    version: d.version,
                    succeeded: status == Ok(pb::DeploymentStatus::Succeeded),
                    rolled_back: status == Ok(pb::DeploymentStatus::RolledBack),
                    rollback: d.rollback,
                }
            })
            .collect())
    }
}
