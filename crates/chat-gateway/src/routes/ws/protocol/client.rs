//! What a browser may send: [`ClientMessage`], parsed by hand on its `type` so that errors name the field at fault.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// What a client sends. A new type is a new variant, a struct of its fields and an arm in [`ClientMessage::parse`].
#[derive(Debug, PartialEq, Eq)]
pub enum ClientMessage {
    /// Must be the first message; may be sent again with a fresh token (of the same user) before the current one
    /// expires, which keeps the socket open.
    Auth {
        token: String,
    },
    Subscribe {
        topics: Vec<String>,
        /// Per `room:<id>` topic, the last event id the client has: it gets what it missed first.
        after: std::collections::BTreeMap<String, u64>,
    },
    Unsubscribe {
        topics: Vec<String>,
    },
    /// An application-level ping (browsers cannot send WebSocket ping frames): answered with `pong`.
    Ping,
    /// A chat message, as `POST /api/v1/chat/rooms/{room}/messages`: answered `chat.sent`.
    ChatSend {
        room: String,
        client_msg_id: String,
        text: String,
    },
    /// A decision, as `POST /api/v1/chat/actions/{id}/decisions`: answered `chat.decided`.
    ChatDecide {
        action_id: String,
        decision: String,
    },
}

/// Why a text frame is not a [`ClientMessage`].
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not JSON at all: the socket is closed with 1003.
    NotJson(String),
    /// JSON of the wrong shape or an unknown `type`: answered with an `error` message.
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFields {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicsFields {
    topics: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeFields {
    topics: Vec<String>,
    #[serde(default)]
    after: std::collections::BTreeMap<String, u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChatSendFields {
    room: String,
    client_msg_id: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChatDecideFields {
    action_id: String,
    decision: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

impl ClientMessage {
    /// Dispatches on `type` by hand rather than with serde's internally tagged enums, whose errors cannot name the
    /// field at fault (`topics: invalid type: string …`).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ParseError::NotJson(format!("not JSON: {e}")))?;
        let Value::Object(mut fields) = value else {
            return Err(ParseError::Invalid(r#"expected an object with a "type""#.into()));
        };
        let kind = match fields.remove("type") {
            Some(Value::String(kind)) => kind,
            Some(_) => return Err(ParseError::Invalid("type: expected a string".into())),
            None => return Err(ParseError::Invalid("missing field `type`".into())),
        };
        match kind.as_str() {
            "auth" => fields_of::<AuthFields>(fields).map(|f| ClientMessage::Auth { token: f.token }),
            "subscribe" => fields_of::<SubscribeFields>(fields).map(|f| ClientMessage::Subscribe {
                topics: f.topics,
                after: f.after,
            }),
            "unsubscribe" => fields_of::<TopicsFields>(fields).map(|f| ClientMessage::Unsubscribe { topics: f.topics }),
            "ping" => fields_of::<NoFields>(fields).map(|_| ClientMessage::Ping),
            "chat.send" => fields_of::<ChatSendFields>(fields).map(|f| ClientMessage::ChatSend {
                room: f.room,
                client_msg_id: f.client_msg_id,
                text: f.text,
            }),
            "chat.decide" => fields_of::<ChatDecideFields>(fields).map(|f| ClientMessage::ChatDecide {
                action_id: f.action_id,
                decision: f.decision,
            }),
            other => Err(ParseError::Invalid(format!(
                "unknown type {other:?}: expected auth, subscribe, unsubscribe, ping, chat.send or chat.decide"
            ))),
        }
    }
}

/// The fields of a message besides `type`; errors name the field.
fn fields_of<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ParseError::Invalid(if path == "." || path.is_empty() {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        })
    })
}
