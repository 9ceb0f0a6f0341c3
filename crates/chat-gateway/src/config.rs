//! Settings of the public edge (`DEVOPSTRACK_GATEWAY__*`, see the README's configuration table).

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use devopstrack_peers::ServiceSettings;
use devopstrack_peers::settings::{is_grpc_url, validate_client};
use devopstrack_platform::config::{ConfigError, env_var};

use crate::chat::llm::{LlmApi, LlmConfig};
use crate::extract::forwarded::{Cidr, TrustedProxies};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub http_addr: SocketAddr,
    /// The private admin port: Prometheus `/metrics`, `/healthz`, `/readyz` (never expose it publicly).
    pub admin_addr: SocketAddr,
    /// gRPC URL of the projects service.
    pub projects_url: String,
    /// gRPC URL of the tasks service (pipelines, jobs, live events).
    pub tasks_url: String,
    /// gRPC URL of the metrics service (DORA, series, the overview).
    pub metrics_url: String,
    /// Auth, the tokens' issuer and audience, and the deadline of each call to an internal service.
    #[serde(flatten)]
    pub peers: ServiceSettings,
    /// Login attempts allowed per client IP per minute (burst: a sixth of it, at least 5).
    pub login_rate_per_minute: u32,
    /// The switch: read `X-Forwarded-For` / `X-Forwarded-Proto`, from the peers in `trusted_proxies` only. On, the
    /// client address is the rightmost `X-Forwarded-For` entry that is not a trusted proxy. Needs `trusted_proxies`.
    pub trust_forwarded_for: bool,
    /// CIDRs of the proxies in front of the gateway (`["10.0.0.0/8"]`). Alone (the switch off) it trusts nobody.
    pub trusted_proxies: Vec<Cidr>,
    /// The gateway is served over HTTPS (TLS ends at a proxy or load balancer): answer `Strict-Transport-Security`.
    pub public_https: bool,
    /// Open WebSockets one user may hold (counted once authenticated); past it the socket closes with 4429.
    pub ws_max_per_user: u32,
    /// Open WebSockets one client address may hold (an IPv6 client: per /64); past it the upgrade answers 429.
    pub ws_max_per_address: u32,
    /// `Secure` on the refresh cookie; unset: secure unless bound to a loopback address.
    pub cookie_secure: Option<bool>,
    /// HTTP worker threads; unset: one per core.
    pub workers: Option<usize>,
    /// The gateway's client id for auth's client-credentials grant (its `service` token, with which login passes the
    /// client address on).
    pub client_id: String,
    /// The gateway's own secret of that grant (auth's `DEVOPSTRACK_AUTH__SERVICE_CLIENTS__GATEWAY`, at least 32
    /// bytes); unset: auth throttles logins by the gateway's address, not the browser's.
    pub client_secret: Option<SecretString>,
    /// The built dashboard (holding `index.html`), served at `/`; unset: `frontend/dist` under the working directory
    /// when it is built, else a page saying how to build it.
    pub dashboard_dir: Option<PathBuf>,
    /// The chat's database: `postgres://…/chat` in production, `sqlite://path` embedded (`devopstrack up` sets
    /// one in its data directory); unset: the chat and audit routes answer 503 naming this variable.
    pub chat_database_url: Option<String>,
    /// The chat's optional LLM: the base URL of an OpenAI-compatible API (`http://127.0.0.1:11434/v1`) or, with
    /// `chat_llm_api = "ollama"`, of Ollama's native one (`http://127.0.0.1:11434`). Unset (the default): the rules
    /// alone understand messages.
    pub chat_llm_url: Option<String>,
    /// The model the LLM endpoint serves (needed with `chat_llm_url`).
    pub chat_llm_model: Option<String>,
    /// Sent as `Authorization: Bearer …`; never logged. Unset: no `Authorization` header.
    pub chat_llm_api_key: Option<SecretString>,
    /// `openai` (`response_format` with a JSON schema, the default) or `ollama` (`/api/chat` with `format`).
    pub chat_llm_api: LlmApi,
    /// How long the bot waits for the model before the rules answer alone, 100 to 60,000 ms.
    pub chat_llm_timeout_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 9100)),
            projects_url: "http://127.0.0.1:50052".into(),
            tasks_url: "http://127.0.0.1:50053".into(),
            metrics_url: "http://127.0.0.1:50054".into(),
            peers: ServiceSettings::default(),
            login_rate_per_minute: 60,
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            public_https: false,
            ws_max_per_user: 20,
            ws_max_per_address: 50,
            cookie_secure: None,
            workers: None,
            client_id: "gateway".into(),
            client_secret: None,
            dashboard_dir: None,
            chat_database_url: None,
            chat_llm_url: None,
            chat_llm_model: None,
            chat_llm_api_key: None,
            chat_llm_api: LlmApi::default(),
            chat_llm_timeout_ms: 5_000,
        }
    }
}

impl Settings {
    pub fn load() -> Result<Self, ConfigError> {
        let settings: Self = devopstrack_peers::settings::load("gateway")?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{}: {why}", env_var("gateway", key))));
        self.peers.validate("gateway")?;
        for (key, url) in [
            ("projects_url", &self.projects_url),
            ("tasks_url", &self.tasks_url),
            ("metrics_url", &self.metrics_url),
        ] {
            if !is_grpc_url(url) {
                return bad(key, "must be an http:// or https:// URL");
            }
        }
        if self.login_rate_per_minute == 0 {
            return bad("login_rate_per_minute", "must be at least 1");
        }
        if self.trust_forwarded_for && self.trusted_proxies.is_empty() {
            return bad(
                "trusted_proxies",
                &format!(
                    "must list your proxies' CIDRs (e.g. [\"10.0.0.0/8\"]) when {} is true",
                    env_var("gateway", "trust_forwarded_for")
                ),
            );
        }
        if self.ws_max_per_user == 0 {
            return bad("ws_max_per_user", "must be at least 1");
        }
        if self.ws_max_per_address == 0 {
            return bad("ws_max_per_address", "must be at least 1");
        }
        if self.workers == Some(0) {
            return bad("workers", "must be at least 1");
        }
        validate_client("gateway", &self.client_id, self.client_secret.as_ref())?;
        if let Some(url) = &self.chat_database_url
            && !["postgres://", "postgresql://", "sqlite:"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
        {
            return bad("chat_database_url", "must be a postgres:// or sqlite:// URL");
        }
        if let Some(dir) = &self.dashboard_dir
            && !dir.join("index.html").is_file()
        {
            return bad(
                "dashboard_dir",
                "must be a directory holding index.html (cd frontend && npm run build)",
            );
        }
        self.validate_llm()
    }

    fn validate_llm(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{}: {why}", env_var("gateway", key))));
        if !(100..=60_000).contains(&self.chat_llm_timeout_ms) {
            return bad("chat_llm_timeout_ms", "must be 100 to 60000");
        }
        if self.chat_llm_api_key.as_ref().is_some_and(|key| {
            key.expose_secret().is_empty() || !key.expose_secret().bytes().all(|b| b.is_ascii_graphic())
        }) {
            return bad("chat_llm_api_key", "must be printable ASCII without spaces");
        }
        let Some(url) = &self.chat_llm_url else {
            return Ok(());
        };
        if !is_grpc_url(url) {
            return bad("chat_llm_url", "must be an http:// or https:// URL");
        }
        if self.chat_llm_model.as_deref().is_none_or(|m| m.trim().is_empty()) {
            return bad(
                "chat_llm_model",
                &format!("must name the model when {} is set", env_var("gateway", "chat_llm_url")),
            );
        }
        Ok(())
    }

    /// The chat's LLM, when one is configured.
    pub fn chat_llm(&self) -> Option<LlmConfig> {
        Some(LlmConfig {
            url: self.chat_llm_url.clone()?,
            model: self.chat_llm_model.clone()?,
            api_key: self.chat_llm_api_key.clone(),
            api: self.chat_llm_api,
            timeout: std::time::Duration::from_millis(self.chat_llm_timeout_ms),
        })
    }

    /// Whether the refresh cookie carries `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.cookie_secure.unwrap_or(!self.http_addr.ip().is_loopback())
    }

    /// Whose forwarding headers are read: nobody's unless the switch is on, then the listed proxies'.
    pub fn trusted_proxies(&self) -> TrustedProxies {
        if !self.trust_forwarded_for && !self.trusted_proxies.is_empty() {
            tracing::warn!(
                "{} is set but {} is false: X-Forwarded-For and X-Forwarded-Proto are ignored",
                env_var("gateway", "trusted_proxies"),
                env_var("gateway", "trust_forwarded_for")
            );
        }
        TrustedProxies::new(self.trust_forwarded_for, self.trusted_proxies.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls_must_be_http() {
        assert!(Settings::default().validate().is_ok());
        let bad = Settings {
            projects_url: "127.0.0.1:50052".into(),
            ..Settings::default()
        };
        let error = bad.validate().unwrap_err().to_string();
        assert!(error.contains("DEVOPSTRACK_GATEWAY__PROJECTS_URL"), "{error}");
        let bad = Settings {
            peers: ServiceSettings {
                auth_url: "grpc://auth".into(),
                ..ServiceSettings::default()
            },
            ..Settings::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("DEVOPSTRACK_GATEWAY__AUTH_URL")
        );
        let bad = Settings {
            tasks_url: "tasks:50053".into(),
            ..Settings::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("DEVOPSTRACK_GATEWAY__TASKS_URL")
        );
    }

    #[test]
    fn the_client_id_must_not_be_empty_and_the_secret_is_optional() {
        let defaults = Settings::default();
        assert_eq!(
            (defaults.client_id.as_str(), defaults.client_secret.is_none()),
            ("gateway", true)
        );
        let bad = Settings {
            client_id: " ".into(),
            ..Settings::default()
        };
        let error = bad.validate().unwrap_err().to_string();
        assert!(error.contains("DEVOPSTRACK_GATEWAY__CLIENT_ID"), "{error}");
        assert!(
            !format!(
                "{:?}",
                Settings {
                    client_secret: Some(SecretString::from("hunter2-hunter2")),
                    ..Settings::default()
                }
            )
            .contains("hunter2")
        );
    }

    #[test]
    fn an_empty_or_short_client_secret_is_refused_naming_the_variable() {
        for short in ["", "hunter2-hunter2"] {
            let bad = Settings {
                client_secret: Some(SecretString::from(short)),
                ..Settings::default()
            };
            let error = bad.validate().unwrap_err().to_string();
            assert!(
                error.contains("DEVOPSTRACK_GATEWAY__CLIENT_SECRET: must be at least 32 bytes"),
                "{error}"
            );
        }
        let long = Settings {
            client_secret: Some(SecretString::from("x".repeat(32))),
            ..Settings::default()
        };
        assert!(long.validate().is_ok());
    }

    #[test]
    fn the_forwarded_for_switch_needs_the_list_of_trusted_proxies() {
        let switch_alone = Settings {
            trust_forwarded_for: true,
            ..Settings::default()
        };
        let error = switch_alone.validate().unwrap_err().to_string();
        assert!(
            error.contains("DEVOPSTRACK_GATEWAY__TRUSTED_PROXIES")
                && error.contains("DEVOPSTRACK_GATEWAY__TRUST_FORWARDED_FOR"),
            "{error}"
        );
        let both = Settings {
            trust_forwarded_for: true,
            trusted_proxies: vec![Cidr::parse("10.0.0.0/8").unwrap()],
            ..Settings::default()
        };
        assert!(both.validate().is_ok());
        let peer = "10.0.0.2".parse().unwrap();
        assert!(both.trusted_proxies().trusts(peer));
        let list_alone = Settings {
            trust_forwarded_for: false,
            ..both
        };
        assert!(list_alone.validate().is_ok());
        assert!(
            !list_alone.trusted_proxies().trusts(peer),
            "the list alone trusts nobody"
        );
    }

    #[test]
    // figment's `Jail` closures return its (large) error type; that is its API, not ours.
    #[allow(clippy::result_large_err)]
    fn proxies_caps_and_the_admin_port_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DEVOPSTRACK_GATEWAY__TRUST_FORWARDED_FOR", "true");
            jail.set_env("DEVOPSTRACK_GATEWAY__TRUSTED_PROXIES", r#"["10.0.0.0/8", "fd00::/8"]"#);
            jail.set_env("DEVOPSTRACK_GATEWAY__PUBLIC_HTTPS", "true");
            jail.set_env("DEVOPSTRACK_GATEWAY__ADMIN_ADDR", "0.0.0.0:9109");
            jail.set_env("DEVOPSTRACK_GATEWAY__WS_MAX_PER_USER", "3");
            jail.set_env("DEVOPSTRACK_GATEWAY__WS_MAX_PER_ADDRESS", "7");

            let settings = Settings::load().expect("valid settings");

            assert_eq!(
                settings
                    .trusted_proxies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                ["10.0.0.0/8", "fd00::/8"]
            );
            assert!(settings.public_https);
            assert_eq!(settings.admin_addr.to_string(), "0.0.0.0:9109");
            assert_eq!((settings.ws_max_per_user, settings.ws_max_per_address), (3, 7));
            jail.set_env("DEVOPSTRACK_GATEWAY__TRUSTED_PROXIES", r#"["10.0.0.0/33"]"#);
            let error = Settings::load().unwrap_err().to_string();
            assert!(error.contains("DEVOPSTRACK_GATEWAY__TRUSTED_PROXIES"), "{error}");
            assert!(!error.contains('\n'), "one line: {error}");
            Ok(())
        });
    }

    #[test]
    // figment's `Jail` closures return its (large) error type; that is its API, not ours.
    #[allow(clippy::result_large_err)]
    fn the_llm_is_off_by_default_needs_a_model_and_its_key_is_never_printed() {
        let defaults = Settings::default();
        assert!(defaults.chat_llm().is_none());
        figment::Jail::expect_with(|jail| {
            jail.set_env("DEVOPSTRACK_GATEWAY__CHAT_LLM_URL", "http://127.0.0.1:11434");
            let error = Settings::load().unwrap_err().to_string();
            assert!(error.contains("DEVOPSTRACK_GATEWAY__CHAT_LLM_MODEL"), "{error}");
            jail.set_env("DEVOPSTRACK_GATEWAY__CHAT_LLM_MODEL", "smollm2");
            jail.set_env("DEVOPSTRACK_GATEWAY__CHAT_LLM_API", "ollama");
            jail.set_env("DEVOPSTRACK_GATEWAY__CHAT_LLM_API_KEY", "sk-test-never-printed");
            jail.set_env("DEVOPSTRACK_GATEWAY__CHAT_LLM_TIMEOUT_MS", "1500");
            let settings = Settings::load().expect("valid settings");
            let llm = settings.chat_llm().expect("configured");
            assert_eq!(
                (llm.model.as_str(), llm.api, llm.timeout.as_millis()),
                ("smollm2", LlmApi::Ollama, 1500)
            );
            assert!(
                !format!("{settings:?}{llm:?}").contains("sk-test"),
                "the key is redacted"
            );
            jail.set_env("DEVOPSTRACK_GATEWAY__CHAT_LLM_TIMEOUT_MS", "0");
            let error = Settings::load().unwrap_err().to_string();
            assert!(error.contains("DEVOPSTRACK_GATEWAY__CHAT_LLM_TIMEOUT_MS"), "{error}");
            jail.set_env("DEVOPSTRACK_GATEWAY__CHAT_LLM_TIMEOUT_MS", "1500");
            jail.set_env("DEVOPSTRACK_GATEWAY__CHAT_LLM_API", "anthropic");
            let error = Settings::load().unwrap_err().to_string();
            assert!(error.contains("DEVOPSTRACK_GATEWAY__CHAT_LLM_API"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn defaults_are_private_admin_port_no_hsts_and_sane_socket_caps() {
        let defaults = Settings::default();
        assert_eq!(defaults.admin_addr.to_string(), "127.0.0.1:9100");
        assert!(!defaults.public_https && !defaults.trust_forwarded_for);
        assert_eq!((defaults.ws_max_per_user, defaults.ws_max_per_address), (20, 50));
        for bad in [
            Settings {
                ws_max_per_user: 0,
                ..Settings::default()
            },
            Settings {
                ws_max_per_address: 0,
                ..Settings::default()
            },
        ] {
            let error = bad.validate().unwrap_err().to_string();
            assert!(error.contains("DEVOPSTRACK_GATEWAY__WS_MAX_PER_"), "{error}");
        }
    }
}
