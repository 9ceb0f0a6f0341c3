//! Driver errors into [`StoreError`], once for the whole store: those that mean "the store is down, restarting or
//! busy, try again" become [`StoreError::Unavailable`] (the service answers UNAVAILABLE, the gateway 503), the rest
//! keep their driver error (INTERNAL). SQL drivers follow `devopstrack_platform::store`; Redis is classified here.

use ::redis::{ErrorKind, RedisError, ServerErrorKind};

use devopstrack_platform::store::{chain, sqlx_unavailable};

use super::StoreError;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if sqlx_unavailable(&e) {
            StoreError::Unavailable(chain(&e))
        } else {
            StoreError::Sqlite(e)
        }
    }
}

impl From<RedisError> for StoreError {
    fn from(e: RedisError) -> Self {
        if redis_unavailable(&e) {
            StoreError::Unavailable(chain(&e))
        } else {
            StoreError::Redis(e)
        }
    }
}

/// The connection is refused, broke or timed out; or the server is loading its data after a restart (`LOADING`),
/// out of memory under `noeviction` (`OOM`), cannot persist (`MISCONF`), a read-only replica, or a cluster in
/// failover (`TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`).
pub(crate) fn redis_unavailable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
            )
        )
        || matches!(e.code(), Some("OOM" | "MISCONF"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_and_a_loading_or_full_server_are_unavailable_and_script_errors_are_not() {
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let reset = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        for e in [refused, reset] {
            assert!(matches!(StoreError::from(e), StoreError::Unavailable(_)));
        }
        let loading = RedisError::from((
            ErrorKind::Server(ServerErrorKind::BusyLoading),
            "Redis is loading the dataset in memory",
        ));
        assert!(redis_unavailable(&loading), "{loading:?}");
        let wrong_type = RedisError::from((ErrorKind::UnexpectedReturnType, "not a stream"));
        assert!(matches!(StoreError::from(wrong_type), StoreError::Redis(_)));
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Sqlite(_)
        ));
    }
}
