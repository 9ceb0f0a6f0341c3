//! What a browser sends on `/api/v1/ws`: frames (actix-http's server codec with the gateway's 64 KiB limit), the JSON
//! text messages in them (`ClientMessage::parse`) and the topics of a subscription (`Topic::parse`).
//!
//! Input: an even first byte makes the rest one text message; an odd one makes it raw client bytes, decoded frame by
//! frame, each text (or reassembled fragmented text) parsed as a message. Invariants: no frame payload passes the
//! limit; "not JSON" is said exactly of text that is not JSON; a parsed message written back as JSON parses to the
//! same message; a parsed topic printed and parsed again is the same topic, and is printed as it was sent unless it
//! is a pipeline id (kept lower-case).
#![no_main]

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, Item};
use bytes::BytesMut;
use devopstrack_gateway::fuzzing::{ClientMessage, ParseError, Topic};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

/// `routes::ws::MAX_MESSAGE_BYTES`.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(text) = std::str::from_utf8(rest) {
            message(text);
        }
    } else {
        frames(rest);
    }
});

fn frames(bytes: &[u8]) {
    let mut codec = Codec::new().max_size(MAX_MESSAGE_BYTES);
    let mut buffer = BytesMut::from(bytes);
    let mut fragments: Option<Vec<u8>> = None;
    while let Ok(Some(frame)) = codec.decode(&mut buffer) {
        match frame {
            Frame::Text(payload) => {
                assert!(payload.len() <= MAX_MESSAGE_BYTES);
                text(&payload);
            }
            Frame::Binary(p) | Frame::Ping(p) | Frame::Pong(p) => assert!(p.len() <= MAX_MESSAGE_BYTES),
            Frame::Close(_) => return,
            Frame::Continuation(Item::FirstText(p)) => fragments = Some(p.to_vec()),
            Frame::Continuation(Item::FirstBinary(_)) => fragments = None,
            Frame::Continuation(Item::Continue(p)) => {
                if let Some(f) = &mut fragments {
                    f.extend_from_slice(&p);
                }
            }
            Frame::Continuation(Item::Last(p)) => {
                if let Some(mut f) = fragments.take() {
                    f.extend_from_slice(&p);
                    if f.len() <= MAX_MESSAGE_BYTES {
                        text(&f);
                    }
                }
            }
        }
    }
}

fn text(payload: &[u8]) {
    if let Ok(text) = std::str::from_utf8(payload) {
        message(text);
    }
}

fn message(text: &str) {
    let parsed = ClientMessage::parse(text);
    let is_json = serde_json::from_str::<Value>(text).is_ok();
    assert_eq!(
        matches!(parsed, Err(ParseError::NotJson(_))),
        !is_json,
        "NotJson for exactly the text that is not JSON: {text:?}"
    );
    let Ok(message) = parsed else { return };
    let written = match &message {
        ClientMessage::Auth { token } => json!({"type": "auth", "token": token}),
        ClientMessage::Subscribe { topics } => json!({"type": "subscribe", "topics": topics}),
        ClientMessage::Unsubscribe { topics } => json!({"type": "unsubscribe", "topics": topics}),
        ClientMessage::Ping => json!({"type": "ping"}),
    };
    assert_eq!(ClientMessage::parse(&written.to_string()), ClientMessage::parse(text));
    if let ClientMessage::Subscribe { topics } | ClientMessage::Unsubscribe { topics } = &message {
        topics.iter().for_each(|t| topic(t));
    }
}

fn topic(raw: &str) {
    let Ok(topic) = Topic::parse(raw) else { return };
    let printed = topic.to_string();
    assert_eq!(Topic::parse(&printed), Ok(topic.clone()), "{raw:?} → {printed:?}");
    match &topic {
        Topic::Pipeline(id) => {
            assert!(uuid::Uuid::parse_str(id).is_ok());
            assert_eq!(id, &id.to_ascii_lowercase());
        }
        Topic::All | Topic::Project(_) => assert_eq!(printed, raw),
    }
    let request = topic.watch_request(String::new());
    assert_eq!(request.include_logs, topic != Topic::All);
}
