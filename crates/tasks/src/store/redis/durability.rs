//! What tasks requires of a Redis that holds its pipelines and queue, checked once at start (`CONFIG GET`):
//!
//! - `appendonly yes`: every write goes to the append-only file (AOF) before its reply is sent, so a restart of Redis,
//!   clean or not (SIGTERM, `SHUTDOWN`, SIGKILL, a crash), loses no acknowledged pipeline or job. Without it a restart
//!   loses everything since the last RDB snapshot.
//! - `appendfsync everysec` (or `always`): the AOF is synced to disk every second (or on every write). With
//!   `everysec`, a crash of the whole machine (power loss, kernel panic) may lose about the last second of
//!   acknowledged writes (up to two when a slow disk makes Redis postpone a write); `always` loses none and costs a
//!   sync per write. `no` leaves syncing to the OS (up to ~30 s on Linux).
//! - `maxmemory-policy noeviction`: a full Redis refuses writes (the caller gets UNAVAILABLE) instead of evicting keys,
//!   which would silently drop pipelines, queue entries or the outbox.
//!
//! A managed Redis that forbids `CONFIG` cannot be checked: the operator, who knows how it is configured, says so with
//! `DEVOPSTRACK_TASKS__ALLOW_VOLATILE_REDIS=true` (which also accepts a Redis that does not meet the requirements).

use ::redis::aio::ConnectionLike;

use crate::store::StoreError;

/// The environment variable that skips the check.
pub const OVERRIDE: &str = "DEVOPSTRACK_TASKS__ALLOW_VOLATILE_REDIS";

/// What `CONFIG GET` answered for the settings tasks depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persistence {
    pub appendonly: String,
    pub appendfsync: String,
    pub maxmemory_policy: String,
}

impl Persistence {
    /// The settings that break the requirements, as `name value (want …)`; empty when all is well.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.appendonly.eq_ignore_ascii_case("yes") {
            problems.push(format!("appendonly {} (want yes)", self.appendonly));
        }
        if !matches!(self.appendfsync.to_ascii_lowercase().as_str(), "everysec" | "always") {
            problems.push(format!("appendfsync {} (want everysec or always)", self.appendfsync));
        }
        if !self.maxmemory_policy.eq_ignore_ascii_case("noeviction") {
            problems.push(format!("maxmemory-policy {} (want noeviction)", self.maxmemory_policy));
        }
        problems
    }
}

/// Reads the three settings with one `CONFIG GET`.
pub async fn persistence(conn: &mut impl ConnectionLike) -> Result<Persistence, ::redis::RedisError> {
    let pairs: Vec<(String, String)> = ::redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .arg("appendfsync")
        .arg("maxmemory-policy")
        .query_async(conn)
        .await?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| "(not reported)".to_owned())
    };
    Ok(Persistence {
        appendonly: get("appendonly"),
        appendfsync: get("appendfsync"),
        maxmemory_policy: get("maxmemory-policy"),
    })
}

/// Refuses (one line, naming [`OVERRIDE`]) a Redis that could lose acknowledged writes, or that cannot be checked.
pub async fn require_durable(conn: &mut impl ConnectionLike) -> Result<(), StoreError> {
    let settings = match persistence(conn).await {
        Ok(settings) => settings,
        Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() || e.is_connection_refusal() => {
            return Err(e.into());
        }
        Err(e) => {
            return Err(StoreError::Volatile(format!(
                "cannot check the Redis persistence settings (CONFIG GET answered: {}); tasks needs appendonly yes, \
                 appendfsync everysec (or always) and maxmemory-policy noeviction: if this Redis runs so (a managed \
                 service that forbids CONFIG), set {OVERRIDE}=true",
                one_line(&e.to_string())
            )));
        }
    };
    let problems = settings.problems();
    if problems.is_empty() {
        return Ok(());
    }
    Err(StoreError::Volatile(format!(
        "Redis runs with {}: accepted pipelines and jobs could be lost on a restart or evicted; run it with \
         appendonly yes, appendfsync everysec and maxmemory-policy noeviction, or set {OVERRIDE}=true to accept that",
        problems.join(", ")
    )))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(appendonly: &str, appendfsync: &str, policy: &str) -> Persistence {
        Persistence {
            appendonly: appendonly.into(),
            appendfsync: appendfsync.into(),
            maxmemory_policy: policy.into(),
        }
    }

    #[test]
    fn only_aof_synced_at_least_every_second_without_eviction_passes() {
        assert!(settings("yes", "everysec", "noeviction").problems().is_empty());
        assert!(settings("yes", "always", "noeviction").problems().is_empty());
        assert_eq!(
            settings("no", "no", "allkeys-lru").problems(),
            [
                "appendonly no (want yes)",
                "appendfsync no (want everysec or always)",
                "maxmemory-policy allkeys-lru (want noeviction)"
            ]
        );
        assert_eq!(settings("yes", "everysec", "volatile-ttl").problems().len(), 1);
    }
}
