//! Settings of the projects service (`DEVOPSTRACK_PROJECTS__*`, see the README's configuration table).

use std::net::SocketAddr;

use secrecy::SecretString;
use serde::Deserialize;

use devopstrack_peers::ServiceSettings;
use devopstrack_platform::config::{ConfigError, env_var};

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
        if let Err(why) = self.secrets_key() {
            return bad("secrets_key", &why);
        }
        Ok(())
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
    }

    type Breaks = fn(&mut Settings);

    #[test]
    fn a_bad_value_is_one_line_naming_the_variable() {
        let cases: [(Breaks, &str); 7] = [
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
        ];
        for (breaks, variable) in cases {
            let mut settings = Settings::default();
            breaks(&mut settings);
            let err = settings.validate().unwrap_err().to_string();
            assert!(err.contains(variable) && !err.contains('\n'), "{err}");
        }
    }
}
