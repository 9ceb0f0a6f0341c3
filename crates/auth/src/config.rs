//! Settings of the auth service (`DEVOPSTRACK_AUTH__*`, see the README's configuration table).

use std::net::SocketAddr;

use secrecy::SecretString;
use serde::Deserialize;

use devopstrack_platform::config::{ConfigError, env_var};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub grpc_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// `postgres://…` or `sqlite://path`.
    pub database_url: String,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// An Ed25519 PKCS#8 PEM to sign with instead of the key generated on first start.
    pub signing_key_pem: Option<SecretString>,
    /// The shared secret of the client-credentials grant; service tokens are refused while it is unset.
    pub service_client_secret: Option<SecretString>,
    /// Client ids allowed to ask for a service token.
    pub service_clients: Vec<String>,
    pub lockout_max_failures: u32,
    pub lockout_window_secs: u64,
    pub lockout_duration_secs: u64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 9101)),
            database_url: "sqlite://.devopstrack/auth.db".into(),
            issuer: "devopstrack".into(),
            audience: "devopstrack".into(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 7 * 24 * 3600,
            signing_key_pem: None,
            service_client_secret: None,
            service_clients: ["gateway", "projects", "tasks", "metrics"].map(String::from).to_vec(),
            lockout_max_failures: 5,
            lockout_window_secs: 15 * 60,
            lockout_duration_secs: 15 * 60,
            // OWASP password storage cheat sheet: Argon2id, m=19 MiB, t=2, p=1.
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_parallelism: 1,
        }
    }
}

impl Settings {
    pub fn load() -> Result<Self, ConfigError> {
        let settings: Self = devopstrack_platform::config::load("auth")?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{}: {why}", env_var("auth", key))));
        if !(self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://")
            || self.database_url.starts_with("sqlite:"))
        {
            return bad("database_url", "must start with postgres:// or sqlite://");
        }
        if !(60..=24 * 3600).contains(&self.access_token_ttl_secs) {
            return bad("access_token_ttl_secs", "must be between 60 and 86400");
        }
        if self.refresh_token_ttl_secs < self.access_token_ttl_secs {
            return bad("refresh_token_ttl_secs", "must not be shorter than the access token's");
        }
        if self.issuer.is_empty() || self.audience.is_empty() {
            return bad("issuer", "issuer and audience must not be empty");
        }
        if self.lockout_max_failures == 0 {
            return bad("lockout_max_failures", "must be at least 1");
        }
        if self.argon2_memory_kib < 8 * 1024 || self.argon2_iterations == 0 || self.argon2_parallelism == 0 {
            return bad(
                "argon2_memory_kib",
                "Argon2 needs at least 8 MiB, 1 iteration and 1 lane",
            );
        }
        Ok(())
    }
}
