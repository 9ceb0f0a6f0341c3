//! Login, refresh rotation with reuse detection, logout, service tokens.

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use devopstrack_platform::auth::Role;

use super::{AuthApp, store_err};
use crate::domain::{Email, PASSWORD_MAX_LEN, RefreshTokenRecord, Rotation, SessionRecord, UserRecord};
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
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, email: &str, password: &SecretString) -> Result<TokenGrant, Error> {
        let email = Email::parse(email).map_err(|e| Error::invalid("email", e))?;
        if password.expose_secret().is_empty() {
            return Err(Error::invalid("password", "must not be empty"));
        }
        if password.expose_secret().chars().count() > PASSWORD_MAX_LEN {
            return Err(Error::Unauthenticated(BAD_CREDENTIALS.into()));
        }
        let user = self
            .store
            .user_by_email(&email)
            .await
            .map_err(store_err("looking up a login"))?;
        // Always hash once, known email or not, so response times do not reveal which accounts exist.
        let valid = self
            .hasher
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await
            .map_err(|e| Error::Internal(e.context("verifying a password")))?;
        let Some(user) = user else {
            return Err(Error::Unauthenticated(BAD_CREDENTIALS.into()));
        };
        let now = self.now();
        if let Some(until) = user.locked_until.filter(|until| *until > now) {
            return Err(Error::Locked {
                retry_after_secs: (until - now).num_seconds().max(1) as u64,
            });
        }
        if !valid {
            let since = now - self.policy.lockout_window;
            let failures = self
                .store
                .add_login_failure(user.id, now, since)
                .await
                .map_err(store_err("counting failures"))?;
            if failures >= self.policy.lockout_max_failures {
                let until = now + self.policy.lockout_duration;
                self.store
                    .set_locked_until(user.id, Some(until))
                    .await
                    .map_err(store_err("locking an account"))?;
                tracing::warn!(user_id = %user.id, failures, "account locked after repeated failed logins");
                return Err(Error::Locked {
                    retry_after_secs: self.policy.lockout_duration.num_seconds() as u64,
                });
            }
            return Err(Error::Unauthenticated(BAD_CREDENTIALS.into()));
        }
        if user.disabled {
            return Err(Error::Unauthenticated("account disabled".into()));
        }
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
            locked_until: None,
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

    /// Client-credentials grant for services.
    pub async fn issue_service_token(&self, client_id: &str, client_secret: &str) -> Result<TokenGrant, Error> {
        let Some(expected) = &self.service_secret else {
            return Err(Error::Unauthenticated(
                "service accounts are not configured on this server".into(),
            ));
        };
        let known = self.policy.service_clients.iter().any(|c| c == client_id);
        let secret_ok: bool = client_secret
            .as_bytes()
            .ct_eq(expected.expose_secret().as_bytes())
            .into();
        if !(known && secret_ok) {
            return Err(Error::Unauthenticated("invalid client credentials".into()));
        }
        let (access_token, expires_in) =
            self.access_token(&format!("service:{client_id}"), Role::Service, client_id)?;
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
        let (access_token, expires_in) = self.access_token(&user.id.to_string(), user.role, &user.name)?;
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
