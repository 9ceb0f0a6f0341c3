//! Access-token verification (EdDSA JWT) against a cached JWKS: what every service does on every call (zero trust
//! inside the cluster: a service never trusts a header the gateway added).
//!
//! Only `EdDSA` is accepted, whatever the token's header says, so `alg: none` and HS256-signed-with-the-public-key
//! forgeries fail. `iss`, `aud`, `exp`, `iat`, `sub` are required. An unknown `kid` refreshes the JWKS (at most every
//! [`MIN_REFRESH_INTERVAL`]) before the token is refused, so key rotation never logs anyone out. The JWKS is also
//! fetched again once it is older than the refresh interval (`DEVOPSTRACK_JWKS_REFRESH_SECS`, 60 s by default), and
//! verified tokens of a key that is no longer published are forgotten: a key auth retires stops being accepted by
//! every verifier within that bound.

mod clients;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use futures::future::BoxFuture;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

pub use crate::role::{Role, UnknownRole};
pub use clients::{
    CHAT_APPROVAL_CLIENTS, GATEWAY, GITHUB_WEBHOOK_CLIENTS, LOGIN_FORWARDERS, RECORD_DEPLOYMENT_CLIENTS,
    RECORD_METRICS_CLIENTS, SERVICE_AUTHORIZATION, TASKS, WATCH_EVENTS_CLIENTS, require_client,
};

/// The JWKS is fetched again for an unknown `kid` at most this often.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// The environment variable that bounds how old a verifier's copy of the JWKS may get (seconds, 1..=3600).
pub const REFRESH_ENV: &str = "DEVOPSTRACK_JWKS_REFRESH_SECS";
/// How old the JWKS may get before it is fetched again, unless [`REFRESH_ENV`] says otherwise.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// How many verified tokens are remembered (their signature is not checked again until they expire).
const VERIFIED_CACHE_CAPACITY: usize = 20_000;
/// Clock skew tolerated on `exp`/`iat`.
const LEEWAY_SECS: u64 = 30;

/// The claims of a DevOpsTrack access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id (UUID) or `service:<client id>`.
    pub sub: String,
    pub role: Role,
    pub name: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// Set on an access token that came from exchanging an API token: that token's id. Auth caps what such a caller
    /// may do with API tokens (role and expiry of the token it came from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_id: Option<String>,
}

/// Who is calling, once their token checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    pub name: String,
    pub token_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Principal {
    /// The client id of a service token (`sub = service:<client id>`, role `service`); `None` for a user.
    pub fn service_client(&self) -> Option<&str> {
        if self.role == Role::Service {
            self.subject.strip_prefix("service:")
        } else {
            None
        }
    }
}

impl From<Claims> for Principal {
    fn from(c: Claims) -> Self {
        Self {
            subject: c.sub,
            role: c.role,
            name: c.name,
            token_id: c.jti,
            expires_at: c.exp,
        }
    }
}

/// One public key of a JWKS (RFC 8037 OKP / Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    /// Base64url (no padding) public key.
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

impl Jwk {
    pub fn ed25519(kid: impl Into<String>, x: impl Into<String>) -> Self {
        Self {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: x.into(),
            kid: kid.into(),
            alg: "EdDSA".into(),
            use_: "sig".into(),
        }
    }
}

/// Fetches the current JWKS (from auth over gRPC, or in-process inside auth itself).
pub type JwksFetcher = Arc<dyn Fn() -> BoxFuture<'static, Result<Vec<Jwk>, String>> + Send + Sync>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("missing bearer token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("token signed by an unknown key")]
    UnknownKey,
    #[error("token expired")]
    Expired,
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// The keys could not be fetched: the caller answers 503/UNAVAILABLE, not 401.
    #[error("cannot verify tokens right now: {0}")]
    KeysUnavailable(String),
}

/// Verifies access tokens. Share one per process (`Arc`).
pub struct JwtVerifier {
    validation: Validation,
    fetcher: JwksFetcher,
    refresh_interval: Duration,
    keys: RwLock<Arc<HashMap<String, DecodingKey>>>,
    /// When the keys were last fetched successfully (`None`: never): how old the copy is.
    fetched_at: RwLock<Option<Instant>>,
    /// When the keys were last fetched successfully, for the unknown-kid rate limit; held while fetching, so one
    /// caller fetches and the others wait (unknown kid) or go on (stale copy).
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    /// When a refresh of a stale copy last failed.
    stale_refresh_failed_at: RwLock<Option<Instant>>,
    /// Tokens whose signature checked out, with the `kid` that signed them.
    verified: RwLock<HashMap<String, (Claims, String)>>,
}

impl JwtVerifier {
    /// A verifier whose JWKS is fetched again once older than [`REFRESH_ENV`] seconds (default
    /// [`DEFAULT_REFRESH_INTERVAL`]; a bad value is refused at start by [`crate::config::load`]).
    pub fn new(issuer: &str, audience: &str, fetcher: JwksFetcher) -> Self {
        let refresh_interval = refresh_interval_from_env().unwrap_or_else(|error| {
            tracing::error!(%error, "using the default JWKS refresh interval");
            DEFAULT_REFRESH_INTERVAL
        });
        Self::with_refresh_interval(issuer, audience, fetcher, refresh_interval)
    }

    /// [`new`](Self::new) with an explicit bound on the JWKS's age.
    pub fn with_refresh_interval(
        issuer: &str,
        audience: &str,
        fetcher: JwksFetcher,
        refresh_interval: Duration,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Self {
            validation,
            fetcher,
            refresh_interval,
            keys: RwLock::new(Arc::new(HashMap::new())),
            fetched_at: RwLock::new(None),
            last_fetch: tokio::sync::Mutex::new(None),
            stale_refresh_failed_at: RwLock::new(None),
            verified: RwLock::new(HashMap::new()),
        }
    }

    /// How old the JWKS may get before it is fetched again.
    pub fn refresh_interval(&self) -> Duration {
        self.refresh_interval
    }

    /// Verifies `token` and returns its principal.
    pub async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        self.verify_claims(token).await.map(Principal::from)
    }

    /// Verifies `token` and returns all its claims (auth reads `api_token_id`; other services need the principal).
    pub async fn verify_claims(&self, token: &str) -> Result<Claims, TokenError> {
        self.refresh_if_stale().await;
        let now = now_secs();
        if let Some((claims, _)) = self.verified.read().get(token)
            && claims.exp + LEEWAY_SECS as i64 > now
        {
            return Ok(claims.clone());
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid("algorithm not allowed"));
        }
        let kid = header.kid.ok_or(TokenError::Invalid("missing kid"))?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => {
                self.refresh(false).await?;
                self.key(&kid).ok_or(TokenError::UnknownKey)?
            }
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::InvalidAudience => TokenError::Invalid("wrong audience"),
            ErrorKind::InvalidIssuer => TokenError::Invalid("wrong issuer"),
            ErrorKind::InvalidSignature => TokenError::Invalid("bad signature"),
            ErrorKind::InvalidAlgorithm => TokenError::Invalid("algorithm not allowed"),
            ErrorKind::MissingRequiredClaim(_) => TokenError::Invalid("missing claim"),
            ErrorKind::Json(_) => TokenError::Invalid("bad claims"),
            _ => TokenError::Malformed,
        })?;
        if data.claims.iat > now + LEEWAY_SECS as i64 {
            return Err(TokenError::Invalid("issued in the future"));
        }
        let mut verified = self.verified.write();
        if verified.len() >= VERIFIED_CACHE_CAPACITY {
            verified.retain(|_, (c, _)| c.exp > now);
            if verified.len() >= VERIFIED_CACHE_CAPACITY {
                verified.clear();
            }
        }
        verified.insert(token.to_owned(), (data.claims.clone(), kid));
        Ok(data.claims)
    }

    /// Verifies the `authorization: Bearer …` metadata of a gRPC request.
    pub async fn verify_metadata(&self, metadata: &tonic::metadata::MetadataMap) -> Result<Principal, TokenError> {
        self.verify_metadata_claims(metadata).await.map(Principal::from)
    }

    /// [`verify_metadata`](Self::verify_metadata), answering all the claims.
    pub async fn verify_metadata_claims(&self, metadata: &tonic::metadata::MetadataMap) -> Result<Claims, TokenError> {
        let value = metadata.get("authorization").ok_or(TokenError::Missing)?;
        let value = value.to_str().map_err(|_| TokenError::Malformed)?;
        self.verify_claims(bearer(value).ok_or(TokenError::Missing)?).await
    }

    /// Fetches the keys now (at start-up, to fail early); `force` ignores the refresh interval.
    pub async fn refresh(&self, force: bool) -> Result<(), TokenError> {
        let mut last = self.last_fetch.lock().await;
        if !force && last.is_some_and(|t| t.elapsed() < MIN_REFRESH_INTERVAL) {
            return Ok(());
        }
        self.fetch(&mut last).await
    }

    /// Fetches the keys again when the copy is older than the refresh interval. A caller finding a fetch under way
    /// goes on with the keys it has; a failed fetch keeps them (auth being down must not lock everyone out) and is
    /// tried again after `min(refresh interval, MIN_REFRESH_INTERVAL)`.
    async fn refresh_if_stale(&self) {
        let stale = self
            .fetched_at
            .read()
            .is_some_and(|at| at.elapsed() >= self.refresh_interval);
        if !stale {
            return;
        }
        let Ok(mut last) = self.last_fetch.try_lock() else {
            return;
        };
        let retry_after = self.refresh_interval.min(MIN_REFRESH_INTERVAL);
        if self
            .stale_refresh_failed_at
            .read()
            .is_some_and(|t| t.elapsed() < retry_after)
        {
            return;
        }
        if let Err(error) = self.fetch(&mut last).await {
            *self.stale_refresh_failed_at.write() = Some(Instant::now());
            tracing::warn!(%error, "refreshing the JWKS failed; keeping the keys we have");
        }
    }

    async fn fetch(&self, last: &mut Option<Instant>) -> Result<(), TokenError> {
        let jwks = (self.fetcher)().await.map_err(TokenError::KeysUnavailable)?;
        *last = Some(Instant::now());
        *self.fetched_at.write() = Some(Instant::now());
        let mut keys = HashMap::new();
        for jwk in jwks {
            if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
                tracing::warn!(kid = %jwk.kid, kty = %jwk.kty, "ignoring a JWK that is not Ed25519");
                continue;
            }
            match DecodingKey::from_ed_components(&jwk.x) {
                Ok(key) => {
                    keys.insert(jwk.kid, key);
                }
                Err(error) => tracing::warn!(kid = %jwk.kid, %error, "ignoring an unreadable JWK"),
            }
        }
        let changed = {
            let current = self.keys.read();
            current.len() != keys.len() || keys.keys().any(|k| !current.contains_key(k))
        };
        if changed {
            tracing::info!(keys = keys.len(), "JWKS updated");
            // A key may have been withdrawn: forget what it verified.
            self.verified.write().retain(|_, (_, kid)| keys.contains_key(kid));
            *self.keys.write() = Arc::new(keys);
        }
        Ok(())
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().get(kid).cloned()
    }
}

/// The JWKS refresh interval [`REFRESH_ENV`] asks for, or the default when it is unset.
pub fn refresh_interval_from_env() -> Result<Duration, String> {
    parse_refresh_interval(std::env::var(REFRESH_ENV).ok().as_deref())
}

fn parse_refresh_interval(value: Option<&str>) -> Result<Duration, String> {
    match value {
        None => Ok(DEFAULT_REFRESH_INTERVAL),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(secs) if (1..=3600).contains(&secs) => Ok(Duration::from_secs(secs)),
            _ => Err(format!(
                "{REFRESH_ENV}: must be a number of seconds between 1 and 3600, not {raw:?}"
            )),
        },
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn now_secs() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

#[cfg(test)]
mod tests;
