//! API tokens for scripts and CI: `dtk_…`, stored hashed, exchanged for access tokens.
//!
//! A token is created with at most the role of the credential that calls (the account's role as stored now, the
//! access token's role claim, and, when that access token came from an API token, that token's role) and never
//! outlives that API token: it expires no later, and revoking the parent revokes what it made.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use devopstrack_platform::auth::{Principal, Role};

use super::{AuthApp, Caller, TokenGrant, lower, require, store_err};
use crate::domain::{ApiTokenRecord, Cursor, parse_name};
use crate::error::Error;
use crate::tokens::{decode_page_token, next_page_token, page_size, random_secret, sha256_hex};

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
    /// `role` unspecified: the account's role (refused when the calling credential is narrower). `expires_in_days`
    /// 0: never, or when the calling API token expires.
    pub async fn create_api_token(
        &self,
        caller: &Caller,
        name: &str,
        role: Option<Role>,
        expires_in_days: u32,
    ) -> Result<NewApiToken, Error> {
        let principal = &caller.principal;
        let user = self.acting_user(principal).await?;
        let name = parse_name(name).map_err(|e| Error::invalid("name", e))?;
        let parent = self.calling_api_token(caller, user.id).await?;
        let mut ceiling = lower(principal.role, user.role);
        if let Some(parent) = &parent {
            ceiling = lower(ceiling, parent.role);
        }
        let role = role.unwrap_or(user.role);
        if role == Role::Service {
            return Err(Error::invalid("role", "service is not a token role"));
        }
        if !ceiling.at_least(role) {
            return Err(Error::PermissionDenied(format!(
                "a token's role cannot exceed yours ({ceiling}){}",
                if parent.is_some() {
                    ": you are calling with an API token of that role"
                } else {
                    ""
                }
            )));
        }
        if expires_in_days > MAX_EXPIRY_DAYS {
            return Err(Error::invalid(
                "expiresInDays",
                format!("must be at most {MAX_EXPIRY_DAYS} (0: never)"),
            ));
        }
        let now = self.now();
        let expires_at = expiry(now, expires_in_days, parent.as_ref().and_then(|p| p.expires_at))?;
        let secret = random_secret(API_TOKEN_PREFIX);
        let record = ApiTokenRecord {
            id: Uuid::now_v7(),
            user_id: user.id,
            name,
            prefix: secret.chars().take(API_TOKEN_PREFIX.len() + 8).collect(),
            token_hash: sha256_hex(&secret),
            role,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
            parent_id: parent.as_ref().map(|p| p.id),
        };
        self.store
            .insert_api_token(&record)
            .await
            .map_err(store_err("creating an API token"))?;
        tracing::info!(token_id = %record.id, user_id = %user.id, role = %role, parent = ?record.parent_id, "API token created");
        Ok(NewApiToken { record, secret })
    }

    /// The live API token the caller's access token was exchanged from, if it was.
    async fn calling_api_token(&self, caller: &Caller, user_id: Uuid) -> Result<Option<ApiTokenRecord>, Error> {
        let Some(id) = caller.api_token_id else {
            return Ok(None);
        };
        let token = self
            .store
            .api_token_by_id(id)
            .await
            .map_err(store_err("loading the calling API token"))?
            .filter(|t| t.user_id == user_id)
            .ok_or_else(|| Error::Unauthenticated("the API token behind this access token no longer exists".into()))?;
        if token.revoked_at.is_some() {
            return Err(Error::Unauthenticated("API token revoked".into()));
        }
        if token.expires_at.is_some_and(|at| at <= self.now()) {
            return Err(Error::Unauthenticated("API token expired".into()));
        }
        Ok(Some(token))
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
        let next_page_token = next_page_token(&mut tokens, limit, |t| Cursor {
            created_at: t.created_at,
            id: t.id,
        });
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
        tracing::info!(token_id = %id, "API token revoked, with the tokens made with it");
        Ok(())
    }

    /// Exchanges a live API token for an access token whose role is the token's, capped at the owner's current role;
    /// it names the token (`api_token_id`) and expires no later than it.
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
        let role = lower(token.role, user.role);
        self.store
            .touch_api_token(token.id, now)
            .await
            .map_err(store_err("touching a token"))?;
        let (access_token, expires_in) = self.access_token(&user.id.to_string(), role, &user.name, Some(&token))?;
        Ok(TokenGrant {
            access_token,
            expires_in,
            refresh_token: None,
            refresh_expires_in: 0,
            user: Some(user),
        })
    }
}

/// `days` from `now` (0: never), but never past `ceiling` (when the calling API token expires): 0 then means "as long
/// as the calling token", and more days than it has left is an error naming the field.
fn expiry(now: DateTime<Utc>, days: u32, ceiling: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>, Error> {
    let asked = (days > 0).then(|| now + Duration::days(i64::from(days)));
    match (asked, ceiling) {
        (None, ceiling) => Ok(ceiling),
        (Some(asked), Some(ceiling)) if asked > ceiling => Err(Error::invalid(
            "expiresInDays",
            format!("must end by {ceiling}, when the API token you are calling with expires"),
        )),
        (Some(asked), _) => Ok(Some(asked)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_never_outlives_the_api_token_that_made_it() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let days = |d: i64| now + Duration::days(d);

        assert_eq!(expiry(now, 0, None).unwrap(), None, "never");
        assert_eq!(expiry(now, 30, None).unwrap(), Some(days(30)));
        assert_eq!(
            expiry(now, 0, Some(days(10))).unwrap(),
            Some(days(10)),
            "as long as the parent"
        );
        assert_eq!(expiry(now, 5, Some(days(10))).unwrap(), Some(days(5)));
        assert_eq!(expiry(now, 10, Some(days(10))).unwrap(), Some(days(10)));
        let too_long = expiry(now, 11, Some(days(10))).unwrap_err().to_string();
        assert!(too_long.starts_with("expiresInDays: must end by"), "{too_long}");
    }
}
