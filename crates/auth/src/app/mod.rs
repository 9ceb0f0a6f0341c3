//! Use-cases of the auth service: the only code the transports call. Each takes the caller's verified
//! [`Principal`] (or [`Caller`], where it matters which credential called) and enforces its own permissions.

mod api_tokens;
mod maintenance;
mod sessions;
mod throttle;
mod users;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use devopstrack_platform::auth::{Claims, JwksFetcher, JwtVerifier, Principal, Role};

use crate::domain::{ApiTokenRecord, ThrottlePolicy, UserRecord, now_micros};
use crate::error::Error;
use crate::keys::KeyRing;
use crate::passwords::{HashError, PasswordHasher};
use crate::service_clients::ServiceClients;
use crate::store::AuthStore;

pub use api_tokens::{ApiTokenPage, NewApiToken};
pub use sessions::TokenGrant;
pub use users::{LOOKUP_MAX_IDS, NewUser, UserAdmin, UserPage};

/// Where "now" comes from: the system clock, or a test's.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Token lifetimes and throttling.
#[derive(Debug, Clone)]
pub struct Policy {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// Password guesses (login, service credentials, the current password of a password change).
    pub throttle: ThrottlePolicy,
    /// Scheduled key rotation applies (not when the key is configured as a PEM).
    pub rotate_keys: bool,
}

/// A verified access token as the use-cases need it: who calls, and whether the token came from an API token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The API token this access token was exchanged from.
    pub api_token_id: Option<Uuid>,
}

impl TryFrom<Claims> for Caller {
    type Error = Error;

    fn try_from(claims: Claims) -> Result<Self, Error> {
        let api_token_id = claims
            .api_token_id
            .as_deref()
            .map(Uuid::parse_str)
            .transpose()
            .map_err(|_| Error::Unauthenticated("invalid token: api_token_id".into()))?;
        Ok(Self {
            principal: Principal::from(claims),
            api_token_id,
        })
    }
}

/// Where a credential was presented from (the throttle counts per account and source).
pub type Source = Option<IpAddr>;

pub struct AuthApp {
    store: Arc<dyn AuthStore>,
    keys: KeyRing,
    hasher: PasswordHasher,
    policy: Policy,
    service_clients: ServiceClients,
    verifier: Arc<JwtVerifier>,
    clock: Clock,
}

impl AuthApp {
    pub fn new(
        store: Arc<dyn AuthStore>,
        keys: KeyRing,
        hasher: PasswordHasher,
        policy: Policy,
        service_clients: ServiceClients,
        clock: Clock,
    ) -> Self {
        let ring = keys.clone();
        let fetcher: JwksFetcher = Arc::new(move || {
            let jwks = ring.jwks();
            Box::pin(async move { Ok(jwks) })
        });
        let verifier = Arc::new(JwtVerifier::new(&policy.issuer, &policy.audience, fetcher));
        Self {
            store,
            keys,
            hasher,
            policy,
            service_clients,
            verifier,
            clock,
        }
    }

    /// The system clock, truncated to microseconds like everything the store keeps.
    pub fn system_clock() -> Clock {
        Arc::new(now_micros)
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Verifies this service's own tokens (the keys are local, so no round trip).
    pub fn verifier(&self) -> &Arc<JwtVerifier> {
        &self.verifier
    }

    pub fn jwks(&self) -> Vec<devopstrack_platform::auth::Jwk> {
        self.keys.jwks()
    }

    pub async fn ready(&self) -> Result<(), String> {
        self.store.ping().await.map_err(|e| format!("auth store: {e}"))
    }

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Signs an access token for `subject`. One exchanged from `api_token` names it and never outlives it.
    fn access_token(
        &self,
        subject: &str,
        role: Role,
        name: &str,
        api_token: Option<&ApiTokenRecord>,
    ) -> Result<(String, i64), Error> {
        let now = self.now();
        let mut exp = (now + self.policy.access_ttl).timestamp();
        if let Some(until) = api_token.and_then(|t| t.expires_at) {
            exp = exp.min(until.timestamp());
        }
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            name: name.to_owned(),
            iss: self.policy.issuer.clone(),
            aud: self.policy.audience.clone(),
            iat: now.timestamp(),
            exp,
            jti: Uuid::new_v4().to_string(),
            api_token_id: api_token.map(|t| t.id.to_string()),
        };
        let token = self
            .keys
            .sign(&claims)
            .map_err(|e| Error::Internal(e.context("signing an access token")))?;
        Ok((token, exp - now.timestamp()))
    }

    /// The user behind a principal, who must still exist and be enabled.
    async fn acting_user(&self, principal: &Principal) -> Result<UserRecord, Error> {
        let id = Uuid::parse_str(&principal.subject)
            .map_err(|_| Error::PermissionDenied("this call needs a user, not a service account".into()))?;
        let user = self
            .store
            .user_by_id(id)
            .await
            .map_err(store_err("loading the calling user"))?
            .ok_or_else(|| Error::Unauthenticated("the account of this token no longer exists".into()))?;
        if user.disabled {
            return Err(Error::Unauthenticated("account disabled".into()));
        }
        Ok(user)
    }
}

/// The lower of two user roles.
fn lower(a: Role, b: Role) -> Role {
    if a.at_least(b) { b } else { a }
}

/// Fails unless both the token and the account as stored now grant at least `role`: a token keeps its role claim for
/// its whole life, so a demoted admin's unexpired token must not keep admin powers. Services never qualify.
fn require(principal: &Principal, caller: &UserRecord, role: Role) -> Result<(), Error> {
    let effective = lower(principal.role, caller.role);
    if effective.at_least(role) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "this needs the {role} role; you are {effective}"
        )))
    }
}

/// Lifts a store error: `Conflict` for uniqueness, `Unavailable` when the store is down or busy (the caller may
/// retry), else `Internal` with what we were doing.
fn store_err(doing: &'static str) -> impl FnOnce(crate::store::StoreError) -> Error {
    use crate::store::StoreError;
    move |e| match e {
        StoreError::Conflict(what) => Error::Conflict(format!("{what} already exists")),
        StoreError::Unavailable(reason) => {
            tracing::warn!(%reason, doing, "the auth store is unavailable");
            Error::Unavailable("the auth store is unavailable; retry shortly".into())
        }
        other @ (StoreError::Backend(_) | StoreError::Migrate(_) | StoreError::Corrupt(_)) => {
            Error::Internal(anyhow::Error::new(other).context(doing))
        }
    }
}

/// A hashing failure: overload is UNAVAILABLE (retry soon), anything else internal.
fn hash_err(doing: &'static str) -> impl FnOnce(HashError) -> Error {
    move |e| match e {
        HashError::Busy => Error::Unavailable("too many sign-ins at once; try again in a moment".into()),
        HashError::Failed(cause) => Error::Internal(cause.context(doing)),
    }
}

#[cfg(test)]
mod tests;
