//! Settings of the projects service (`DEVOPSTRACK_PROJECTS__*`, see the README's configuration table).

use std::net::SocketAddr;

use chrono::TimeDelta;
use secrecy::SecretString;
use serde::Deserialize;

use devopstrack_peers::ServiceSettings;
use devopstrack_platform::config::{ConfigError, env_var};

use crate::domain::DELIVERY_CLAIM_TTL;

/// The longest claim TTL accepted: a day. Longer would leave a delivery whose processor died unprocessed for days,
/// and near the dedup window (7 days) its claim would be pruned before it went stale.
const MAX_WEBHOOK_CLAIM_TTL_SECONDS: u64 = 86_400;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub grpc_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// `mongodb://…` or `sqlite://path`.
    pub database_url: String,
    /// Auth (whose JWKS verifies every caller's token), the tokens' issuer and audience, the deadline of calls to auth.
    #[serde(flatten)]
    pub peers: ServiceSettings,
    /// How long a cached read (a project, a ListProjects page) may be served: the bound on how late another
    /// replica's writes show. This process's own writes invalidate the cache at once. 0 turns it off.
    pub read_cache_ms: u64,
    /// Base64 of 32 random bytes: the key that encrypts webhook secrets at rest (`openssl rand -base64 32`). Unset:
    /// webhook secrets cannot be set (SetGithubIntegration answers FAILED_PRECONDITION naming this variable).
    pub secrets_key: Option<SecretString>,
    /// How long a claimed webhook delivery may stay unfinished before its processor is presumed dead: then a
    /// redelivery is processed, and ClaimStaleGithubDeliveries hands it out again. Longer than processing one takes;
    /// 1..=86400 (default 900, [`crate::domain::DELIVERY_CLAIM_TTL`]).
    pub webhook_claim_ttl_seconds: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50052)),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 9102)),
            database_url: "sqlite://.devopstrack/projects.db".into(),
            peers: ServiceSettings::default(),
            read_cache_ms: 1_000,
            secrets_key: None,
            webhook_claim_ttl_seconds: DELIVERY_CLAIM_TTL.num_seconds().unsigned_abs(),
        }
    }
}

impl Settings {
    pub fn load() -> Result<Self, ConfigError> {
        let settings: Self = devopstrack_peers::settings::load("projects")?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{}: {why}", env_var("projects", key))));
        if !(self.database_url.starts_with("mongodb://")
            || self.database_url.starts_with("mongodb+srv://")
            || self.database_url.starts_with("sqlite:"))
        {
            return bad("database_url", "must start with mongodb:// or sqlite://");
        }
        self.peers.validate("projects")?;
        if self.read_cache_ms > 60_000 {
            return bad("read_cache_ms", "must be between 0 (off) and 60000");
        }
        if !(1..=MAX_WEBHOOK_CLAIM_TTL_SECONDS).contains(&self.webhook_claim_ttl_seconds) {
            return bad(
                "webhook_claim_ttl_seconds",
                "must be between 1 and 86400 (a day): how long a webhook delivery may stay unfinished",
            );
        }
        if let Err(why) = self.secrets_key() {
            return bad("secrets_key", &why);
        }
        Ok(())
    }

    /// [`Self::webhook_claim_ttl_seconds`] as a duration (validated by [`Self::validate`]; clamped here all the same).
    pub fn webhook_claim_ttl(&self) -> TimeDelta {
        let seconds = self.webhook_claim_ttl_seconds.clamp(1, MAX_WEBHOOK_CLAIM_TTL_SECONDS);
        TimeDelta::seconds(i64::try_from(seconds).unwrap_or(1))
    }

    /// The webhook secrets' key, if one is set (validated by [`Self::validate`]).
    pub fn secrets_key(&self) -> Result<Option<crate::secrets::SecretsKey>, String> {
        self.secrets_key
            .as_ref()
            .map(crate::secrets::SecretsKey::from_base64)
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        Settings::default().validate().unwrap();
        assert_eq!(Settings::default().webhook_claim_ttl(), DELIVERY_CLAIM_TTL);
        assert_eq!(Settings::default().webhook_claim_ttl_seconds, 900);
    }

    type Breaks = fn(&mut Settings);

    #[test]
    fn a_bad_value_is_one_line_naming_the_variable() {
        let cases: [(Breaks, &str); 9] = [
            (
                |s| s.database_url = "postgres://x/y".into(),
                "DEVOPSTRACK_PROJECTS__DATABASE_URL",
            ),
            (
                |s| s.peers.auth_url = "127.0.0.1:50051".into(),
                "DEVOPSTRACK_PROJECTS__AUTH_URL",
            ),
            (|s| s.peers.issuer.clear(), "DEVOPSTRACK_PROJECTS__ISSUER"),
            (|s| s.peers.audience.clear(), "DEVOPSTRACK_PROJECTS__AUDIENCE"),
            (
                |s| s.peers.upstream_timeout_ms = 5,
                "DEVOPSTRACK_PROJECTS__UPSTREAM_TIMEOUT_MS",
            ),
            (|s| s.read_cache_ms = 3_600_000, "DEVOPSTRACK_PROJECTS__READ_CACHE_MS"),
            (
                |s| s.secrets_key = Some(SecretString::from("c2hvcnQ=")),
                "DEVOPSTRACK_PROJECTS__SECRETS_KEY",
            ),
            (
                |s| s.webhook_claim_ttl_seconds = 0,
                "DEVOPSTRACK_PROJECTS__WEBHOOK_CLAIM_TTL_SECONDS",
            ),
            (
                |s| s.webhook_claim_ttl_seconds = u64::MAX,
                "DEVOPSTRACK_PROJECTS__WEBHOOK_CLAIM_TTL_SECONDS",
            ),
        ];
        for (breaks, variable) in cases {
            let mut settings = Settings::default();
            breaks(&mut settings);
            let err = settings.validate().unwrap_err().to_string();
            assert!(err.contains(variable) && !err.contains('\n'), "{err}");
        }
    }
}
