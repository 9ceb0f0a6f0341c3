//! The WebSocket `/api/v1/ws` over a real TCP connection: the auth-first rule (4401), limits (1003, 1009), the
//! connection gauge, and live events of real pipelines run by the real tasks service. The client is a minimal RFC 6455
//! one written here (masked frames out, ping answered), so the tests see exactly the frames a browser would.
//! The tests are in `connection` (auth, limits, the gauge), `caps` (sockets per user and per address) and `events`
//! (live pipelines).

mod caps;
mod chat;
mod connection;
mod events;
mod replicas;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

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
        match Self::try_connect(app).await {
            Ok(client) => client,
            Err(refusal) => panic!("expected 101 Switching Protocols, got {refusal}"),
        }
    }

    /// The handshake; when it is refused, the answer's head and body.
    async fn try_connect(app: &TestApp) -> Result<Self, String> {
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
        let head = String::from_utf8_lossy(&head).into_owned();
        if head.starts_with("HTTP/1.1 101") {
            return Ok(Self { stream });
        }
        let length = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).await.expect("read the refusal's body");
        Err(format!("{head}{}", String::from_utf8_lossy(&body)))
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

/// Reads messages until one of `kind` arrives (skipping the others), returning it.
async fn until(client: &mut WsClient, kind: &str) -> Value {
    for _ in 0..50 {
        let message = client.message().await;
        if message["type"] == kind {
            return message;
        }
    }
    panic!("no {kind} within 50 messages");
}
