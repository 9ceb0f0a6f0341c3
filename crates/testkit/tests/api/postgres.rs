//! `postgres()` hands out distinct, empty, usable databases, and its server is not tied to any one runtime.

use devopstrack_testkit::{TestPostgres, postgres};

use super::runtime;
use sqlx::{Connection, PgConnection};

/// Connects to `db`, checks it is the named, empty database, and creates a table in it.
async fn assert_fresh_and_writable(db: &TestPostgres) {
    let mut conn = PgConnection::connect(&db.url)
        .await
        .expect("the handed-out URL must accept connections");

    let current: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut conn)
        .await
        .expect("current_database()");
    assert_eq!(current, db.database);
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_one(&mut conn)
            .await
            .expect("counting tables");
    assert_eq!(tables, 0, "a fresh database has no tables");

    // The same table name in every database: this fails with "already exists" if two calls shared one.
    sqlx::raw_sql("CREATE TABLE widgets (id bigint PRIMARY KEY, name text NOT NULL)")
        .execute(&mut conn)
        .await
        .expect("CREATE TABLE in a fresh database");
    let inserted = sqlx::query("INSERT INTO widgets (id, name) VALUES (1, 'one')")
        .execute(&mut conn)
        .await
        .expect("INSERT into the new table");
    assert_eq!(inserted.rows_affected(), 1);
    conn.close().await.expect("closing the connection");
}

#[tokio::test]
async fn two_calls_give_two_distinct_empty_databases_that_accept_create_table() {
    let Some(first) = postgres().await else { return };
    let second = postgres()
        .await
        .expect("a second database on a server that just worked");

    assert_ne!(first.database, second.database);
    assert_ne!(first.url, second.url);
    for db in [&first, &second] {
        assert!(db.database.starts_with("t_"), "{}", db.database);
        assert!(db.url.ends_with(&format!("/{}", db.database)), "{}", db.url);
        assert_fresh_and_writable(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_each_get_their_own_database() {
    let Some(first) = postgres().await else { return };

    let handles: Vec<_> = (0..4).map(|_| tokio::spawn(postgres())).collect();
    let mut names = vec![first.database];
    for handle in handles {
        let db = handle
            .await
            .expect("postgres() task")
            .expect("a database on a server that just worked");
        assert_fresh_and_writable(&db).await;
        names.push(db.database);
    }

    names.sort();
    names.dedup();
    assert_eq!(names.len(), 5);
}

#[test]
fn the_server_outlives_the_runtime_that_started_it() {
    let Some(first) = runtime().block_on(postgres()) else {
        return;
    };
    // The runtime that started the server (if this test started it) is gone now.
    let second = runtime()
        .block_on(postgres())
        .expect("a database after the first runtime was dropped");

    runtime().block_on(async {
        assert_fresh_and_writable(&first).await;
        assert_fresh_and_writable(&second).await;
    });
}
