//! This service's own identity towards its peers: `service` tokens from auth's client-credentials grant
//! (`IssueServiceToken` with `DEVOPSTRACK_<SERVICE>__CLIENT_ID` / `__CLIENT_SECRET`), cached until [`MARGIN`] before
//! they expire and shared by every call made as the service. A peer answering UNAUTHENTICATED makes the next call
//! fetch a new token ([`ServiceTokens::forget`]). Calls made for a user carry the user's own token instead.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tonic::metadata::{Ascii, MetadataValue};

use devopstrack_platform::config::env_var;
use devopstrack_proto::auth::v1 as auth_pb;

use crate::clients::{AuthClient, bearer};

/// A token is renewed this long before it expires.
pub const MARGIN: Duration = Duration::from_secs(60);

/// Asks auth for a token (`IssueServiceToken`).
pub type TokenIssuer = Arc<
    dyn Fn(auth_pb::IssueServiceTokenRequest) -> BoxFuture<'static, Result<auth_pb::TokenResponse, tonic::Status>>
        + Send
        + Sync,
>;

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceTokenError {
    /// No client secret is configured: calls made as this service cannot work until one is.
    #[error("no client secret configured: set {variable} (auth's {auth_variable})")]
    NotConfigured { variable: String, auth_variable: String },
    /// Auth is down or refused the credentials; worth trying again later.
    #[error("auth IssueServiceToken: {0}")]
    Unavailable(String),
}

/// The cache of this service's token. Share one per process (`Arc`).
pub struct ServiceTokens {
    issue: TokenIssuer,
    client_id: String,
    client_secret: Option<SecretString>,
    /// `DEVOPSTRACK_<SERVICE>__CLIENT_SECRET`, named when it is missing.
    secret_variable: String,
    cached: Mutex<Option<(String, Instant)>>,
}

impl ServiceTokens {
    /// Tokens of the client `client_id` of `service` (`tasks`, `gateway`), issued by `auth`.
    pub fn new(auth: AuthClient, service: &str, client_id: &str, client_secret: Option<SecretString>) -> Self {
        let issue: TokenIssuer = Arc::new(move |request| {
            let mut auth = auth.clone();
            Box::pin(async move { Ok(auth.issue_service_token(request).await?.into_inner()) })
        });
        Self::with_issuer(issue, service, client_id, client_secret)
    }

    /// [`new`](Self::new) with the grant asked of `issue`.
    pub fn with_issuer(
        issue: TokenIssuer,
        service: &str,
        client_id: &str,
        client_secret: Option<SecretString>,
    ) -> Self {
        Self {
            issue,
            client_id: client_id.to_owned(),
            client_secret,
            secret_variable: env_var(service, "client_secret"),
            cached: Mutex::new(None),
        }
    }

    /// Whether a client secret is configured (without one every call made as the service fails).
    pub fn configured(&self) -> bool {
        self.client_secret.is_some()
    }

    /// A valid token: the cached one while it has more than [`MARGIN`] to live, else a new one from auth.
    pub async fn token(&self) -> Result<String, ServiceTokenError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let secret = self
            .client_secret
            .as_ref()
            .ok_or_else(|| ServiceTokenError::NotConfigured {
                variable: self.secret_variable.clone(),
                auth_variable: env_var("auth", &format!("service_clients.{}", self.client_id)),
            })?;
        let request = auth_pb::IssueServiceTokenRequest {
            client_id: self.client_id.clone(),
            client_secret: secret.expose_secret().to_owned(),
        };
        let grant = (self.issue)(request)
            .await
            .map_err(|s| ServiceTokenError::Unavailable(format!("{:?} {}", s.code(), s.message())))?;
        let lifetime = Duration::from_secs(u64::try_from(grant.expires_in).unwrap_or(0));
        *cached = Some((
            grant.access_token.clone(),
            Instant::now() + lifetime.saturating_sub(MARGIN),
        ));
        Ok(grant.access_token)
    }

    /// `Bearer <token>` for the `authorization` metadata of a call made as this service.
    pub async fn authorization(&self) -> Result<MetadataValue<Ascii>, ServiceTokenError> {
        let token = self.token().await?;
        bearer(&token)
            .map_err(|_| ServiceTokenError::Unavailable("auth issued a token that is not valid metadata".into()))
    }

    /// `message` carrying this service's token.
    pub async fn request<T>(&self, message: T) -> Result<tonic::Request<T>, ServiceTokenError> {
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", self.authorization().await?);
        Ok(request)
    }

    /// Drops the cached token (a peer refused it: auth's keys may have rotated).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }
}

#[cfg(test)]
mod tests;
