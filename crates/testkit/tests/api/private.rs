//! Private servers stop, die and start again on the same port and data directory, and the shared Redis runs as the
//! tasks service requires (append-only file, no eviction).

use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Sends one RESP command to 127.0.0.1:`port` and returns the first line of the reply plus, for a bulk string or an
/// array of them, their contents (enough for `SET`, `GET` and `CONFIG GET`).
async fn redis_command(port: u16, args: &[&str]) -> Vec<String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect to Redis");
    let mut stream = BufReader::new(stream);
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.get_mut().write_all(request.as_bytes()).await.expect("send");
    let mut line = String::new();
    stream.read_line(&mut line).await.expect("a reply");
    let first = line.trim().to_owned();
    // A bulk string: its content follows. An array of n bulk strings: n times a length line and the content.
    let contents = match first.as_bytes().first() {
        Some(b'$') if first != "$-1" => 1,
        Some(b'*') => first[1..].parse::<usize>().unwrap_or(0),
        _ => 0,
    };
    let mut lines = vec![first.clone()];
    for _ in 0..contents {
        if first.starts_with('*') {
            line.clear();
            stream.read_line(&mut line).await.expect("a length line");
        }
        line.clear();
        stream.read_line(&mut line).await.expect("a bulk string");
        lines.push(line.trim().to_owned());
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_redis_keeps_acknowledged_writes_across_a_clean_stop_and_a_kill_9() {
    let Some(mut redis) = devopstrack_testkit::redis_private().await else {
        return;
    };
    let port = redis.port();
    assert_eq!(
        redis_command(port, &["CONFIG", "GET", "appendonly"]).await,
        ["*2", "appendonly", "yes"]
    );

    assert_eq!(redis_command(port, &["SET", "k", "before-stop"]).await, ["+OK"]);
    redis.stop().await.expect("stop");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "stopped means down"
    );
    redis.start().await.expect("start again");
    assert_eq!(redis_command(port, &["GET", "k"]).await, ["$11", "before-stop"]);

    assert_eq!(redis_command(port, &["SET", "k", "before-kill"]).await, ["+OK"]);
    redis.kill_9().await.expect("kill -9");
    redis.start().await.expect("start after the kill");
    assert_eq!(redis_command(port, &["GET", "k"]).await, ["$11", "before-kill"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_redis_runs_with_the_append_only_file_and_no_eviction() {
    let Some(keyspace) = devopstrack_testkit::redis().await else {
        return;
    };
    let port: u16 = keyspace
        .url
        .trim_start_matches("redis://")
        .rsplit_once('@')
        .map_or(keyspace.url.trim_start_matches("redis://"), |(_, host)| host)
        .split(['/', ':'])
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("a port in the URL");
    // The testkit's own server, or scripts/test-servers.sh's (DEVOPSTRACK_TEST_REDIS_URL): both must run so, or the
    // tasks service refuses to start on them.
    let policy = redis_command(port, &["CONFIG", "GET", "maxmemory-policy"]).await;
    let aof = redis_command(port, &["CONFIG", "GET", "appendonly"]).await;
    assert_eq!(policy, ["*2", "maxmemory-policy", "noeviction"]);
    assert_eq!(aof, ["*2", "appendonly", "yes"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_postgres_is_down_while_stopped_and_keeps_its_data_when_started_again() {
    let Some(mut postgres) = devopstrack_testkit::postgres_private().await else {
        return;
    };
    let database = devopstrack_testkit::postgres_database_on(postgres.url())
        .await
        .expect("a database");
    let mut conn = PgConnection::connect(&database.url).await.expect("connect");
    sqlx::raw_sql("CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
        .execute(&mut conn)
        .await
        .expect("write");
    drop(conn);

    postgres.stop().await.expect("stop");
    let refused = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&database.url)).await;
    postgres.start().await.expect("start again");
    let mut conn = PgConnection::connect(&database.url)
        .await
        .expect("connect after the restart");
    let kept: i32 = sqlx::query_scalar("SELECT x FROM t")
        .fetch_one(&mut conn)
        .await
        .expect("read");

    assert!(matches!(refused, Ok(Err(_))), "connecting while stopped fails at once");
    assert_eq!(kept, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_mongodb_is_down_while_stopped_and_back_on_the_same_port() {
    let Some(mut mongodb) = devopstrack_testkit::mongodb_private().await else {
        return;
    };
    let port = mongodb.port();
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_ok());
    mongodb.stop().await.expect("stop");
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    mongodb.start().await.expect("start again");
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_ok());
    assert!(mongodb.url().contains(&format!("127.0.0.1:{port}")));
}
