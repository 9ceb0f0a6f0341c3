//! The WebSocket `/api/v1/ws` over a real TCP connection: the auth-first rule (4401), limits (1003, 1009), the
//! connection gauge, and live events of real pipelines run by the real tasks service. The client is a minimal RFC 6455
//! one written here (masked frames out, ping answered), so the tests see exactly the frames a browser would.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{
    PROJECT, TestApp, assert_error, pipeline_jobs, sign_eddsa, spawn_app, spawn_app_with_tasks, three_stage_pipeline,
    unix_now, valid_claims,
};

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

#[derive(Debug)]
enum Frame {
    Text(String),
    Other(u8, Vec<u8>),
    Close(u16, String),
}

/// One WebSocket connection to the gateway.
struct WsClient {
    stream: TcpStream,
}

impl WsClient {
    async fn connect(app: &TestApp) -> Self {
        let address = app.base_url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).await.expect("connect to the gateway");
        let mut key = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut key);
        let request = format!(
            "GET /api/v1/ws HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
            STANDARD.encode(key)
        );
        stream.write_all(request.as_bytes()).await.expect("send the handshake");
        // Byte by byte up to the blank line, so no frame is read with the head.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let byte = stream.read_u8().await.expect("read the handshake answer");
            head.push(byte);
            assert!(head.len() < 16 * 1024, "an endless handshake answer");
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Self { stream }
    }

    /// Sends one masked frame, as a client must.
    async fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= usize::from(u16::MAX) => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mut mask = [0u8; 4];
        rand::thread_rng().fill_bytes(&mut mask);
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        // The server may close before reading it all (a message over the limit): what it answers is the test.
        let _ = self.stream.write_all(&frame).await;
    }

    async fn send(&mut self, message: &Value) {
        self.send_frame(TEXT, message.to_string().as_bytes()).await;
    }

    async fn read_frame(&mut self) -> Frame {
        let mut head = [0u8; 2];
        self.stream.read_exact(&mut head).await.expect("read a frame head");
        assert_eq!(head[0] & 0x80, 0x80, "the server sends whole messages");
        assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
        let len = match head[1] & 0x7F {
            126 => u64::from(self.stream.read_u16().await.unwrap()),
            127 => self.stream.read_u64().await.unwrap(),
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).unwrap()];
        self.stream
            .read_exact(&mut payload)
            .await
            .expect("read a frame payload");
        match head[0] & 0x0F {
            TEXT => Frame::Text(String::from_utf8(payload).expect("UTF-8 text")),
            CLOSE => {
                let code = payload.get(..2).map_or(1005, |c| u16::from_be_bytes([c[0], c[1]]));
                Frame::Close(
                    code,
                    String::from_utf8_lossy(payload.get(2..).unwrap_or_default()).into_owned(),
                )
            }
            opcode => Frame::Other(opcode, payload),
        }
    }

    /// The next frame within `within`, answering pings on the way.
    async fn next(&mut self, within: Duration) -> Frame {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.read_frame())
                .await
                .unwrap_or_else(|_| panic!("no frame within {within:?}"));
            match frame {
                Frame::Other(PING, payload) => self.send_frame(PONG, &payload).await,
                Frame::Other(PONG, _) => {}
                frame => return frame,
            }
        }
    }

    /// The next JSON message (panics on a close).
    async fn message(&mut self) -> Value {
        match self.next(Duration::from_secs(10)).await {
            Frame::Text(text) => serde_json::from_str(&text).expect("a JSON message"),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The close frame's code and reason, skipping messages before it.
    async fn closed(&mut self) -> (u16, String) {
        loop {
            if let Frame::Close(code, reason) = self.next(Duration::from_secs(15)).await {
                return (code, reason);
            }
        }
    }

    async fn authenticate(&mut self, token: &str) -> Value {
        self.send(&json!({"type": "auth", "token": token})).await;
        let answer = self.message().await;
        assert_eq!(answer["type"], "authenticated", "{answer}");
        answer
    }

    /// Subscribes and waits for the acknowledgement.
    async fn subscribe(&mut self, topic: &str) {
        self.send(&json!({"type": "subscribe", "topics": [topic]})).await;
        let answer = self.message().await;
        assert_eq!(answer, json!({"type": "subscribed", "topic": topic}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_message_must_be_a_valid_auth_or_the_socket_closes_with_4401() {
    let app = spawn_app().await;
    let mut expired = valid_claims("viewer");
    expired["exp"] = json!(unix_now() - 3600);
    let stranger = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let forged = sign_eddsa(&stranger, &app.kid, &valid_claims("admin"));
    let firsts = [
        ("a ping first", json!({"type": "ping"})),
        (
            "a subscribe first",
            json!({"type": "subscribe", "topics": ["project:api"]}),
        ),
        ("a garbage token", json!({"type": "auth", "token": "garbage"})),
        ("an expired token", json!({"type": "auth", "token": app.sign(&expired)})),
        (
            "a token signed by another key",
            json!({"type": "auth", "token": forged}),
        ),
    ];

    for (name, first) in firsts {
        let mut socket = WsClient::connect(&app).await;
        socket.send(&first).await;

        let (code, reason) = socket.closed().await;

        assert_eq!(code, 4401, "{name}: {reason}");
        assert!(!reason.is_empty(), "{name}");
    }
    let mut socket = WsClient::connect(&app).await;
    let answer = socket.authenticate(&app.sign(&valid_claims("viewer"))).await;
    assert_eq!(
        answer["user"]["role"], "viewer",
        "the same socket rules let a valid token in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_answers_pings_and_bad_messages_and_closes_on_what_it_cannot_read() {
    let app = spawn_app().await;
    let token = app.admin_token().await;

    let mut socket = WsClient::connect(&app).await;
    let me = socket.authenticate(&token).await;
    assert_eq!(
        (&me["user"]["name"], &me["user"]["role"]),
        (&json!("Ada Admin"), &json!("admin"))
    );
    socket.send(&json!({"type": "ping"})).await;
    assert_eq!(socket.message().await, json!({"type": "pong"}));
    socket.send_frame(PING, b"are you there").await;
    match socket.read_frame().await {
        Frame::Other(PONG, payload) => assert_eq!(payload, b"are you there"),
        other => panic!("expected a pong frame, got {other:?}"),
    }
    socket.send(&json!({"type": "subscribe", "topics": ["builds"]})).await;
    let error = socket.message().await;
    assert_eq!((&error["type"], &error["topic"]), (&json!("error"), &json!("builds")));
    socket.send(&json!({"type": "chat.send", "text": "deploy"})).await;
    assert_eq!(socket.message().await["type"], "error");
    socket
        .send(&json!({"type": "ping", "pad": "x".repeat(70 * 1024)}))
        .await;
    assert_eq!(socket.closed().await.0, 1009, "over 64 KiB");

    for (name, opcode, payload) in [("not JSON", TEXT, &b"hello"[..]), ("binary", BINARY, &[1, 2, 3][..])] {
        let mut socket = WsClient::connect(&app).await;
        socket.authenticate(&token).await;

        socket.send_frame(opcode, payload).await;

        assert_eq!(socket.closed().await.0, 1003, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_get_of_the_socket_is_a_json_400() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/ws", None).await;

    let message = assert_error(response, 400, "invalid_argument").await;
    assert!(message.contains("WebSocket"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gauge_counts_open_sockets() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let gauge = || async {
        let metrics = app.get("/metrics", None).await.text().await.unwrap();
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("websocket_connections "))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no websocket_connections in\n{metrics}"))
    };
    let mut first = WsClient::connect(&app).await;
    let mut second = WsClient::connect(&app).await;
    first.authenticate(&token).await;
    second.authenticate(&token).await;

    assert_eq!(gauge().await, "2");

    second.send_frame(CLOSE, &1000u16.to_be_bytes()).await;
    assert_eq!(second.closed().await.0, 1000, "the close is answered");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while gauge().await != "1" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gauge stays at {}",
            gauge().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Messages until `done` holds for one (included), within 30 s.
async fn messages_until(socket: &mut WsClient, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let message = tokio::time::timeout_at(deadline, socket.message())
            .await
            .unwrap_or_else(|_| panic!("not done within 30 s; saw {seen:#?}"));
        let finished = done(&message);
        seen.push(message);
        if finished {
            return seen;
        }
    }
}

fn succeeded(id: &str) -> impl Fn(&Value) -> bool + '_ {
    move |m| m["type"] == "pipeline.updated" && m["pipeline"]["id"] == id && m["pipeline"]["status"] == "succeeded"
}

/// Every event carries a unique `eventId` and the topic it came for.
fn assert_events_are_identified(events: &[Value], topic: &str) {
    let mut ids = HashSet::new();
    for event in events {
        let id = event["eventId"]
            .as_str()
            .unwrap_or_else(|| panic!("no eventId: {event}"));
        assert!(ids.insert(id.to_owned()), "eventId {id} twice");
        assert_eq!(event["topic"], topic, "{event}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_subscriber_sees_a_pipeline_run_live_until_it_succeeds() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, viewer) = app.user_with_token(&admin, "viewer@example.com", "viewer").await;
    let mut socket = WsClient::connect(&app).await;
    socket.authenticate(&viewer).await;
    let topic = format!("project:{PROJECT}");
    socket.subscribe(&topic).await;

    let (status, created) = app.create_pipeline(&admin, &three_stage_pipeline(100)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let events = messages_until(&mut socket, succeeded(id)).await;

    assert_events_are_identified(&events, &topic);
    assert!(
        events
            .iter()
            .all(|e| e["pipeline"]["id"] == id || e["pipelineId"] == id)
    );
    let finished_jobs: HashSet<&str> = events
        .iter()
        .filter(|e| e["type"] == "job.updated" && e["job"]["status"] == "succeeded")
        .filter_map(|e| e["job"]["name"].as_str())
        .collect();
    assert_eq!(finished_jobs, HashSet::from(["compile", "unit", "lint", "rollout"]));
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "job.updated" && e["job"]["status"] == "running"),
        "jobs are seen running"
    );
    let logged: usize = events
        .iter()
        .filter(|e| e["type"] == "job.log")
        .map(|e| e["lines"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(logged, 4 * 3, "three log lines from each of the four jobs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_subscriber_follows_it_through_an_approval() {
    let app = spawn_app_with_tasks().await;
    let admin = app.admin_token().await;
    let (_, viewer) = app.user_with_token(&admin, "viewer@example.com", "viewer").await;
    let gated = json!({"project": PROJECT, "environment": "staging", "version": "1.4.0", "stages": [
        {"name": "build", "jobs": [{"name": "compile", "params": {"durationMs": 100}}]},
        {"name": "deploy", "jobs": [{"name": "rollout", "requiresApproval": true, "params": {"durationMs": 100}}]}]});
    let (status, created) = app.create_pipeline(&admin, &gated).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let topic = format!("pipeline:{id}");
    let mut socket = WsClient::connect(&app).await;
    socket.authenticate(&viewer).await;
    socket.subscribe(&topic).await;
    // An open topic is acknowledged again, and followed once. The pipeline is running already, so its events may
    // come before the second acknowledgement: they are kept, to check below that none comes twice.
    socket.send(&json!({"type": "subscribe", "topics": [topic]})).await;
    let mut events = messages_until(&mut socket, |m| m["type"] == "subscribed").await;
    assert_eq!(events.pop(), Some(json!({"type": "subscribed", "topic": topic})));

    let waiting = app
        .wait_for_pipeline(&admin, &id, Duration::from_secs(20), |p| {
            p["status"] == "waiting_approval"
        })
        .await;
    let rollout = pipeline_jobs(&waiting)
        .into_iter()
        .find(|j| j["name"] == "rollout")
        .expect("a rollout job")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let approved = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/jobs/{rollout}/approve"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status().as_u16(), 200);
    events.extend(messages_until(&mut socket, succeeded(&id)).await);

    assert_events_are_identified(&events, &topic);
    let rollout_updates: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "job.updated" && e["job"]["id"] == rollout.as_str())
        .collect();
    assert!(
        rollout_updates
            .iter()
            .any(|e| e["job"]["status"] == "succeeded" && e["job"]["approvedBy"].is_string()),
        "{rollout_updates:#?}"
    );
    socket.send(&json!({"type": "unsubscribe", "topics": [topic]})).await;
    let unsubscribed = messages_until(&mut socket, |m| m["type"] == "unsubscribed").await;
    assert_eq!(
        unsubscribed.last(),
        Some(&json!({"type": "unsubscribed", "topics": [topic]}))
    );
}
