//! One rule, for every service, telling "the database is down, overloaded or restarting: try again shortly" from
//! every other driver error. Each store turns the errors this accepts into its own `StoreError::Unavailable`, which
//! its service answers as UNAVAILABLE (the gateway: 503 with `Retry-After`), never as an internal error.
//!
//! The Redis (tasks) and MongoDB (projects) rules live with those stores: only one service uses each driver.

use sqlx::error::DatabaseError;

/// True when `e` says the SQL store cannot be reached or cannot take the request right now, so the same request may
/// succeed later: the pool found no live connection within its acquire timeout (the server refuses connections or
/// does not answer), the connection broke (I/O, TLS), the pool or its worker is gone, PostgreSQL is shutting down,
/// starting, or out of connections (SQLSTATE class 08, 57P01–57P03, 53300), or SQLite stayed busy or locked past its
/// busy timeout or ran out of disk.
pub fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => database_unavailable(db.as_ref()),
        _ => false,
    }
}

fn database_unavailable(db: &dyn DatabaseError) -> bool {
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = pg.code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300");
    }
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // The extended result code; the primary code is its low byte. 5 BUSY, 6 LOCKED, 13 FULL.
        let primary = db.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff);
        return matches!(primary, Some(5 | 6 | 13));
    }
    false
}

/// `e` and its sources, joined with `: ` (driver errors often keep the useful part, "connection refused", in a
/// source).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::ConnectOptions;
    use sqlx::postgres::PgPoolOptions;

    use super::*;

    #[tokio::test]
    async fn a_postgres_server_that_refuses_connections_is_unavailable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(300))
            .connect_lazy(&format!("postgres://u@127.0.0.1:{port}/db"))
            .unwrap();
        let e = sqlx::query("SELECT 1").execute(&pool).await.unwrap_err();
        assert!(sqlx_unavailable(&e), "{e:?}");
    }

    #[tokio::test]
    async fn a_busy_sqlite_database_is_unavailable_and_a_constraint_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/x.db?mode=rwc", dir.path().display());
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let options = options.busy_timeout(Duration::ZERO);
        let mut holder = options.connect().await.unwrap();
        let mut other = options.connect().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .execute(&mut holder)
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut holder).await.unwrap();
        let busy = sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap_err();
        assert!(sqlx_unavailable(&busy), "{busy:?}");
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut holder)
            .await
            .unwrap();
        let duplicate = sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut holder)
            .await
            .unwrap_err();
        assert!(!sqlx_unavailable(&duplicate), "{duplicate:?}");
        assert!(!sqlx_unavailable(&sqlx::Error::RowNotFound));
    }

    #[test]
    fn chain_joins_the_sources_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let e = sqlx::Error::Io(io);
        assert!(chain(&e).contains("connection refused"), "{}", chain(&e));
    }
}
