//! Driver errors into [`StoreError`], once for the whole store: those that mean "the store is down, restarting or
//! busy, try again" become [`StoreError::Unavailable`] (the service answers UNAVAILABLE, the gateway 503), the rest
//! keep their driver error (INTERNAL). SQLite follows `devopstrack_platform::store`; MongoDB is classified here.

use mongodb::error::{Error as MongoError, ErrorKind};

use devopstrack_platform::store::{chain, sqlx_unavailable};

use super::StoreError;

/// Server error codes that mean the server is shutting down, stepping down or cannot reach its peers.
const UNAVAILABLE_CODES: [i32; 11] = [
    6,     // HostUnreachable
    7,     // HostNotFound
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if sqlx_unavailable(&e) {
            StoreError::Unavailable(chain(&e))
        } else {
            StoreError::Sqlite(e)
        }
    }
}

impl From<MongoError> for StoreError {
    fn from(e: MongoError) -> Self {
        if mongo_unavailable(&e) {
            StoreError::Unavailable(chain(&e))
        } else {
            StoreError::Mongo(e)
        }
    }
}

/// No server could be selected in time (all down or unreachable), the connection broke or its pool was cleared
/// after a network error, or the server is shutting down or stepping down; also anything the driver labels a
/// retryable write error.
pub(crate) fn mongo_unavailable(e: &MongoError) -> bool {
    match e.kind.as_ref() {
        ErrorKind::ServerSelection { .. } | ErrorKind::Io(_) | ErrorKind::ConnectionPoolCleared { .. } => true,
        ErrorKind::Command(command) => UNAVAILABLE_CODES.contains(&command.code),
        _ => e.contains_label("RetryableWriteError"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_server_to_select_is_unavailable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let url = format!("mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=200");
        let client = mongodb::Client::with_uri_str(&url).await.unwrap();
        let e = client
            .database("x")
            .run_command(mongodb::bson::doc! { "ping": 1 })
            .await
            .unwrap_err();
        assert!(matches!(StoreError::from(e), StoreError::Unavailable(_)));
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
