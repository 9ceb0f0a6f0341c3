//! Settings of the auth service (`DEVOPSTRACK_AUTH__*`, see the README's configuration table).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use secrecy::SecretString;
use serde::Deserialize;

use devopstrack_platform::config::{ConfigError, env_var};

use crate::kek::Kek;

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
    /// An Ed25519 PKCS#8 PEM to sign with instead of the key generated on first start (no scheduled rotation then).
    pub signing_key_pem: Option<SecretString>,
    /// Base64 of 32 bytes: the key-encryption key the signing keys are sealed under in the store. Required to run.
    pub signing_key_kek: Option<SecretString>,
    /// Days between scheduled signing-key rotations; 0: only `devopstrack auth rotate-keys`.
    pub signing_key_rotation_days: u32,
    /// How often auth re-reads its keys from the store, rotates when due, retires old keys and prunes throttle
    /// records.
    pub key_maintenance_interval_secs: u64,
    /// The client-credentials grant: client id → its own secret (at least 32 bytes), e.g.
    /// `DEVOPSTRACK_AUTH__SERVICE_CLIENTS__TASKS=…`. Empty: service tokens are refused.
    pub service_clients: BTreeMap<String, SecretString>,
    /// Password guesses per (account, source address) without delay; then each waits twice as long as the last.
    pub login_free_failures: u32,
    /// How long an (account, source) pair is remembered after its last delay ran out.
    pub login_failure_window_secs: u64,
    /// The longest delay between two guesses.
    pub login_max_delay_secs: u64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Memory all concurrent Argon2 hashes may use together: at most this over `argon2_memory_kib` run at once.
    pub argon2_memory_budget_mib: u32,
    /// How long a password check waits for a free Argon2 slot before answering UNAVAILABLE.
    pub argon2_queue_timeout_ms: u64,
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
            signing_key_kek: None,
            signing_key_rotation_days: 30,
            key_maintenance_interval_secs: 60,
            service_clients: BTreeMap::new(),
            login_free_failures: 5,
            login_failure_window_secs: 15 * 60,
            login_max_delay_secs: 15 * 60,
            // OWASP password storage cheat sheet: Argon2id, m=19 MiB, t=2, p=1.
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            argon2_memory_budget_mib: 256,
            argon2_queue_timeout_ms: 5_000,
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
        if let Some(kek) = &self.signing_key_kek {
            Kek::from_base64(kek)
                .map_err(|why| ConfigError(format!("{}: {why}", env_var("auth", "signing_key_kek"))))?;
        }
        if self.signing_key_rotation_days > 3650 {
            return bad("signing_key_rotation_days", "must be at most 3650 (0: never)");
        }
        if !(1..=3600).contains(&self.key_maintenance_interval_secs) {
            return bad("key_maintenance_interval_secs", "must be between 1 and 3600");
        }
        crate::service_clients::validate(&self.service_clients).map_err(ConfigError)?;
        if self.login_free_failures == 0 {
            return bad("login_free_failures", "must be at least 1");
        }
        if !(1..=24 * 3600).contains(&self.login_max_delay_secs) {
            return bad("login_max_delay_secs", "must be between 1 and 86400");
        }
        if !(1..=7 * 24 * 3600).contains(&self.login_failure_window_secs) {
            return bad("login_failure_window_secs", "must be between 1 and 604800");
        }
        if self.argon2_memory_kib < 8 * 1024 || self.argon2_iterations == 0 || self.argon2_parallelism == 0 {
            return bad(
                "argon2_memory_kib",
                "Argon2 needs at least 8 MiB, 1 iteration and 1 lane",
            );
        }
        if u64::from(self.argon2_memory_budget_mib) * 1024 < u64::from(self.argon2_memory_kib) {
            return bad(
                "argon2_memory_budget_mib",
                "must hold at least one hash (argon2_memory_kib / 1024)",
            );
        }
        if !(1..=60_000).contains(&self.argon2_queue_timeout_ms) {
            return bad("argon2_queue_timeout_ms", "must be between 1 and 60000");
        }
        Ok(())
    }

    /// The key-encryption key, which a running service needs (admin commands that only create users do not).
    pub fn kek(&self) -> Result<Kek, ConfigError> {
        let var = env_var("auth", "signing_key_kek");
        let encoded = self.signing_key_kek.as_ref().ok_or_else(|| {
            ConfigError(format!(
                "{var}: must be set: the signing keys are encrypted under it (base64 of 32 bytes, e.g. `openssl \
                 rand -base64 32`; keep it outside the database)"
            ))
        })?;
        Kek::from_base64(encoded).map_err(|why| ConfigError(format!("{var}: {why}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(settings: Settings) -> String {
        settings.validate().unwrap_err().to_string()
    }

    #[test]
    fn a_short_service_secret_or_a_bad_kek_is_refused_naming_its_variable() {
        let short = Settings {
            service_clients: BTreeMap::from([("gateway".to_owned(), SecretString::from("too short"))]),
            ..Settings::default()
        };
        let bad_kek = Settings {
            signing_key_kek: Some(SecretString::from("not base64!")),
            ..Settings::default()
        };

        let short = error(short);
        let bad_kek = error(bad_kek);

        assert!(
            short.contains("DEVOPSTRACK_AUTH__SERVICE_CLIENTS__GATEWAY: "),
            "{short}"
        );
        assert!(bad_kek.contains("DEVOPSTRACK_AUTH__SIGNING_KEY_KEK: "), "{bad_kek}");
        let missing = Settings::default().kek().unwrap_err().to_string();
        assert!(
            missing.contains("DEVOPSTRACK_AUTH__SIGNING_KEY_KEK: must be set"),
            "{missing}"
        );
        assert!(!missing.contains('\n') && !short.contains('\n'));
    }

    #[test]
    fn the_argon2_budget_must_hold_one_hash() {
        let tight = Settings {
            argon2_memory_budget_mib: 18,
            ..Settings::default()
        };
        assert!(error(tight).contains("DEVOPSTRACK_AUTH__ARGON2_MEMORY_BUDGET_MIB"));
        assert!(Settings::default().validate().is_ok());
    }
}
