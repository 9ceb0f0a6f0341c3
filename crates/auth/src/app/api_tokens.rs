//! API tokens for scripts and CI: `dtk_…`, stored hashed, role capped at the creator's, exchanged for access tokens.

use chrono::Duration;
use uuid::Uuid;

use devopstrack_platform::auth::{Principal, Role};

use super::{AuthApp, TokenGrant, require, store_err};
use crate::domain::{ApiTokenRecord, Cursor, parse_name};
use crate::error::Error;
use crate::tokens::{decode_page_token, encode_page_token, page_size, random_secret, sha256_hex};

pub const API_TOKEN_PREFIX: &str = "dtk_";
const MAX_EXPIRY_DAYS: u32 = 3650;

#[derive(Debug)]
pub struct NewApiToken {
    pub record: ApiTokenRecord,
    /// Shown once.
    pub secret: String,
}

#[derive(Debug)]
pub struct ApiTokenPage {
    pub tokens: Vec<ApiTokenRecord>,
    pub next_page_token: Option<String>,
}

impl AuthApp {
    pub async fn create_api_token(
        &self,
        principal: &Principal,
        name: &str,
        role: Option<Role>,
        expires_in_days: u32,
    ) -> Result<NewApiToken, Error> {
        let user = self.acting_user(principal).await?;
        let name = parse_name(name).map_err(|e| Error::invalid("name", e))?;
        let role = role.unwrap_or(user.role);
        if role == Role::Service {
            return Err(Error::invalid("role", "service is not a token role"));
        }
        if !user.role.at_least(role) {
            return Err(Error::PermissionDenied(format!(
                "a token's role cannot exceed yours ({})",
                user.role
            )));
        }
        if expires_in_days > MAX_EXPIRY_DAYS {
            return Err(Error::invalid(
                "expiresInDays",
                format!("must be at most {MAX_EXPIRY_DAYS} (0: never)"),
            ));
        }
        let now = self.now();
        let secret = random_secret(API_TOKEN_PREFIX);
        let record = ApiTokenRecord {
            id: Uuid::now_v7(),
            user_id: user.id,
            name,
            prefix: secret.chars().take(API_TOKEN_PREFIX.len() + 8).collect(),
            token_hash: sha256_hex(&secret),
            role,
            created_at: now,
            expires_at: (expires_in_days > 0).then(|| now + Duration::days(i64::from(expires_in_days))),
            last_used_at: None,
            revoked_at: None,
        };
        self.store
            .insert_api_token(&record)
            .await
            .map_err(store_err("creating an API token"))?;
        tracing::info!(token_id = %record.id, user_id = %user.id, role = %role, "API token created");
        Ok(NewApiToken { record, secret })
    }

    pub async fn list_api_tokens(
        &self,
        principal: &Principal,
        all_users: bool,
        size: i32,
        token: &str,
    ) -> Result<ApiTokenPage, Error> {
        let user = self.acting_user(principal).await?;
        if all_users {
            require(principal, &user, Role::Admin)?;
        }
        let limit = page_size(size).map_err(Error::InvalidInput)?;
        let after = decode_page_token(token).map_err(Error::InvalidInput)?;
        let owner = (!all_users).then_some(user.id);
        let mut tokens = self
            .store
            .list_api_tokens(owner, after, limit + 1)
            .await
            .map_err(store_err("listing API tokens"))?;
        let next_page_token = if tokens.len() > limit as usize {
            tokens.truncate(limit as usize);
            tokens.last().map(|t| {
                encode_page_token(&Cursor {
                    created_at: t.created_at,
                    id: t.id,
                })
            })
        } else {
            None
        };
        Ok(ApiTokenPage {
            tokens,
            next_page_token,
        })
    }

    pub async fn revoke_api_token(&self, principal: &Principal, id: &str) -> Result<(), Error> {
        let user = self.acting_user(principal).await?;
        let id = Uuid::parse_str(id).map_err(|_| Error::invalid("id", "is not a UUID"))?;
        let not_found = || Error::NotFound(format!("no API token with id {id}"));
        let token = self
            .store
            .api_token_by_id(id)
            .await
            .map_err(store_err("loading an API token"))?;
        let token = token.ok_or_else(not_found)?;
        if token.user_id != user.id && require(principal, &user, Role::Admin).is_err() {
            return Err(not_found());
        }
        self.store
            .revoke_api_token(id, self.now())
            .await
            .map_err(store_err("revoking an API token"))?;
        tracing::info!(token_id = %id, "API token revoked");
        Ok(())
    }

    /// Exchanges a live API token for an access token whose role is the token's, capped at the owner's current role.
    pub async fn exchange_api_token(&self, secret: &str) -> Result<TokenGrant, Error> {
        let invalid = || Error::Unauthenticated("invalid API token".into());
        if !secret.starts_with(API_TOKEN_PREFIX) || secret.len() > 128 {
            return Err(invalid());
        }
        let token = self
            .store
            .api_token_by_hash(&sha256_hex(secret))
            .await
            .map_err(store_err("loading a token"))?;
        let token = token.ok_or_else(invalid)?;
        let now = self.now();
        if token.revoked_at.is_some() {
            return Err(Error::Unauthenticated("API token revoked".into()));
        }
        if token.expires_at.is_some_and(|at| at <= now) {
            return Err(Error::Unauthenticated("API token expired".into()));
        }
        let user = self
            .store
            .user_by_id(token.user_id)
            .await
            .map_err(store_err("loading a user"))?;
        let user = user
            .filter(|u| !u.disabled)
            .ok_or_else(|| Error::Unauthenticated("account disabled".into()))?;
        let role = if user.role.at_least(token.role) {
            token.role
        } else {
            user.role
        };
        self.store
            .touch_api_token(token.id, now)
            .await
            .map_err(store_err("touching a token"))?;
        let (access_token, expires_in) = self.access_token(&user.id.to_string(), role, &user.name)?;
        Ok(TokenGrant {
            access_token,
            expires_in,
            refresh_token: None,
            refresh_expires_in: 0,
            user: Some(user),
        })
    }
}
