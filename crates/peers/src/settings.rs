//! The settings block every service that calls a peer shares: where auth is, which issuer and audience its tokens
//! carry, and the deadline of each call to a peer. A service's `Settings` flattens it
//! (`#[serde(flatten)] pub peers: ServiceSettings`), so the variables keep their names
//! (`DEVOPSTRACK_<SERVICE>__AUTH_URL`, `__ISSUER`, `__AUDIENCE`, `__UPSTREAM_TIMEOUT_MS`), and validates it with
//! [`ServiceSettings::validate`], naming the variable at fault.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use devopstrack_platform::config::{ConfigError, env_var};
use devopstrack_platform::grpc::ClientSettings;

use crate::clients::{self, AuthClient};

/// The deadline range of a call to a peer, in milliseconds.
pub const UPSTREAM_TIMEOUT_MS: std::ops::RangeInclusive<u64> = 100..=60_000;

/// Auth, the tokens' issuer and audience, and the deadline of peer calls. No `deny_unknown_fields`: it is flattened
/// into a service's settings, which refuse unknown keys themselves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ServiceSettings {
    /// gRPC URL of the auth service: its JWKS verifies every caller's token, and it issues service tokens.
    pub auth_url: String,
    /// The `iss` every access token must carry.
    pub issuer: String,
    /// The `aud` every access token must carry.
    pub audience: String,
    /// Deadline of each call to a peer (auth, and the service's other peers), 100..=60000.
    pub upstream_timeout_ms: u64,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            auth_url: "http://127.0.0.1:50051".into(),
            issuer: "devopstrack".into(),
            audience: "devopstrack".into(),
            upstream_timeout_ms: 5_000,
        }
    }
}

impl ServiceSettings {
    /// The first bad value, as a one-line error naming its variable (`DEVOPSTRACK_<SERVICE>__<KEY>`).
    pub fn validate(&self, service: &str) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{}: {why}", env_var(service, key))));
        if !is_grpc_url(&self.auth_url) {
            return bad("auth_url", "must be an http:// or https:// URL");
        }
        if self.issuer.is_empty() {
            return bad("issuer", "must not be empty");
        }
        if self.audience.is_empty() {
            return bad("audience", "must not be empty");
        }
        if !UPSTREAM_TIMEOUT_MS.contains(&self.upstream_timeout_ms) {
            return bad("upstream_timeout_ms", "must be between 100 and 60000");
        }
        Ok(())
    }

    /// The deadline of each call to a peer.
    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_timeout_ms)
    }

    /// How to reach the peer at `url`: with this block's deadline.
    pub fn client(&self, url: &str) -> ClientSettings {
        ClientSettings {
            timeout: self.upstream_timeout(),
            ..ClientSettings::new(url)
        }
    }

    /// A client of auth.
    pub fn auth_client(&self) -> anyhow::Result<AuthClient> {
        clients::auth(&self.client(&self.auth_url))
    }
}

/// Whether `url` can name a peer: `http://…` or `https://…`.
pub fn is_grpc_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Client credentials of a service that calls its peers as itself (`DEVOPSTRACK_<SERVICE>__CLIENT_ID` /
/// `__CLIENT_SECRET`, see [`crate::ServiceTokens`]): an id, and a secret that is either unset (calls made as the
/// service fail until one is set) or at least 32 bytes.
pub fn validate_client(
    service: &str,
    client_id: &str,
    client_secret: Option<&SecretString>,
) -> Result<(), ConfigError> {
    let bad = |key: &str, why: &str| Err(ConfigError(format!("{}: {why}", env_var(service, key))));
    if client_id.trim().is_empty() {
        return bad("client_id", "must not be empty");
    }
    if client_secret.is_some_and(|secret| secret.expose_secret().len() < 32) {
        return bad(
            "client_secret",
            "must be at least 32 bytes (e.g. `openssl rand -base64 32`)",
        );
    }
    Ok(())
}

/// [`devopstrack_platform::config::load`] for settings that flatten a [`ServiceSettings`]. serde's `flatten` hides
/// which key a bad value came from, so the block is read alone first: a bad `DEVOPSTRACK_<SERVICE>__UPSTREAM_TIMEOUT_MS`
/// is still reported naming that variable.
pub fn load<T: DeserializeOwned>(service: &str) -> Result<T, ConfigError> {
    devopstrack_platform::config::load::<ServiceSettings>(service)?;
    devopstrack_platform::config::load(service)
}

#[cfg(test)]
mod tests;
