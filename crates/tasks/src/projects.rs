//! The tasks service's view of the projects and auth services: which project and environment a pipeline is for
//! (asked with the caller's own token, so a caller sees only what projects lets them see), and recording finished
//! deploys (with a service token from auth's client-credentials grant, cached until shortly before it expires).

use std::time::{Duration, Instant};

use prost::Message;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use devopstrack_platform::grpc::{ClientSettings, TracePropagation, lazy_channel, retry_idempotent};
use devopstrack_proto::auth::v1 as auth_pb;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;
use devopstrack_proto::projects::v1 as pb;
use devopstrack_proto::projects::v1::project_service_client::ProjectServiceClient;

use crate::domain::Tier;
use crate::error::Error;

pub type AuthClient = AuthServiceClient<InterceptedService<Channel, TracePropagation>>;
type ProjectsClient = ProjectServiceClient<InterceptedService<Channel, TracePropagation>>;

/// A service token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// What a pipeline needs to know of its project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectInfo {
    pub slug: String,
    /// The environment's tier and `protected` flag, when one was asked for.
    pub environment: Option<(Tier, bool)>,
}

/// Why a deployment could not be recorded now.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later (projects or auth down, no credentials configured yet).
    #[error("{0}")]
    Retry(String),
    /// Projects refused it for good (the environment was deleted, the payload is invalid).
    #[error("{0}")]
    Rejected(String),
}

pub struct Projects {
    projects: ProjectsClient,
    auth: AuthClient,
    client_id: String,
    client_secret: Option<SecretString>,
    token: Mutex<Option<(String, Instant)>>,
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
        Ok(Self {
            projects: ProjectServiceClient::with_interceptor(lazy_channel(&settings(projects_url))?, TracePropagation),
            auth: AuthServiceClient::with_interceptor(lazy_channel(&settings(auth_url))?, TracePropagation),
            client_id: client_id.to_owned(),
            client_secret,
            token: Mutex::new(None),
        })
    }

    pub fn auth(&self) -> AuthClient {
        self.auth.clone()
    }

    /// The project (by slug or id) and, if named, its environment, asked as the caller (`bearer` is their token).
    pub async fn lookup(&self, bearer: &str, project: &str, environment: Option<&str>) -> Result<ProjectInfo, Error> {
        let authorization = MetadataValue::try_from(format!("Bearer {bearer}"))
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
        let token = self.service_token().await?;
        let authorization = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| DeliveryError::Retry("service token is not valid metadata".into()))?;
        let mut call = tonic::Request::new(request);
        call.metadata_mut().insert("authorization", authorization);
        match self.projects.clone().record_deployment(call).await {
            Ok(_) => Ok(()),
            Err(s) => match s.code() {
                tonic::Code::Unauthenticated => {
                    *self.token.lock().await = None;
                    Err(DeliveryError::Retry(format!("projects: {}", s.message())))
                }
                tonic::Code::InvalidArgument | tonic::Code::NotFound | tonic::Code::FailedPrecondition => Err(
                    DeliveryError::Rejected(format!("projects: {:?} {}", s.code(), s.message())),
                ),
                _ => Err(DeliveryError::Retry(format!(
                    "projects: {:?} {}",
                    s.code(),
                    s.message()
                ))),
            },
        }
    }

    async fn service_token(&self) -> Result<String, DeliveryError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let secret = self.client_secret.as_ref().ok_or_else(|| {
            DeliveryError::Retry("no client secret configured (DEVOPSTRACK_TASKS__CLIENT_SECRET)".into())
        })?;
        let response = self
            .auth
            .clone()
            .issue_service_token(auth_pb::IssueServiceTokenRequest {
                client_id: self.client_id.clone(),
                client_secret: secret.expose_secret().to_owned(),
            })
            .await
            .map_err(|s| DeliveryError::Retry(format!("auth IssueServiceToken: {:?} {}", s.code(), s.message())))?
            .into_inner();
        let lifetime = Duration::from_secs(u64::try_from(response.expires_in).unwrap_or(0));
        let until = Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN);
        *cached = Some((response.access_token.clone(), until));
        Ok(response.access_token)
    }
}
