//! `redis()` hands out distinct keyspaces on a server that speaks RESP, not tied to any one runtime.

use devopstrack_testkit::{TestRedis, redis};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::runtime;

/// `host:port` and the database index (if any) of a `redis://[user[:password]@]host:port[/db]` URL.
fn address_and_db(url: &str) -> (String, Option<u32>) {
    let rest = url.strip_prefix("redis://").expect("a redis:// URL");
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let (address, db) = rest
        .split_once('/')
        .map_or((rest, None), |(address, db)| (address, Some(db)));
    let db = db
        .filter(|db| !db.is_empty())
        .map(|db| db.parse().expect("a numeric database index"));
    (address.to_owned(), db)
}

/// A minimal RESP client: sends one command, returns the raw reply (e.g. "+PONG\r\n" or "$3\r\nabc\r\n").
struct Resp(BufReader<TcpStream>);

impl Resp {
    /// Connects to the keyspace's server and selects its database, if the URL names one.
    async fn connect(keyspace: &TestRedis) -> Self {
        let (address, db) = address_and_db(&keyspace.url);
        let stream = TcpStream::connect(&address)
            .await
            .expect("the Redis server must accept connections");
        let mut resp = Self(BufReader::new(stream));
        if let Some(db) = db {
            assert_eq!(
                resp.command(&["SELECT", &db.to_string()]).await,
                "+OK\r\n",
                "SELECT {db}"
            );
        }
        resp
    }

    async fn command(&mut self, args: &[&str]) -> String {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        self.0
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .expect("sending a command");

        let mut reply = String::new();
        self.0.read_line(&mut reply).await.expect("reading a reply");
        if let Some(len) = reply
            .strip_prefix('$')
            .and_then(|len| len.trim_end().parse::<usize>().ok())
        {
            let mut body = vec![0; len + 2];
            self.0.read_exact(&mut body).await.expect("reading a bulk reply");
            reply.push_str(&String::from_utf8(body).expect("a UTF-8 reply"));
        }
        reply
    }
}

#[tokio::test]
async fn each_call_gets_its_own_prefix_and_a_server_that_answers_ping() {
    let Some(first) = redis().await else { return };
    let second = redis().await.expect("a second keyspace on a server that just worked");

    assert_ne!(first.prefix, second.prefix);
    for keyspace in [&first, &second] {
        assert!(
            keyspace.prefix.starts_with("t-") && keyspace.prefix.ends_with(':'),
            "{}",
            keyspace.prefix
        );
    }
    if std::env::var_os("DEVOPSTRACK_TEST_REDIS_URL").is_none() {
        // The self-started server also gives every keyspace a database of its own.
        let (first_db, second_db) = (address_and_db(&first.url).1, address_and_db(&second.url).1);
        assert!(first_db.is_some_and(|db| (1..1024).contains(&db)), "{}", first.url);
        assert_ne!(first_db, second_db);
    }

    let mut client = Resp::connect(&first).await;
    assert_eq!(client.command(&["PING"]).await, "+PONG\r\n");
    let key = format!("{}greeting", first.prefix);
    assert_eq!(client.command(&["SET", &key, "hello"]).await, "+OK\r\n");
    assert_eq!(client.command(&["GET", &key]).await, "$5\r\nhello\r\n");

    let mut other = Resp::connect(&second).await;
    assert_eq!(
        other.command(&["GET", &format!("{}greeting", second.prefix)]).await,
        "$-1\r\n"
    );
    assert_eq!(client.command(&["DEL", &key]).await, ":1\r\n");
}

#[test]
fn the_server_outlives_the_runtime_that_started_it() {
    let Some(first) = runtime().block_on(redis()) else {
        return;
    };
    let second = runtime()
        .block_on(redis())
        .expect("a keyspace after the first runtime was dropped");

    runtime().block_on(async {
        for keyspace in [&first, &second] {
            assert_eq!(Resp::connect(keyspace).await.command(&["PING"]).await, "+PONG\r\n");
        }
    });
}

#[test]
fn address_and_db_reads_the_url_forms_in_use() {
    let cases = [
        ("redis://127.0.0.1:6379", ("127.0.0.1:6379", None)),
        ("redis://127.0.0.1:6379/", ("127.0.0.1:6379", None)),
        ("redis://127.0.0.1:40000/17", ("127.0.0.1:40000", Some(17))),
        ("redis://:secret@cache:6379/2", ("cache:6379", Some(2))),
    ];
    for (url, (address, db)) in cases {
        assert_eq!(address_and_db(url), (address.to_owned(), db), "for {url}");
    }
}
