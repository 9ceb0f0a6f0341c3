//! Live chat on this replica: one task reads the store's change feed (every replica's commits, through PostgreSQL
//! `LISTEN/NOTIFY`, or in-process on SQLite) and fans each new message or action change out to the sockets following
//! its room, reading it from the store once however many sockets follow. A socket ([`RoomFollower`]) keeps its own
//! cursor: it drops what it already has, fills any gap from the store, and past the replay cap asks its client to
//! resync over REST. So a message reaches every socket on every replica once, in order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::chat::domain::RoomId;
use crate::chat::store::{Action, ChangeNotice, ChatStore, EventId, Message, Replay};

use super::ChatError;

/// Events buffered per room for slow sockets before they must catch up from the store.
const ROOM_BUFFER: usize = 256;

/// What a room's followers receive.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    Message(Arc<Message>),
    Action(Arc<Action>),
    /// The feed lost notices (a lagging or reconnected listener): followers re-read from their cursor.
    CatchUp,
}

/// The rooms followed on this replica.
#[derive(Clone)]
pub struct LiveRooms {
    store: Arc<dyn ChatStore>,
    rooms: Arc<Mutex<HashMap<RoomId, broadcast::Sender<LiveEvent>>>>,
}

impl LiveRooms {
    pub fn new(store: Arc<dyn ChatStore>) -> Self {
        Self {
            store,
            rooms: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn sender(&self, room: &RoomId) -> broadcast::Sender<LiveEvent> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        // Rooms nobody follows any more are forgotten as others are added.
        rooms.retain(|_, sender| sender.receiver_count() > 0);
        rooms
            .entry(room.clone())
            .or_insert_with(|| broadcast::channel(ROOM_BUFFER).0)
            .clone()
    }

    fn followed(&self, room: &RoomId) -> Option<broadcast::Sender<LiveEvent>> {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms.get(room).filter(|s| s.receiver_count() > 0).cloned()
    }

    fn all_followed(&self) -> Vec<broadcast::Sender<LiveEvent>> {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms.values().filter(|s| s.receiver_count() > 0).cloned().collect()
    }

    /// Reads the change feed until `stop`, fanning each change out once to the room's followers.
    pub async fn run(self, stop: CancellationToken) {
        let mut feed = self.store.subscribe();
        loop {
            let notice = tokio::select! {
                () = stop.cancelled() => return,
                notice = feed.next() => notice,
            };
            let Some(notice) = notice else {
                // The feed ended (the listener's connection is being replaced): everyone catches up, then a new one.
                for sender in self.all_followed() {
                    let _ = sender.send(LiveEvent::CatchUp);
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                feed = self.store.subscribe();
                continue;
            };
            match notice {
                ChangeNotice::Message { room, event_id } => {
                    if let Some(sender) = self.followed(&room) {
                        match self.store.message(&room, event_id).await {
                            Ok(Some(message)) => {
                                let _ = sender.send(LiveEvent::Message(Arc::new(message)));
                            }
                            Ok(None) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, %room, "chat live: reading a new message failed");
                                let _ = sender.send(LiveEvent::CatchUp);
                            }
                        }
                    }
                }
                ChangeNotice::Action { room, action_id } => {
                    if let Some(sender) = self.followed(&room) {
                        match self.store.action(action_id).await {
                            Ok(Some(action)) => {
                                let _ = sender.send(LiveEvent::Action(Arc::new(action)));
                            }
                            Ok(None) => {}
                            Err(e) => tracing::warn!(error = %e, %action_id, "chat live: reading an action failed"),
                        }
                    }
                }
                ChangeNotice::Resync => {
                    for sender in self.all_followed() {
                        let _ = sender.send(LiveEvent::CatchUp);
                    }
                }
            }
        }
    }

    /// Follows `room` from `after` (`None`: from now on). The caller has checked the follower may see the room.
    pub async fn follow(&self, room: &RoomId, after: Option<EventId>) -> Result<(RoomFollower, Opening), ChatError> {
        // Listen before reading, so nothing committed in between is missed (duplicates are dropped by the cursor).
        let receiver = self.sender(room).subscribe();
        let last = self.store.room(room).await?.map_or(EventId::ZERO, |r| r.last_event_id);
        let mut follower = RoomFollower {
            store: self.store.clone(),
            room: room.clone(),
            receiver,
            cursor: last,
        };
        let opening = match after {
            None => Opening::Events(Vec::new()),
            Some(after) => {
                follower.cursor = after;
                match follower.catch_up().await? {
                    Some(events) => Opening::Events(events),
                    None => {
                        follower.cursor = last;
                        Opening::ResyncRequired
                    }
                }
            }
        };
        Ok((follower, opening))
    }
}

/// What a follower gets first: the messages it missed since its cursor, or "refetch over REST".
#[derive(Debug)]
pub enum Opening {
    Events(Vec<Message>),
    ResyncRequired,
}

/// What a follower hands its socket next.
#[derive(Debug)]
pub enum Followed {
    Messages(Vec<Message>),
    Action(Arc<Action>),
    /// More was missed than [`crate::chat::store::REPLAY_CAP`]: the client refetches over REST; the cursor moved to the room's end.
    ResyncRequired,
}

/// One socket's view of one room: ordered, no duplicates, no gaps.
pub struct RoomFollower {
    store: Arc<dyn ChatStore>,
    room: RoomId,
    receiver: broadcast::Receiver<LiveEvent>,
    cursor: EventId,
}

impl RoomFollower {
    pub fn room(&self) -> &RoomId {
        &self.room
    }

    pub fn cursor(&self) -> EventId {
        self.cursor
    }

    /// The messages after the cursor from the store (advancing it); `None` when they are more than the replay cap.
    async fn catch_up(&mut self) -> Result<Option<Vec<Message>>, ChatError> {
        match self.store.replay(&self.room, self.cursor).await? {
            Replay::Events(events) => {
                if let Some(last) = events.last() {
                    self.cursor = last.event_id;
                }
                Ok(Some(events))
            }
            Replay::ResyncRequired => {
                self.cursor = self
                    .store
                    .room(&self.room)
                    .await?
                    .map_or(EventId::ZERO, |r| r.last_event_id);
                Ok(None)
            }
        }
    }

    /// The next thing to send; `None` when the room's channel is gone (the replica is stopping).
    pub async fn next(&mut self) -> Result<Option<Followed>, ChatError> {
        loop {
            let event = match self.receiver.recv().await {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(_)) => LiveEvent::CatchUp,
                Err(broadcast::error::RecvError::Closed) => return Ok(None),
            };
            match event {
                LiveEvent::Message(message) => {
                    let id = message.event_id;
                    if id <= self.cursor {
                        continue;
                    }
                    if id.get() == self.cursor.get() + 1 {
                        self.cursor = id;
                        return Ok(Some(Followed::Messages(vec![(*message).clone()])));
                    }
                    // A gap: read what is missing (and this one) from the store.
                    return self.caught_up().await.map(Some);
                }
                LiveEvent::Action(action) => return Ok(Some(Followed::Action(action))),
                LiveEvent::CatchUp => {
                    let followed = self.caught_up().await?;
                    if matches!(&followed, Followed::Messages(m) if m.is_empty()) {
                        continue;
                    }
                    return Ok(Some(followed));
                }
            }
        }
    }

    async fn caught_up(&mut self) -> Result<Followed, ChatError> {
        Ok(match self.catch_up().await? {
            Some(events) => Followed::Messages(events),
            None => Followed::ResyncRequired,
        })
    }
}
