//! The tasks service's view of the projects and auth services: which project and environment a pipeline is for
//! (asked with the caller's own token, so a caller sees only what projects lets them see), and recording finished
//! deploys (as the service, with a token from [`ServiceTokens`]). Pipeline definitions, releases and the deployment
//! history, read as the caller for runs from definitions and rollbacks, are in `projects/catalog.rs`.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use secrecy::SecretString;

use devopstrack_peers::clients::{self, AuthClient, ProjectsClient, bearer};
use devopstrack_peers::{DeliveryError, ServiceTokens};
use devopstrack_platform::grpc::{ClientSettings, retry_idempotent};
use devopstrack_proto::projects::v1 as pb;

use crate::domain::Tier;
use crate::error::Error;

mod catalog;

pub use catalog::{PastDeployment, RunDefinition, RunKind};

/// What a pipeline needs to know of its project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectInfo {
    pub slug: String,
    /// The environment's tier and `protected` flag, when one was asked for.
    pub environment: Option<(Tier, bool)>,
}

/// The answers of `RecordDeployment` that no retry can change (the entry is dropped, logged).
const RECORD_DEPLOYMENT_FINAL: &[tonic::Code] = &[
    tonic::Code::InvalidArgument,
    tonic::Code::NotFound,
    tonic::Code::FailedPrecondition,
];

pub struct Projects {
    projects: ProjectsClient,
    auth: AuthClient,
    tokens: Arc<ServiceTokens>,
}

impl Projects {
    pub fn new(
        projects_url: &str,
        auth_url: &str,
        timeout: Duration,
        client_id: &str,
        client_secret: Option<SecretString>,
    ) -> anyhow::Result<Self> {
        let settings = |url: &str| ClientSettings {
            timeout,
            ..ClientSettings::new(url)
        };
        let auth = clients::auth(&settings(auth_url))?;
        Ok(Self {
            projects: clients::projects(&settings(projects_url))?,
            tokens: Arc::new(ServiceTokens::new(auth.clone(), "tasks", client_id, client_secret)),
            auth,
        })
    }

    pub fn auth(&self) -> AuthClient {
        self.auth.clone()
    }

    /// The service-token cache, for other peers called as this service.
    pub fn service_tokens(&self) -> Arc<ServiceTokens> {
        self.tokens.clone()
    }

    /// The project (by slug or id) and, if named, its environment, asked as the caller (`bearer` is their token).
    pub async fn lookup(
        &self,
        bearer_token: &str,
        project: &str,
        environment: Option<&str>,
    ) -> Result<ProjectInfo, Error> {
        let authorization = bearer(bearer_token)
            .map_err(|_| Error::Unauthenticated("the access token is not valid metadata".into()))?;
        let found = retry_idempotent(|| {
            let mut client = self.projects.clone();
            let mut request = tonic::Request::new(pb::GetProjectRequest {
                project: project.to_owned(),
            });
            request.metadata_mut().insert("authorization", authorization.clone());
            async move { client.get_project(request).await }
        })
        .await
        .map_err(|s| match s.code() {
            tonic::Code::NotFound => Error::NotFound(format!("project: {project:?} does not exist")),
            tonic::Code::InvalidArgument => Error::invalid("project", s.message()),
            tonic::Code::PermissionDenied => Error::PermissionDenied(s.message().to_owned()),
            tonic::Code::Unauthenticated => Error::Unauthenticated(s.message().to_owned()),
            _ => Error::Unavailable(format!("projects service: {}", s.message())),
        })?
        .into_inner();
        if found.archived_at.is_some() {
            return Err(Error::FailedPrecondition(format!(
                "project: {} is archived",
                found.slug
            )));
        }
        let environment = match environment {
            None => None,
            Some(name) => {
                let env = found.environments.iter().find(|e| e.name == name).ok_or_else(|| {
                    Error::NotFound(format!(
                        "environment: project {} has no environment {name:?}",
                        found.slug
                    ))
                })?;
                let tier = match pb::Tier::try_from(env.tier) {
                    Ok(pb::Tier::Production) => Tier::Production,
                    Ok(pb::Tier::Staging) => Tier::Staging,
                    Ok(pb::Tier::Development | pb::Tier::Unspecified) | Err(_) => Tier::Development,
                };
                Some((tier, env.protected))
            }
        };
        Ok(ProjectInfo {
            slug: found.slug,
            environment,
        })
    }

    /// Delivers one encoded `RecordDeploymentRequest`. Idempotent on projects' side (by deployment id).
    pub async fn record_deployment(&self, payload: &[u8]) -> Result<(), DeliveryError> {
        let request = pb::RecordDeploymentRequest::decode(payload)
            .map_err(|e| DeliveryError::Rejected(format!("undecodable outbox entry: {e}")))?;
        let authorization = self.tokens.authorization().await?;
        let mut call = tonic::Request::new(request);
        call.metadata_mut().insert("authorization", authorization);
        match self.projects.clone().record_deployment(call).await {
            Ok(_) => Ok(()),
            Err(s) => Err(DeliveryError::from_status("projects", &s, RECORD_DEPLOYMENT_FINAL, &self.tokens).await),
        }
    }
}
