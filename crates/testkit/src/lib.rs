//! Test-only helpers for DevOpsTrack: a fresh PostgreSQL database and a fresh Redis keyspace per test, private
//! servers a test may stop and restart (outage tests), and quiet test logging.
//!
//! Servers come from the environment or are started on demand:
//!
//! - `DEVOPSTRACK_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`) and
//!   `DEVOPSTRACK_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6379`) name servers to use. `scripts/test-servers.sh`
//!   sets both for a whole `cargo nextest` run, which runs every test in its own process.
//! - Otherwise the first call in a test process starts a throwaway server (PostgreSQL: `initdb` + `postgres` as the
//!   `postgres` user when running as root; Redis: `redis-server`) in a temp dir on a free port. A watchdog stops it
//!   and removes the dir once the test process has exited.
//! - A backend that is unavailable makes [`postgres`]/[`redis`] print a loud `SKIPPED` message and return `None`;
//!   with `DEVOPSTRACK_REQUIRE_BACKENDS=1` (as in CI) they panic instead.
//! - Redis runs as the tasks service requires of its store: append-only file on (`appendfsync everysec`), no
//!   eviction.
//! - [`postgres_private`], [`redis_private`] and [`mongodb_private`] start a server of the caller's own, never
//!   shared, which it may [stop](PrivateServer::stop), [kill](PrivateServer::kill_9) and
//!   [start](PrivateServer::start) again on the same port and data directory.
//!
//! ```no_run
//! # async fn example() {
//! let Some(db) = devopstrack_testkit::postgres().await else { return };
//! // connect to db.url, migrate, test…
//! # }
//! ```

mod postgres;
mod private;
mod process;
mod redis;

pub use private::{PrivateServer, mongodb_private, postgres_private, redis_private};

use std::sync::Once;

/// Set to `1` or `true` to turn a missing backend into a test failure instead of a skip.
pub const REQUIRE_BACKENDS_VAR: &str = "DEVOPSTRACK_REQUIRE_BACKENDS";

/// A fresh, empty PostgreSQL database created for one test. It is not dropped afterwards: the throwaway server goes
/// away with its test process, and a shared server is expected to be throwaway as well.
#[derive(Debug, Clone)]
pub struct TestPostgres {
    /// Connection URL of the new database: `postgres://…/<database>`.
    pub url: String,
    /// Name of the new database, `t_<uuid without dashes>`.
    pub database: String,
}

/// A keyspace on a Redis server for one test: use only keys that start with `prefix`.
#[derive(Debug, Clone)]
pub struct TestRedis {
    /// Connection URL. On the self-started server `redis://127.0.0.1:P/<db>` with a database index of its own;
    /// with `DEVOPSTRACK_TEST_REDIS_URL` that URL unchanged, shared with other tests.
    pub url: String,
    /// Unique key prefix, `t-<uuid without dashes>:`.
    pub prefix: String,
}

/// A fresh, empty PostgreSQL database for one test. `None` means PostgreSQL is unavailable and the test should return
/// early (a loud message was printed). Panics instead of returning `None` when [`require_backends`] is true.
pub async fn postgres() -> Option<TestPostgres> {
    match postgres::fresh_database().await {
        Ok(database) => Some(database),
        Err(reason) => unavailable("PostgreSQL", postgres::URL_VAR, "postgresql", &reason),
    }
}

/// A fresh, empty database on the PostgreSQL server at `admin_url` (e.g. a [`postgres_private`] server's
/// [`PrivateServer::url`]).
pub async fn postgres_database_on(admin_url: &str) -> anyhow::Result<TestPostgres> {
    postgres::database_on(admin_url, admin_url).await
}

/// A fresh keyspace on a Redis server for one test. `None` means Redis is unavailable and the test should return early
/// (a loud message was printed). Panics instead of returning `None` when [`require_backends`] is true.
pub async fn redis() -> Option<TestRedis> {
    match redis::fresh_keyspace().await {
        Ok(keyspace) => Some(keyspace),
        Err(reason) => unavailable("Redis", redis::URL_VAR, "redis-server", &reason),
    }
}

/// Installs a tracing subscriber once per process: quiet unless `TEST_LOG` is set, then logging to the test writer
/// (captured per test) with `TEST_LOG` as the filter (`TEST_LOG=1` or `true` mean "debug"). If another global
/// subscriber is already installed, that one stays.
pub fn init_test_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let Some(filter) = log_filter(std::env::var("TEST_LOG").ok().as_deref()) else {
            return;
        };
        let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|err| {
            eprintln!("testkit: TEST_LOG={filter:?} is not a valid filter ({err}); logging at debug");
            tracing_subscriber::EnvFilter::new("debug")
        });
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// True when `DEVOPSTRACK_REQUIRE_BACKENDS` is `1` or `true`.
pub fn require_backends() -> bool {
    is_set(std::env::var(REQUIRE_BACKENDS_VAR).ok().as_deref())
}

/// The filter for a `TEST_LOG` value: `None` (quiet) when unset or empty.
fn log_filter(test_log: Option<&str>) -> Option<String> {
    let value = test_log?.trim();
    match value.to_ascii_lowercase().as_str() {
        "" | "0" | "false" => None,
        "1" | "true" => Some("debug".to_owned()),
        _ => Some(value.to_owned()),
    }
}

/// Whether a boolean flag variable is set: `1` or `true` (any case).
fn is_set(value: Option<&str>) -> bool {
    value.is_some_and(|value| matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true"))
}

/// Reports an unavailable backend: a panic when backends are required, otherwise a loud message and `None`.
fn unavailable<T>(backend: &str, url_var: &str, package: &str, reason: &anyhow::Error) -> Option<T> {
    let summary = format!("{backend} unavailable: {}", format!("{reason:#}").trim_end());
    if require_backends() {
        panic!("{summary}\n({REQUIRE_BACKENDS_VAR} is set, so this is a failure; set {url_var} or install {package})");
    }
    let rule = "=".repeat(100);
    eprintln!(
        "{rule}\nSKIPPED: {summary}; set {url_var} or install {package}\n\
         (this test returned early without testing anything; set {REQUIRE_BACKENDS_VAR}=1 to make it fail)\n{rule}"
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_set_only_by_one_or_true() {
        let cases = [
            (None, false),
            (Some(""), false),
            (Some("0"), false),
            (Some("no"), false),
            (Some("1"), true),
            (Some("true"), true),
            (Some("TRUE"), true),
            (Some(" true "), true),
        ];
        for (value, expected) in cases {
            assert_eq!(is_set(value), expected, "for {value:?}");
        }
    }

    #[test]
    fn test_log_picks_quiet_debug_or_the_given_filter() {
        let cases = [
            (None, None),
            (Some(""), None),
            (Some("0"), None),
            (Some("1"), Some("debug")),
            (Some("true"), Some("debug")),
            (Some("info"), Some("info")),
            (Some("devopstrack_auth=trace,info"), Some("devopstrack_auth=trace,info")),
        ];
        for (value, expected) in cases {
            assert_eq!(log_filter(value).as_deref(), expected, "for {value:?}");
        }
    }
}
