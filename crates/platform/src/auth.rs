//! Access-token verification (EdDSA JWT) against a cached JWKS: what every service does on every call (zero trust
//! inside the cluster: a service never trusts a header the gateway added).
//!
//! Only `EdDSA` is accepted, whatever the token's header says, so `alg: none` and HS256-signed-with-the-public-key
//! forgeries fail. `iss`, `aud`, `exp`, `iat`, `sub` are required. An unknown `kid` refreshes the JWKS (at most every
//! [`MIN_REFRESH_INTERVAL`]) before the token is refused, so key rotation never logs anyone out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

pub use crate::role::{Role, UnknownRole};

/// The JWKS is fetched again for an unknown `kid` at most this often.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
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
    keys: RwLock<Arc<HashMap<String, DecodingKey>>>,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    verified: RwLock<HashMap<String, Principal>>,
}

impl JwtVerifier {
    pub fn new(issuer: &str, audience: &str, fetcher: JwksFetcher) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Self {
            validation,
            fetcher,
            keys: RwLock::new(Arc::new(HashMap::new())),
            last_fetch: tokio::sync::Mutex::new(None),
            verified: RwLock::new(HashMap::new()),
        }
    }

    /// Verifies `token` and returns its principal.
    pub async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let now = now_secs();
        if let Some(principal) = self.verified.read().get(token)
            && principal.expires_at + LEEWAY_SECS as i64 > now
        {
            return Ok(principal.clone());
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
        let principal = Principal::from(data.claims);
        let mut verified = self.verified.write();
        if verified.len() >= VERIFIED_CACHE_CAPACITY {
            verified.retain(|_, p| p.expires_at > now);
            if verified.len() >= VERIFIED_CACHE_CAPACITY {
                verified.clear();
            }
        }
        verified.insert(token.to_owned(), principal.clone());
        Ok(principal)
    }

    /// Verifies the `authorization: Bearer …` metadata of a gRPC request.
    pub async fn verify_metadata(&self, metadata: &tonic::metadata::MetadataMap) -> Result<Principal, TokenError> {
        let value = metadata.get("authorization").ok_or(TokenError::Missing)?;
        let value = value.to_str().map_err(|_| TokenError::Malformed)?;
        self.verify(bearer(value).ok_or(TokenError::Missing)?).await
    }

    /// Fetches the keys now (at start-up, to fail early); `force` ignores the refresh interval.
    pub async fn refresh(&self, force: bool) -> Result<(), TokenError> {
        let mut last = self.last_fetch.lock().await;
        if !force && last.is_some_and(|t| t.elapsed() < MIN_REFRESH_INTERVAL) {
            return Ok(());
        }
        let jwks = (self.fetcher)().await.map_err(TokenError::KeysUnavailable)?;
        *last = Some(Instant::now());
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
            *self.keys.write() = Arc::new(keys);
            // A key may have been withdrawn: forget what it verified.
            self.verified.write().clear();
        }
        Ok(())
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().get(kid).cloned()
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
