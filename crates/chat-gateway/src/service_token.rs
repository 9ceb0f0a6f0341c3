//! The gateway's own identity towards the other services: a `service` token from auth's client-credentials grant
//! (`IssueServiceToken` with `DEVOPSTRACK_GATEWAY__CLIENT_ID` / `__CLIENT_SECRET`), cached until a minute before it
//! expires and dropped when a service refuses it. Only login uses it (auth believes the client address it passes on
//! only from the gateway's service token); user requests carry the user's own token, and the webhook intake needs
//! none (tasks verifies deliveries with projects under its own identity).

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use devopstrack_proto::auth::v1 as auth_pb;

use crate::clients::AuthClient;

/// A token is renewed this long before it expires.
const MARGIN: Duration = Duration::from_secs(60);

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No client secret is configured.
    #[error(
        "the gateway has no service credentials: set DEVOPSTRACK_GATEWAY__CLIENT_SECRET (auth's \
         DEVOPSTRACK_AUTH__SERVICE_CLIENTS__GATEWAY)"
    )]
    NotConfigured,
    /// Auth is down or refused the credentials; worth trying again later.
    #[error("cannot get a service token from auth: {0}")]
    Unavailable(String),
}

pub struct ServiceToken {
    auth: AuthClient,
    client_id: String,
    client_secret: Option<SecretString>,
    cached: Mutex<Option<(String, Instant)>>,
}

impl ServiceToken {
    pub fn new(auth: AuthClient, client_id: &str, client_secret: Option<SecretString>) -> Self {
        Self {
            auth,
            client_id: client_id.to_owned(),
            client_secret,
            cached: Mutex::new(None),
        }
    }

    pub fn configured(&self) -> bool {
        self.client_secret.is_some()
    }

    /// A valid token: the cached one, or a new one from auth.
    pub async fn get(&self) -> Result<String, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let secret = self.client_secret.as_ref().ok_or(TokenError::NotConfigured)?;
        let request = auth_pb::IssueServiceTokenRequest {
            client_id: self.client_id.clone(),
            client_secret: secret.expose_secret().to_owned(),
        };
        let grant = self
            .auth
            .clone()
            .issue_service_token(request)
            .await
            .map_err(|s| TokenError::Unavailable(format!("{:?} {}", s.code(), s.message())))?
            .into_inner();
        let lifetime = Duration::from_secs(u64::try_from(grant.expires_in).unwrap_or(0));
        *cached = Some((
            grant.access_token.clone(),
            Instant::now() + lifetime.saturating_sub(MARGIN),
        ));
        Ok(grant.access_token)
    }
}
