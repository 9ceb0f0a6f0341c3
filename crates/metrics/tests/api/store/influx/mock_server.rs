//! A tiny HTTP/1.1 server on 127.0.0.1 standing in for InfluxDB: it records every request exactly (method, path,
//! decoded query, headers, body) and answers each with the next scripted reply (`500` once the script is empty, so
//! an unexpected request fails the test). One request per connection (`Connection: close`); bodies must carry a
//! `Content-Length`, which both clients the store uses send for the bodies it builds.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The Flux text of a `/api/v2/query` request, after checking the rest of its JSON body.
    pub fn flux(&self) -> String {
        let json: serde_json::Value = serde_json::from_str(&self.body).expect("a JSON query body");
        assert_eq!(json["type"], "flux", "{json}");
        assert_eq!(json["dialect"]["header"], true, "{json}");
        assert_eq!(
            json["dialect"]["annotations"],
            serde_json::json!(["datatype", "group", "default"]),
            "{json}"
        );
        json["query"].as_str().expect("a query string").to_owned()
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    pub fn csv(body: &str) -> Self {
        Self {
            status: 200,
            content_type: "text/csv; charset=utf-8",
            body: body.to_owned(),
        }
    }

    pub fn json(status: u16, body: &str) -> Self {
        Self {
            status,
            content_type: "application/json; charset=utf-8",
            body: body.to_owned(),
        }
    }

    pub fn no_content() -> Self {
        Self {
            status: 204,
            content_type: "text/plain",
            body: String::new(),
        }
    }
}

pub struct MockInflux {
    pub url: String,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockInflux {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockInflux {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the mock InfluxDB");
        let url = format!("http://{}", listener.local_addr().expect("a local address"));
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let (script, log) = (Arc::clone(&replies), Arc::clone(&recorded));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (script, log) = (Arc::clone(&script), Arc::clone(&log));
                tokio::spawn(serve(stream, script, log));
            }
        });
        Self {
            url,
            replies,
            recorded,
            task,
        }
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }

    pub fn unused_replies(&self) -> usize {
        self.replies.lock().unwrap().len()
    }
}

/// Reads one request, records it (before answering, so a client that got its answer sees it recorded), answers it.
async fn serve(stream: TcpStream, script: Arc<Mutex<VecDeque<Reply>>>, log: Arc<Mutex<Vec<Recorded>>>) -> Option<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    assert!(
        !headers.contains_key("transfer-encoding"),
        "the mock expects Content-Length bodies: {headers:?}"
    );
    let length = headers
        .get("content-length")
        .map_or(0, |v| v.parse().expect("a numeric Content-Length"));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    let url = reqwest::Url::parse(&format!("http://mock{target}")).expect("a request target");
    let recorded = Recorded {
        method,
        path: url.path().to_owned(),
        query: url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        headers,
        body: String::from_utf8(body).expect("a UTF-8 body"),
    };
    let reply = script.lock().unwrap().pop_front().unwrap_or_else(|| Reply {
        status: 500,
        content_type: "text/plain",
        body: format!("mock: no reply scripted for {} {}", recorded.method, recorded.path),
    });
    log.lock().unwrap().push(recorded);
    let head = format!(
        "HTTP/1.1 {} Mock\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    let mut stream = reader.into_inner();
    stream.write_all(head.as_bytes()).await.ok()?;
    stream.write_all(reply.body.as_bytes()).await.ok()?;
    stream.shutdown().await.ok()
}
