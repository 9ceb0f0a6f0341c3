//! This service's own identity towards its peers: service tokens from auth's client-credentials grant
//! (`IssueServiceToken`), cached until shortly before they expire and shared by every call made as the service
//! (projects' `RecordDeployment`, metrics' `Record*`). A peer answering UNAUTHENTICATED makes the next call fetch a
//! new token ([`ServiceTokens::forget`]).

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use devopstrack_platform::grpc::TracePropagation;
use devopstrack_proto::auth::v1 as auth_pb;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;

pub type AuthClient = AuthServiceClient<InterceptedService<Channel, TracePropagation>>;

/// A service token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// Why an outbox delivery did not happen now.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later (the peer or auth down, no credentials configured yet).
    #[error("{0}")]
    Retry(String),
    /// The peer refused it for good (the payload is invalid, what it names is gone).
    #[error("{0}")]
    Rejected(String),
}

pub struct ServiceTokens {
    auth: AuthClient,
    client_id: String,
    client_secret: Option<SecretString>,
    cached: Mutex<Option<(String, Instant)>>,
}

impl ServiceTokens {
    pub fn new(auth: AuthClient, client_id: &str, client_secret: Option<SecretString>) -> Self {
        Self {
            auth,
            client_id: client_id.to_owned(),
            client_secret,
            cached: Mutex::new(None),
        }
    }

    /// `Bearer <token>` for the `authorization` metadata of a call made as this service.
    pub async fn authorization(&self) -> Result<MetadataValue<Ascii>, DeliveryError> {
        let token = self.token().await?;
        MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| DeliveryError::Retry("service token is not valid metadata".into()))
    }

    /// Drops the cached token (a peer refused it).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    async fn token(&self) -> Result<String, DeliveryError> {
        let mut cached = self.cached.lock().await;
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
