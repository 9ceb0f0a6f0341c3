//! Rooms and messages as the store holds them: what a caller appends ([`NewMessage`]), what it reads back
//! ([`Message`]), and how history pages ([`HistoryQuery`]) and replays ([`Replay`]) work.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::chat::domain::{MessageText, RoomId, RoomKind};

use super::types::{ClientMsgId, EventId, Person};
use super::{StoreError, StoreResult};

/// At most this many events are replayed to a reconnecting client; beyond it the caller sends `resync_required` and
/// the client refetches over REST.
pub const REPLAY_CAP: u64 = 500;

/// A history page holds 1 to this many messages.
pub const MAX_PAGE: u32 = 100;

/// A structured payload (the bot's reply data, an action card reference) is at most this many bytes of JSON.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub id: RoomId,
    /// The newest message's event id (0 before the first message).
    pub last_event_id: EventId,
    pub created_at: DateTime<Utc>,
}

/// Whether `user_id` may see `room`: everyone sees `general` and every project room; a private room only its owner.
pub fn room_visible_to(room: &RoomId, user_id: &str) -> bool {
    match room.kind() {
        RoomKind::General | RoomKind::Project(_) => true,
        RoomKind::Direct(owner) => owner == user_id,
    }
}

/// Who wrote a message and in what role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Sender {
    /// A person (`kind: user`).
    User { id: String, name: String },
    /// The bot answering (`kind: bot`).
    Bot,
    /// The bot announcing something nobody asked for: an expiry, a run's outcome (`kind: system`).
    System,
}

impl Sender {
    pub fn kind(&self) -> &'static str {
        match self {
            Sender::User { .. } => "user",
            Sender::Bot => "bot",
            Sender::System => "system",
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Sender::User { id, .. } => Some(id),
            Sender::Bot | Sender::System => None,
        }
    }
}

/// A message to append. Build it with [`NewMessage::from_user`] or [`NewMessage::from_bot`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub(crate) room: RoomId,
    pub(crate) sender: Sender,
    pub(crate) client_msg_id: Option<ClientMsgId>,
    pub(crate) text: MessageText,
    pub(crate) payload: Option<serde_json::Value>,
    /// `payload` as stored.
    pub(crate) payload_json: Option<String>,
    pub(crate) at: DateTime<Utc>,
}

impl NewMessage {
    /// A person's message (their role is not kept with it); `client_msg_id` makes a resend idempotent.
    pub fn from_user(
        room: RoomId,
        sender: &Person,
        client_msg_id: ClientMsgId,
        text: MessageText,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            room,
            sender: Sender::User {
                id: sender.id().to_owned(),
                name: sender.name().to_owned(),
            },
            client_msg_id: Some(client_msg_id),
            text,
            payload: None,
            payload_json: None,
            at: super::micros(at),
        }
    }

    /// The bot's message: a reply (`system: false`) or an announcement (`system: true`).
    pub fn from_bot(room: RoomId, system: bool, text: MessageText, at: DateTime<Utc>) -> Self {
        Self {
            room,
            sender: if system { Sender::System } else { Sender::Bot },
            client_msg_id: None,
            text,
            payload: None,
            payload_json: None,
            at: super::micros(at),
        }
    }

    /// The bot's notice of one platform event: `key` (one per event, in the `clientMsgId` field) makes posting it
    /// again, from another replica or after a restart, answer the stored notice (`created: false`).
    pub fn keyed(mut self, key: ClientMsgId) -> Self {
        self.client_msg_id = Some(key);
        self
    }

    /// Attaches structured data (at most [`MAX_PAYLOAD_BYTES`] of JSON).
    pub fn with_payload(mut self, payload: &serde_json::Value) -> StoreResult<Self> {
        let json = serde_json::to_string(payload).map_err(|e| StoreError::invalid("payload", e))?;
        if json.len() > MAX_PAYLOAD_BYTES {
            return Err(StoreError::invalid(
                "payload",
                format!("{} bytes of JSON, at most {MAX_PAYLOAD_BYTES} allowed", json.len()),
            ));
        }
        self.payload = Some(payload.clone());
        self.payload_json = Some(json);
        Ok(self)
    }

    pub fn room(&self) -> &RoomId {
        &self.room
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub room: RoomId,
    pub event_id: EventId,
    pub sender: Sender,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<ClientMsgId>,
    pub text: MessageText,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// What [`super::ChatStore::append_message`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    pub message: Message,
    /// `false`: a resend of a stored message (same sender, room, `clientMsgId` and text): nothing was written, and
    /// the caller must not act on it again.
    pub created: bool,
}

impl Appended {
    /// `message`, just stored with `event_id`.
    pub(crate) fn stored(message: &NewMessage, event_id: EventId) -> Self {
        Appended {
            message: Message {
                room: message.room.clone(),
                event_id,
                sender: message.sender.clone(),
                client_msg_id: message.client_msg_id.clone(),
                text: message.text.clone(),
                payload: message.payload.clone(),
                created_at: message.at,
            },
            created: true,
        }
    }

    /// The answer to `message` when `existing` holds its sender's `clientMsgId` in the room: a resend of the same
    /// text answers the stored message; other text is [`Conflict::ClientMsgIdReused`](super::Conflict).
    pub(crate) fn resend(existing: Message, message: &NewMessage) -> StoreResult<Self> {
        if existing.text == message.text {
            Ok(Appended {
                message: existing,
                created: false,
            })
        } else {
            Err(super::Conflict::ClientMsgIdReused {
                event_id: existing.event_id,
            }
            .into())
        }
    }
}

/// A page of a room's history, always in ascending event id order (oldest first).
///
/// - neither cursor: the newest `limit` messages;
/// - `before`: the `limit` messages just before it (the dashboard loading upward);
/// - `after`: the `limit` messages just after it (catching up);
/// - both: messages strictly between, the ones just after `after` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    before: Option<EventId>,
    after: Option<EventId>,
    limit: u32,
}

impl HistoryQuery {
    /// `limit` is 1 to [`MAX_PAGE`].
    pub fn new(before: Option<EventId>, after: Option<EventId>, limit: u32) -> StoreResult<Self> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(StoreError::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        Ok(Self { before, after, limit })
    }

    /// The newest `limit` messages.
    pub fn latest(limit: u32) -> StoreResult<Self> {
        Self::new(None, None, limit)
    }

    pub fn before(&self) -> Option<EventId> {
        self.before
    }

    pub fn after(&self) -> Option<EventId> {
        self.after
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// A page as [`statements::history`](super::statements::history) reads it (ascending after `after`, else the
    /// newest first), oldest first.
    pub(crate) fn in_order(&self, mut page: Vec<Message>) -> Vec<Message> {
        if self.after.is_none() {
            page.reverse();
        }
        page
    }
}

/// What a reconnecting client gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Replay {
    /// Every message after its last event id, oldest first (possibly none).
    Events(Vec<Message>),
    /// More than [`REPLAY_CAP`] were missed, or the client's cursor is ahead of the room (the database was
    /// replaced): it must refetch over REST.
    ResyncRequired,
}
