//! Login, refresh rotation with reuse detection, logout, service tokens. Both credential checks are throttled per
//! (account or client, source address): see [`crate::domain::throttle`].

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use devopstrack_platform::auth::Role;

use super::{AuthApp, Source, hash_err, store_err};
use crate::domain::{Email, PASSWORD_MAX_LEN, RefreshTokenRecord, Rotation, SessionRecord, UserRecord, throttle_key};
use crate::error::Error;
use crate::tokens::{random_secret, sha256_hex};

/// What a successful login, refresh or exchange returns.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: String,
    pub expires_in: i64,
    /// `None` for service and API-token grants.
    pub refresh_token: Option<String>,
    pub refresh_expires_in: i64,
    pub user: Option<UserRecord>,
}

const BAD_CREDENTIALS: &str = "invalid email or password";

impl AuthApp {
    /// Email and password for a new session. Every attempt is throttled per (email, `source`), known email or not,
    /// and an unknown email costs one Argon2 verification like a known one: neither the answer nor its timing says
    /// which accounts exist.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, email: &str, password: &SecretString, source: Source) -> Result<TokenGrant, Error> {
        let email = Email::parse(email).map_err(|e| Error::invalid("email", e))?;
        if password.expose_secret().is_empty() {
            return Err(Error::invalid("password", "must not be empty"));
        }
        if password.expose_secret().chars().count() > PASSWORD_MAX_LEN {
            return Err(Error::Unauthenticated(BAD_CREDENTIALS.into()));
        }
        let key = throttle_key("login", email.as_str(), source);
        self.admit(&key).await?;
        let user = self
            .store
            .user_by_email(&email)
            .await
            .map_err(store_err("looking up a login"))?;
        let valid = self
            .hasher
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await
            .map_err(hash_err("verifying a password"))?;
        let Some(user) = user.filter(|_| valid) else {
            return Err(Error::Unauthenticated(BAD_CREDENTIALS.into()));
        };
        self.forget(&key).await?;
        if user.disabled {
            return Err(Error::Unauthenticated("account disabled".into()));
        }
        let now = self.now();
        self.store
            .record_login_success(user.id, now)
            .await
            .map_err(store_err("recording a login"))?;
        let session = SessionRecord {
            id: Uuid::new_v4(),
            user_id: user.id,
            created_at: now,
            revoked_at: None,
        };
        let (refresh, record) = self.new_refresh_token(session.id);
        self.store
            .create_session(&session, &record)
            .await
            .map_err(store_err("creating a session"))?;
        tracing::info!(user_id = %user.id, session_id = %session.id, "login");
        let user = UserRecord {
            last_login_at: Some(now),
            ..user
        };
        self.user_grant(user, Some(refresh))
    }

    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenGrant, Error> {
        if refresh_token.is_empty() || refresh_token.len() > 128 {
            return Err(Error::Unauthenticated("invalid refresh token".into()));
        }
        let now = self.now();
        let (next, record) = self.new_refresh_token(Uuid::nil());
        let outcome = self
            .store
            .rotate_refresh_token(&sha256_hex(refresh_token), &record, now)
            .await
            .map_err(store_err("rotating a refresh token"))?;
        match outcome {
            Rotation::Rotated { user_id, session_id } => {
                let user = self
                    .store
                    .user_by_id(user_id)
                    .await
                    .map_err(store_err("loading a user"))?;
                match user {
                    Some(user) if !user.disabled => self.user_grant(user, Some(next)),
                    _ => {
                        self.store
                            .revoke_session(session_id, now)
                            .await
                            .map_err(store_err("revoking a session"))?;
                        Err(Error::Unauthenticated("account disabled".into()))
                    }
                }
            }
            Rotation::Reused { session_id, user_id } => {
                self.store
                    .revoke_session(session_id, now)
                    .await
                    .map_err(store_err("revoking a session"))?;
                tracing::warn!(%user_id, %session_id, "refresh token reused: session revoked");
                Err(Error::Unauthenticated(
                    "refresh token reuse detected; the session was revoked".into(),
                ))
            }
            Rotation::Invalid => Err(Error::Unauthenticated("invalid refresh token".into())),
        }
    }

    /// Revokes the session of `refresh_token`. Unknown tokens are not an error (logging out twice is fine).
    pub async fn logout(&self, refresh_token: &str) -> Result<(), Error> {
        if refresh_token.is_empty() || refresh_token.len() > 128 {
            return Ok(());
        }
        let session = self
            .store
            .session_by_refresh_hash(&sha256_hex(refresh_token))
            .await
            .map_err(store_err("logging out"))?;
        if let Some(session) = session {
            self.store
                .revoke_session(session.id, self.now())
                .await
                .map_err(store_err("revoking a session"))?;
            tracing::info!(session_id = %session.id, "logout");
        }
        Ok(())
    }

    /// Client-credentials grant for services: the client's own secret, throttled per (client id, `source`).
    pub async fn issue_service_token(
        &self,
        client_id: &str,
        client_secret: &str,
        source: Source,
    ) -> Result<TokenGrant, Error> {
        let invalid = || Error::Unauthenticated("invalid client credentials".into());
        if self.service_clients.is_empty() {
            return Err(Error::Unauthenticated(
                "service accounts are not configured on this server".into(),
            ));
        }
        if client_id.len() > 128 || client_secret.len() > 1024 {
            return Err(invalid());
        }
        let key = throttle_key("service", client_id, source);
        self.admit(&key).await?;
        if !self.service_clients.check(client_id, client_secret) {
            tracing::warn!(client_id, "refused service credentials");
            return Err(invalid());
        }
        self.forget(&key).await?;
        let (access_token, expires_in) =
            self.access_token(&format!("service:{client_id}"), Role::Service, client_id, None)?;
        Ok(TokenGrant {
            access_token,
            expires_in,
            refresh_token: None,
            refresh_expires_in: 0,
            user: None,
        })
    }

    fn new_refresh_token(&self, session_id: Uuid) -> (String, RefreshTokenRecord) {
        let now = self.now();
        let token = random_secret("rt_");
        let record = RefreshTokenRecord {
            token_hash: sha256_hex(&token),
            session_id,
            created_at: now,
            expires_at: now + self.policy.refresh_ttl,
            rotated_at: None,
        };
        (token, record)
    }

    pub(super) fn user_grant(&self, user: UserRecord, refresh: Option<String>) -> Result<TokenGrant, Error> {
        let (access_token, expires_in) = self.access_token(&user.id.to_string(), user.role, &user.name, None)?;
        let refresh_expires_in = if refresh.is_some() {
            self.policy.refresh_ttl.num_seconds()
        } else {
            0
        };
        Ok(TokenGrant {
            access_token,
            expires_in,
            refresh_token: refresh,
            refresh_expires_in,
            user: Some(user),
        })
    }
}
