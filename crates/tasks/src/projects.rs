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

/// What projects says of a GitHub delivery's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Valid {
        project_id: String,
        slug: String,
    },
    InvalidSignature,
    /// No such project, or no webhook secret set for it.
    NotConfigured,
}

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

    /// This service's bearer token (its cached service token), for use-cases run as the service.
    pub async fn service_bearer(&self) -> Result<String, DeliveryError> {
        let authorization = self.tokens.authorization().await?;
        let value = authorization.to_str().unwrap_or_default();
        Ok(value.strip_prefix("Bearer ").unwrap_or(value).to_owned())
    }

    /// Asks projects whether a GitHub delivery is signed with its project's webhook secret (verification only: the
    /// secret never leaves projects, and nothing is recorded there). As this service.
    pub async fn verify_github_webhook(
        &self,
        project: &str,
        delivery_id: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<Verification, Error> {
        let message = pb::VerifyGithubWebhookRequest {
            project: project.to_owned(),
            delivery_id: delivery_id.to_owned(),
            signature_header: signature.to_owned(),
            payload: body.to_vec(),
            event: String::new(),
        };
        let unavailable = |why: String| Error::Unavailable(format!("webhook deliveries cannot be verified now: {why}"));
        for attempt in 0..2 {
            let authorization = self
                .tokens
                .authorization()
                .await
                .map_err(|e| unavailable(e.to_string()))?;
            let mut request = tonic::Request::new(message.clone());
            request.metadata_mut().insert("authorization", authorization);
            let answer = match self.projects.clone().verify_github_webhook(request).await {
                Ok(answer) => answer.into_inner(),
                Err(s) if s.code() == tonic::Code::Unauthenticated && attempt == 0 => {
                    self.tokens.forget().await;
                    continue;
                }
                Err(s) if s.code() == tonic::Code::InvalidArgument => {
                    return Err(Error::InvalidInput(s.message().to_owned()));
                }
                Err(s) => {
                    tracing::warn!(code = ?s.code(), message = s.message(), "VerifyGithubWebhook failed");
                    return Err(unavailable(format!("projects: {:?} {}", s.code(), s.message())));
                }
            };
            return match pb::WebhookVerification::try_from(answer.result) {
                // DUPLICATE came from projects releases that also deduplicated; the signature was valid.
                Ok(pb::WebhookVerification::Valid | pb::WebhookVerification::Duplicate) => Ok(Verification::Valid {
                    project_id: answer.project_id,
                    slug: answer.project_slug,
                }),
                Ok(pb::WebhookVerification::InvalidSignature) => Ok(Verification::InvalidSignature),
                Ok(pb::WebhookVerification::NotConfigured) => Ok(Verification::NotConfigured),
                Ok(pb::WebhookVerification::Unspecified) | Err(_) => Err(Error::Internal(anyhow::anyhow!(
                    "VerifyGithubWebhook answered result {}",
                    answer.result
                ))),
            };
        }
        Err(unavailable("projects refuses this service's token".into()))
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
