//! Settings of the metrics service (`DEVOPSTRACK_METRICS__*`, see the crate README's configuration table).

use secrecy::SecretString;
use serde::Deserialize;
use std::net::SocketAddr;

use devopstrack_peers::ServiceSettings;
use devopstrack_peers::settings::is_grpc_url;
use devopstrack_platform::config::{ConfigError, env_var};

use crate::store::StoreSettings;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub grpc_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// `sqlite://path` (embedded) or `http(s)://host:8086` (InfluxDB 2).
    pub database_url: String,
    /// InfluxDB organisation and bucket (ignored by SQLite).
    pub influx_org: String,
    pub influx_bucket: String,
    /// InfluxDB API token (ignored by SQLite).
    pub influx_token: Option<SecretString>,
    /// Auth (whose JWKS verifies every caller's token), the tokens' issuer and audience, the deadline of calls to auth.
    #[serde(flatten)]
    pub peers: ServiceSettings,
    /// Events of Record* calls that may wait for their store write at once; a call that does not fit is refused
    /// UNAVAILABLE (the sender retries).
    pub buffer_capacity: usize,
    /// At most this many events per store write (one transaction, answering every call it holds); a larger call
    /// goes alone.
    pub flush_batch: usize,
    /// A deployment within this many hours after a failure in its environment counts as rework.
    pub rework_window_hours: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50054)),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 9104)),
            database_url: "sqlite://.devopstrack/metrics.db".into(),
            influx_org: "devopstrack".into(),
            influx_bucket: "devopstrack".into(),
            influx_token: None,
            peers: ServiceSettings::default(),
            buffer_capacity: 100_000,
            flush_batch: 5_000,
            rework_window_hours: 24,
        }
    }
}

impl Settings {
    pub fn load() -> Result<Self, ConfigError> {
        let settings: Self = devopstrack_peers::settings::load("metrics")?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{}: {why}", env_var("metrics", key))));
        let http = is_grpc_url;
        if !(self.database_url.starts_with("sqlite:") || http(&self.database_url)) {
            return bad("database_url", "must start with sqlite://, http:// or https://");
        }
        if http(&self.database_url) && (self.influx_org.is_empty() || self.influx_bucket.is_empty()) {
            return bad("influx_bucket", "InfluxDB needs influx_org and influx_bucket");
        }
        self.peers.validate("metrics")?;
        if !(1_000..=10_000_000).contains(&self.buffer_capacity) {
            return bad("buffer_capacity", "must be between 1000 and 10000000");
        }
        if !(1..=50_000).contains(&self.flush_batch) {
            return bad("flush_batch", "must be between 1 and 50000");
        }
        if !(1..=720).contains(&self.rework_window_hours) {
            return bad("rework_window_hours", "must be between 1 and 720");
        }
        Ok(())
    }

    pub fn store(&self) -> StoreSettings {
        StoreSettings {
            url: self.database_url.clone(),
            influx_org: self.influx_org.clone(),
            influx_bucket: self.influx_bucket.clone(),
            influx_token: self.influx_token.clone(),
        }
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
                |s| s.database_url = "postgres://x".into(),
                "DEVOPSTRACK_METRICS__DATABASE_URL",
            ),
            (
                |s| {
                    s.database_url = "http://127.0.0.1:8086".into();
                    s.influx_bucket.clear();
                },
                "DEVOPSTRACK_METRICS__INFLUX_BUCKET",
            ),
            (
                |s| s.peers.auth_url = "127.0.0.1:50051".into(),
                "DEVOPSTRACK_METRICS__AUTH_URL",
            ),
            (|s| s.peers.issuer.clear(), "DEVOPSTRACK_METRICS__ISSUER"),
            (|s| s.buffer_capacity = 10, "DEVOPSTRACK_METRICS__BUFFER_CAPACITY"),
            (|s| s.flush_batch = 0, "DEVOPSTRACK_METRICS__FLUSH_BATCH"),
            (
                |s| s.rework_window_hours = 0,
                "DEVOPSTRACK_METRICS__REWORK_WINDOW_HOURS",
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
