//! Use-cases of the auth service: the only code the transports call. Each takes the caller's verified
//! [`Principal`] (where one is needed) and enforces its own permissions.

mod api_tokens;
mod sessions;
mod users;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use devopstrack_platform::auth::{Claims, JwksFetcher, JwtVerifier, Principal, Role};

use crate::domain::{UserRecord, now_micros};
use crate::error::Error;
use crate::keys::KeyRing;
use crate::passwords::PasswordHasher;
use crate::store::AuthStore;

pub use api_tokens::{ApiTokenPage, NewApiToken};
pub use sessions::TokenGrant;
pub use users::{LOOKUP_MAX_IDS, NewUser, UserPage};

/// Where "now" comes from: the system clock, or a test's.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Token lifetimes and login throttling.
#[derive(Debug, Clone)]
pub struct Policy {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub lockout_max_failures: u32,
    pub lockout_window: Duration,
    pub lockout_duration: Duration,
    pub service_clients: Vec<String>,
}

pub struct AuthApp {
    store: Arc<dyn AuthStore>,
    keys: KeyRing,
    hasher: PasswordHasher,
    policy: Policy,
    service_secret: Option<secrecy::SecretString>,
    verifier: Arc<JwtVerifier>,
    clock: Clock,
}

impl AuthApp {
    pub fn new(
        store: Arc<dyn AuthStore>,
        keys: KeyRing,
        hasher: PasswordHasher,
        policy: Policy,
        service_secret: Option<secrecy::SecretString>,
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
            service_secret,
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

    /// Signs an access token for `subject`.
    fn access_token(&self, subject: &str, role: Role, name: &str) -> Result<(String, i64), Error> {
        let now = self.now();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            name: name.to_owned(),
            iss: self.policy.issuer.clone(),
            aud: self.policy.audience.clone(),
            iat: now.timestamp(),
            exp: (now + self.policy.access_ttl).timestamp(),
            jti: Uuid::new_v4().to_string(),
        };
        let token = self
            .keys
            .sign(&claims)
            .map_err(|e| Error::Internal(e.context("signing an access token")))?;
        Ok((token, self.policy.access_ttl.num_seconds()))
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

/// Fails unless both the token and the account as stored now grant at least `role`: a token keeps its role claim for
/// its whole life, so a demoted admin's unexpired token must not keep admin powers. Services never qualify.
fn require(principal: &Principal, caller: &UserRecord, role: Role) -> Result<(), Error> {
    let effective = if principal.role.at_least(caller.role) {
        caller.role
    } else {
        principal.role
    };
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

#[cfg(test)]
mod tests;
