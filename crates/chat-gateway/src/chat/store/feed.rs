//! The change feed: what a store's subscribers hear after a write commits, whichever replica wrote it.
//!
//! A notice carries ids only (PostgreSQL's NOTIFY payload is limited to 8,000 bytes, and a row is read where it is
//! needed); the subscriber reads the rows. [`ChangeNotice::Resync`] means notices may have been missed (the
//! listener lost its connection, or this subscriber fell behind): read again what you show.

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use uuid::Uuid;

use crate::chat::domain::RoomId;

use super::EventId;

/// The PostgreSQL channel the stores NOTIFY and LISTEN on.
pub const CHANNEL: &str = "devopstrack_chat";

/// Notices a subscriber may fall behind by before it gets a `Resync` instead.
const BUFFER: usize = 1_024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeNotice {
    /// A message was appended: `event_id` is now the room's newest.
    Message { room: RoomId, event_id: EventId },
    /// An action was proposed or changed state.
    Action { room: RoomId, action_id: Uuid },
    /// Notices may have been missed: re-read what you show (history after your last event id, open actions).
    Resync,
}

impl ChangeNotice {
    /// The notice of a change to `action`.
    pub(crate) fn of_action(action: &super::Action) -> Self {
        ChangeNotice::Action {
            room: action.room.clone(),
            action_id: action.id,
        }
    }

    /// The NOTIFY payload: `m <event id> <room>` or `a <action id> <room>` (well under 8,000 bytes: a room id is at
    /// most 72 bytes).
    pub(crate) fn payload(&self) -> Option<String> {
        match self {
            ChangeNotice::Message { room, event_id } => Some(format!("m {event_id} {room}")),
            ChangeNotice::Action { room, action_id } => Some(format!("a {action_id} {room}")),
            ChangeNotice::Resync => None,
        }
    }

    /// Reads a NOTIFY payload back; `None` for anything this version did not write.
    pub(crate) fn from_payload(payload: &str) -> Option<Self> {
        let mut parts = payload.splitn(3, ' ');
        let (tag, id, room) = (parts.next()?, parts.next()?, parts.next()?);
        let room = RoomId::parse(room).ok()?;
        match tag {
            "m" => Some(ChangeNotice::Message {
                room,
                event_id: EventId::new(id.parse().ok()?).ok()?,
            }),
            "a" => Some(ChangeNotice::Action {
                room,
                action_id: Uuid::parse_str(id).ok()?,
            }),
            _ => None,
        }
    }
}

/// Fans notices out to this process's subscribers.
#[derive(Debug, Clone)]
pub(crate) struct Hub {
    sender: broadcast::Sender<ChangeNotice>,
}

impl Hub {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(BUFFER).0,
        }
    }

    pub fn publish(&self, notice: ChangeNotice) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send(notice);
    }

    /// Notices published from now on; a subscriber that falls more than [`BUFFER`] behind gets one `Resync` in
    /// place of what it missed.
    pub fn subscribe(&self) -> BoxStream<'static, ChangeNotice> {
        BroadcastStream::new(self.sender.subscribe())
            .map(|received| received.unwrap_or(ChangeNotice::Resync))
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_stay_small() {
        let long_dm = RoomId::parse(&format!("dm:{}", "u".repeat(64))).unwrap();
        let notices = [
            ChangeNotice::Message {
                room: long_dm.clone(),
                event_id: EventId::new(i64::MAX as u64).unwrap(),
            },
            ChangeNotice::Action {
                room: RoomId::project("api").unwrap(),
                action_id: Uuid::now_v7(),
            },
        ];
        for notice in notices {
            let payload = notice.payload().unwrap();
            assert!(payload.len() < 200, "{payload}");
            assert_eq!(ChangeNotice::from_payload(&payload), Some(notice));
        }
        assert_eq!(ChangeNotice::Resync.payload(), None);
        for junk in [
            "",
            "m",
            "m 1",
            "m x general",
            "a 1 general",
            "z 1 general",
            "m 1 lobby",
            "m -1 general",
        ] {
            assert_eq!(ChangeNotice::from_payload(junk), None, "{junk:?}");
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_gets_a_resync() {
        let hub = Hub::new();
        let mut stream = hub.subscribe();
        for n in 1..=(BUFFER as u64 + 10) {
            hub.publish(ChangeNotice::Message {
                room: RoomId::general(),
                event_id: EventId::new(n).unwrap(),
            });
        }
        assert_eq!(stream.next().await, Some(ChangeNotice::Resync));
        assert!(matches!(stream.next().await, Some(ChangeNotice::Message { .. })));
    }
}
