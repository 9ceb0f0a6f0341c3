//! Settings of the public edge (`DEVOPSTRACK_GATEWAY__*`, see the README's configuration table).

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use devopstrack_platform::config::{ConfigError, env_var};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub http_addr: SocketAddr,
    /// gRPC URL of the auth service.
    pub auth_url: String,
    /// gRPC URL of the projects service.
    pub projects_url: String,
    /// gRPC URL of the tasks service (pipelines, jobs, live events).
    pub tasks_url: String,
    /// gRPC URL of the metrics service (DORA, series, the overview).
    pub metrics_url: String,
    /// Deadline of each call to an internal service.
    pub upstream_timeout_ms: u64,
    pub issuer: String,
    pub audience: String,
    /// Login attempts allowed per client IP per minute (burst: a sixth of it, at least 5).
    pub login_rate_per_minute: u32,
    /// Take the client IP from the first `X-Forwarded-For` hop (only behind a proxy you trust).
    pub trust_forwarded_for: bool,
    /// `Secure` on the refresh cookie; unset: secure unless bound to a loopback address.
    pub cookie_secure: Option<bool>,
    /// HTTP worker threads; unset: one per core.
    pub workers: Option<usize>,
    /// The gateway's client id for auth's client-credentials grant (its `service` token, for the webhook intake).
    pub client_id: String,
    /// The gateway's own secret of that grant (auth's `DEVOPSTRACK_AUTH__SERVICE_CLIENTS__GATEWAY`, at least 32
    /// bytes); unset: webhooks answer 503 and auth throttles logins by the gateway's address, not the browser's.
    pub client_secret: Option<SecretString>,
    /// How often the webhook intake takes over deliveries whose processing died (projects'
    /// ClaimStaleGithubDeliveries: claims left unfinished past projects' claim TTL, 15 minutes by default).
    pub webhook_recovery_interval_ms: u64,
    /// The built dashboard (holding `index.html`), served at `/`; unset: `frontend/dist` under the working directory
    /// when it is built, else a page saying how to build it.
    pub dashboard_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            auth_url: "http://127.0.0.1:50051".into(),
            projects_url: "http://127.0.0.1:50052".into(),
            tasks_url: "http://127.0.0.1:50053".into(),
            metrics_url: "http://127.0.0.1:50054".into(),
            upstream_timeout_ms: 5_000,
            issuer: "devopstrack".into(),
            audience: "devopstrack".into(),
            login_rate_per_minute: 60,
            trust_forwarded_for: false,
            cookie_secure: None,
            workers: None,
            client_id: "gateway".into(),
            client_secret: None,
            webhook_recovery_interval_ms: 60_000,
            dashboard_dir: None,
        }
    }
}

impl Settings {
    pub fn load() -> Result<Self, ConfigError> {
        let settings: Self = devopstrack_platform::config::load("gateway")?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{}: {why}", env_var("gateway", key))));
        for (key, url) in [
            ("auth_url", &self.auth_url),
            ("projects_url", &self.projects_url),
            ("tasks_url", &self.tasks_url),
            ("metrics_url", &self.metrics_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad(key, "must be an http:// or https:// URL");
            }
        }
        if !(100..=60_000).contains(&self.upstream_timeout_ms) {
            return bad("upstream_timeout_ms", "must be between 100 and 60000");
        }
        if self.login_rate_per_minute == 0 {
            return bad("login_rate_per_minute", "must be at least 1");
        }
        if self.workers == Some(0) {
            return bad("workers", "must be at least 1");
        }
        if self.client_id.trim().is_empty() {
            return bad("client_id", "must not be empty");
        }
        if self
            .client_secret
            .as_ref()
            .is_some_and(|s| secrecy::ExposeSecret::expose_secret(s).len() < 32)
        {
            return bad(
                "client_secret",
                "must be at least 32 bytes (e.g. `openssl rand -base64 32`)",
            );
        }
        if self.webhook_recovery_interval_ms < 100 {
            return bad("webhook_recovery_interval_ms", "must be at least 100");
        }
        if let Some(dir) = &self.dashboard_dir
            && !dir.join("index.html").is_file()
        {
            return bad(
                "dashboard_dir",
                "must be a directory holding index.html (cd frontend && npm run build)",
            );
        }
        Ok(())
    }

    /// Whether the refresh cookie carries `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.cookie_secure.unwrap_or(!self.http_addr.ip().is_loopback())
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
            auth_url: "grpc://auth".into(),
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
    fn the_webhook_recovery_interval_is_a_minute_by_default_and_at_least_100_ms() {
        assert_eq!(Settings::default().webhook_recovery_interval_ms, 60_000);
        let fastest = Settings {
            webhook_recovery_interval_ms: 100,
            ..Settings::default()
        };
        assert!(fastest.validate().is_ok());
        let bad = Settings {
            webhook_recovery_interval_ms: 99,
            ..Settings::default()
        };
        let error = bad.validate().unwrap_err().to_string();
        assert!(
            error.contains("DEVOPSTRACK_GATEWAY__WEBHOOK_RECOVERY_INTERVAL_MS"),
            "{error}"
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
}
