//! Settings of the tasks service (`DEVOPSTRACK_TASKS__*`, see the README's configuration table).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use devopstrack_peers::ServiceSettings;
use devopstrack_peers::settings::{is_grpc_url, validate_client};
use devopstrack_platform::config::{ConfigError, env_var};

use crate::executor::outbound::OutboundPolicy;

/// What one process of the service does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessRole {
    /// The gRPC API, the outbox and `workers` in-process workers (the default).
    All,
    /// The gRPC API and the outbox, no workers.
    Api,
    /// Only `workers` workers (plus the admin port): `devopstrack-tasks --role worker`.
    Worker,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub grpc_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// `redis://…` (production) or `sqlite://path` (embedded).
    pub database_url: String,
    /// Prefix of every Redis key (ignored by SQLite).
    pub key_prefix: String,
    pub role: ProcessRole,
    /// Concurrent jobs per process (0..=256; 0 with role `all` runs the API only).
    pub workers: u32,
    /// How long a worker's lease on a job lasts without renewal; renewed every third of it. A killed worker's job is
    /// run again after at most this long.
    pub lease_ms: u64,
    /// Leasing loops per process sharing the `workers` slots (1..=16). More than one keeps several leases in line on
    /// SQLite's one writer connection, which lowers the queueing of one-job pipelines, but splits the jobs of a stage
    /// between concurrent leases, whose starts then race for the pipeline (measured: 10-job pipelines 4x slower).
    pub lease_loops: u32,
    /// On SIGTERM a worker lets its running jobs finish for this long, then hands them back to the queue.
    pub shutdown_grace_ms: u64,
    /// gRPC URL of the projects service (environment tiers, and where finished deploys are recorded).
    pub projects_url: String,
    /// gRPC URL of the metrics service, where job runs and deployments are delivered. Empty: delivery is off (and no
    /// metrics events are written).
    pub metrics_url: String,
    /// Auth (JWKS and service tokens), the tokens' issuer and audience, the deadline of calls to auth, projects and
    /// metrics.
    #[serde(flatten)]
    pub peers: ServiceSettings,
    /// Client credentials for service tokens (to call projects). Unset: deploys are not recorded (logged once).
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    /// Secrets the `http` executor may sign with, by name (`hmacSecretRef`); only names appear in pipelines.
    pub hook_secrets: BTreeMap<String, SecretString>,
    /// How often the `http` executor polls a status URL.
    pub hook_poll_ms: u64,
    /// Non-public destinations the `http` executor may call (on-premises hooks): CIDR blocks, addresses, host names
    /// or `*.domain`, e.g. `["10.0.0.0/8","hooks.internal"]`. Empty (the default): public addresses only.
    pub outbound_allow: Vec<String>,
    /// Destinations always refused, even when `outbound_allow` covers them: `ip:port` listeners (`0.0.0.0:port`: that
    /// port on every non-public address), CIDR blocks or addresses. This service's own ports and its peers' are
    /// refused without being listed; `devopstrack up` lists the other services' listeners.
    pub outbound_deny: Vec<String>,
    /// Start on a Redis without the append-only file or with eviction, or one whose settings cannot be checked
    /// (`CONFIG` forbidden): accepted pipelines and jobs may then be lost (see `store/redis/durability.rs`).
    pub allow_volatile_redis: bool,
    /// The webhook inbox: failed processing attempts after which a delivery is parked (1..=100).
    pub webhook_max_attempts: u32,
    /// The wait after a delivery's first failed attempt, doubled after each (up to 5 minutes).
    pub webhook_backoff_ms: u64,
    /// How long a delivery taken for processing is left to its processor; a killed processor's delivery is processed
    /// again after at most this long.
    pub webhook_lease_ms: u64,
    /// Run the webhook inbox's processor in this process (roles `all` and `api`). `false`: an API replica that only
    /// receives deliveries (another process processes them).
    pub webhook_processor: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50053)),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 9103)),
            database_url: "sqlite://.devopstrack/tasks.db".into(),
            key_prefix: "devopstrack:tasks:".into(),
            role: ProcessRole::All,
            workers: 8,
            lease_ms: 15_000,
            lease_loops: 1,
            shutdown_grace_ms: 20_000,
            projects_url: "http://127.0.0.1:50052".into(),
            metrics_url: "http://127.0.0.1:50054".into(),
            peers: ServiceSettings::default(),
            client_id: "tasks".into(),
            client_secret: None,
            hook_secrets: BTreeMap::new(),
            hook_poll_ms: 1_000,
            outbound_allow: Vec::new(),
            outbound_deny: Vec::new(),
            allow_volatile_redis: false,
            webhook_max_attempts: 8,
            webhook_backoff_ms: 1_000,
            webhook_lease_ms: 120_000,
            webhook_processor: true,
        }
    }
}

impl Settings {
    pub fn load() -> Result<Self, ConfigError> {
        let settings: Self = devopstrack_peers::settings::load("tasks")?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms)
    }

    /// How the webhook inbox's processor retries.
    pub fn intake(&self) -> crate::app::intake::IntakeSettings {
        let ms = |ms: u64| chrono::TimeDelta::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX));
        crate::app::intake::IntakeSettings {
            max_attempts: self.webhook_max_attempts,
            lease: ms(self.webhook_lease_ms),
            first_backoff: ms(self.webhook_backoff_ms),
            max_backoff: chrono::TimeDelta::minutes(5),
        }
    }

    /// The `http` executor's destination policy: the two lists, plus this service's configured listeners and the
    /// listeners its peer URLs name (the caller adds the ports it actually bound).
    pub fn outbound_policy(&self) -> Result<OutboundPolicy, String> {
        let policy = OutboundPolicy::parse(&self.outbound_allow, &self.outbound_deny)?
            .deny_listener(self.grpc_addr)
            .deny_listener(self.admin_addr)
            .deny_peer(&self.peers.auth_url)
            .deny_peer(&self.projects_url);
        Ok(match self.metrics_url.as_str() {
            "" => policy,
            url => policy.deny_peer(url),
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{}: {why}", env_var("tasks", key))));
        let url = is_grpc_url;
        if !(self.database_url.starts_with("redis://")
            || self.database_url.starts_with("rediss://")
            || self.database_url.starts_with("sqlite:"))
        {
            return bad("database_url", "must start with redis://, rediss:// or sqlite://");
        }
        if self.workers > 256 {
            return bad("workers", "must be at most 256");
        }
        if self.role == ProcessRole::Worker && self.workers == 0 {
            return bad("workers", "must be at least 1 with role worker");
        }
        if !(500..=600_000).contains(&self.lease_ms) {
            return bad("lease_ms", "must be between 500 and 600000");
        }
        if !(1..=16).contains(&self.lease_loops) {
            return bad("lease_loops", "must be between 1 and 16");
        }
        if self.shutdown_grace_ms > 3_600_000 {
            return bad("shutdown_grace_ms", "must be at most 3600000");
        }
        self.peers.validate("tasks")?;
        if !url(&self.projects_url) {
            return bad("projects_url", "must be an http:// or https:// URL");
        }
        if !self.metrics_url.is_empty() && !url(&self.metrics_url) {
            return bad(
                "metrics_url",
                "must be an http:// or https:// URL, or empty (delivery off)",
            );
        }
        validate_client("tasks", &self.client_id, self.client_secret.as_ref())?;
        if !(50..=60_000).contains(&self.hook_poll_ms) {
            return bad("hook_poll_ms", "must be between 50 and 60000");
        }
        if !(1..=100).contains(&self.webhook_max_attempts) {
            return bad("webhook_max_attempts", "must be between 1 and 100");
        }
        if !(10..=300_000).contains(&self.webhook_backoff_ms) {
            return bad("webhook_backoff_ms", "must be between 10 and 300000");
        }
        if !(500..=3_600_000).contains(&self.webhook_lease_ms) {
            return bad("webhook_lease_ms", "must be between 500 and 3600000");
        }
        if let Err(why) = OutboundPolicy::parse(&self.outbound_allow, &[]) {
            return bad("outbound_allow", &why);
        }
        if let Err(why) = OutboundPolicy::parse(&[], &self.outbound_deny) {
            return bad("outbound_deny", &why);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        Settings::default().validate().unwrap();
        let off = Settings {
            metrics_url: String::new(),
            ..Settings::default()
        };
        off.validate().expect("an empty metrics URL turns delivery off");
    }

    type Breaks = fn(&mut Settings);

    #[test]
    fn a_bad_value_is_one_line_naming_the_variable() {
        let cases: [(Breaks, &str); 16] = [
            (
                |s| s.webhook_max_attempts = 0,
                "DEVOPSTRACK_TASKS__WEBHOOK_MAX_ATTEMPTS",
            ),
            (|s| s.webhook_backoff_ms = 1, "DEVOPSTRACK_TASKS__WEBHOOK_BACKOFF_MS"),
            (|s| s.webhook_lease_ms = 1, "DEVOPSTRACK_TASKS__WEBHOOK_LEASE_MS"),
            (
                |s| s.database_url = "postgres://x".into(),
                "DEVOPSTRACK_TASKS__DATABASE_URL",
            ),
            (|s| s.workers = 1000, "DEVOPSTRACK_TASKS__WORKERS"),
            (
                |s| {
                    s.role = ProcessRole::Worker;
                    s.workers = 0;
                },
                "DEVOPSTRACK_TASKS__WORKERS",
            ),
            (|s| s.lease_ms = 10, "DEVOPSTRACK_TASKS__LEASE_MS"),
            (|s| s.lease_loops = 0, "DEVOPSTRACK_TASKS__LEASE_LOOPS"),
            (
                |s| s.projects_url = "localhost".into(),
                "DEVOPSTRACK_TASKS__PROJECTS_URL",
            ),
            (|s| s.client_id.clear(), "DEVOPSTRACK_TASKS__CLIENT_ID"),
            (
                |s| s.client_secret = Some(secrecy::SecretString::from("")),
                "DEVOPSTRACK_TASKS__CLIENT_SECRET",
            ),
            (
                |s| s.client_secret = Some(secrecy::SecretString::from("31 bytes is one byte too short!")),
                "DEVOPSTRACK_TASKS__CLIENT_SECRET",
            ),
            (
                |s| s.metrics_url = "127.0.0.1:50054".into(),
                "DEVOPSTRACK_TASKS__METRICS_URL",
            ),
            (|s| s.hook_poll_ms = 1, "DEVOPSTRACK_TASKS__HOOK_POLL_MS"),
            (
                |s| s.outbound_allow = vec!["10.0.0.0/33".into()],
                "DEVOPSTRACK_TASKS__OUTBOUND_ALLOW",
            ),
            (
                |s| s.outbound_deny = vec!["hooks.internal".into()],
                "DEVOPSTRACK_TASKS__OUTBOUND_DENY",
            ),
        ];
        for (breaks, variable) in cases {
            let mut settings = Settings::default();
            breaks(&mut settings);
            let err = settings.validate().unwrap_err().to_string();
            assert!(err.contains(variable) && !err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn the_outbound_policy_refuses_this_service_s_and_its_peers_listeners_even_when_loopback_is_allowed() {
        let settings = Settings {
            outbound_allow: vec!["127.0.0.0/8".into()],
            ..Settings::default()
        };
        let loopback = std::net::IpAddr::from([127, 0, 0, 1]);

        let policy = settings.outbound_policy().expect("valid lists");

        for port in [50053, 9103, 50051, 50052, 50054] {
            assert!(policy.check(None, loopback, port).is_err(), "port {port}");
        }
        assert_eq!(policy.check(None, loopback, 8000), Ok(()));
    }
}
