//! The chat over the socket: `room:<id>` topics follow a room live ([`crate::chat::app::live`]), resuming after the
//! client's last event id, and `chat.send` / `chat.decide` do what the REST routes do. Each room topic is one task
//! that ends when it is unsubscribed or the socket closes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use devopstrack_platform::auth::Principal;

use super::outbox::Outbox;
use super::protocol::ServerMessage;
use crate::chat::app::live::{Followed, Opening};
use crate::chat::app::{Asker, ChatApp, ChatError};
use crate::chat::domain::{Decision, RoomId};
use crate::chat::store::EventId;
use crate::routes::chat::{ActionBody, MessageBody, PostedBody};

/// The topic prefix of a room.
pub const ROOM_PREFIX: &str = "room:";
/// Rooms one socket may follow at once.
pub const MAX_ROOMS: usize = 20;

/// The rooms one socket follows.
pub struct RoomFeeds {
    chat: Option<Arc<ChatApp>>,
    outbox: Outbox,
    principal: Principal,
    token: watch::Receiver<Arc<str>>,
    request_id: Arc<str>,
    active: HashMap<String, (CancellationToken, JoinHandle<()>)>,
}

impl RoomFeeds {
    pub fn new(
        chat: Option<Arc<ChatApp>>,
        outbox: Outbox,
        principal: Principal,
        token: watch::Receiver<Arc<str>>,
        request_id: Arc<str>,
    ) -> Self {
        Self {
            chat,
            outbox,
            principal,
            token,
            request_id,
            active: HashMap::new(),
        }
    }

    /// After a re-`auth`: the same person, maybe with a new role.
    pub fn set_principal(&mut self, principal: Principal) {
        self.principal = principal;
    }

    fn asker(&self) -> Result<Asker, ChatError> {
        let token = self.token.borrow().clone();
        Asker::new(&self.principal, &token, &self.request_id, None)
    }

    fn chat(&self) -> Result<Arc<ChatApp>, String> {
        self.chat
            .clone()
            .ok_or_else(|| "the chat is not configured on this server (DEVOPSTRACK_GATEWAY__CHAT_DATABASE_URL)".into())
    }

    /// The chat and the person asking, or why not (for an `error` message).
    fn chat_and_asker(&self) -> Result<(Arc<ChatApp>, Asker), String> {
        let chat = self.chat()?;
        let asker = self.asker().map_err(|e| e.to_string())?;
        Ok((chat, asker))
    }

    /// Follows each `room:<id>` topic, from `after[topic]` when given.
    pub fn subscribe(&mut self, topics: Vec<String>, after: &BTreeMap<String, u64>) {
        self.active.retain(|_, (_, task)| !task.is_finished());
        for topic in topics {
            let fail = |message: String| ServerMessage::Error {
                message,
                topic: Some(topic.clone()),
            };
            let room = match RoomId::parse(&topic[ROOM_PREFIX.len()..]) {
                Ok(room) => room,
                Err(e) => {
                    self.outbox.send(&fail(format!("{topic:?} is not a room topic: {e}")));
                    continue;
                }
            };
            let cursor = match after.get(&topic).map(|raw| EventId::new(*raw)).transpose() {
                Ok(cursor) => cursor,
                Err(e) => {
                    self.outbox.send(&fail(format!("after: {e}")));
                    continue;
                }
            };
            if self.active.contains_key(&topic) {
                self.outbox.send(&ServerMessage::Subscribed { topic });
                continue;
            }
            if self.active.len() >= MAX_ROOMS {
                self.outbox
                    .send(&fail(format!("at most {MAX_ROOMS} rooms per connection")));
                continue;
            }
            let (chat, asker) = match self.chat_and_asker() {
                Ok(both) => both,
                Err(message) => {
                    self.outbox.send(&fail(message));
                    continue;
                }
            };
            let stop = CancellationToken::new();
            let task = tokio::spawn(follow(
                chat,
                asker,
                room,
                cursor,
                topic.clone(),
                self.outbox.clone(),
                stop.clone(),
            ));
            self.active.insert(topic, (stop, task));
        }
    }

    /// Stops following these topics; answers the ones that were followed.
    pub fn unsubscribe(&mut self, topics: &[String]) -> Vec<String> {
        let mut removed = Vec::new();
        for topic in topics {
            if let Some((stop, _)) = self.active.remove(topic) {
                stop.cancel();
                removed.push(topic.clone());
            }
        }
        removed
    }

    /// `chat.send`: posts and answers `chat.sent` (or an `error`), without holding up the socket's reading.
    pub fn send(&self, room: String, client_msg_id: String, text: String) {
        self.answer_later(|chat, asker| async move {
            match RoomId::parse(&room) {
                Err(e) => ServerMessage::error(format!("room: {e}")),
                Ok(room) => match chat.post(&asker, &room, &client_msg_id, &text).await {
                    Ok(posted) => ServerMessage::ChatSent {
                        client_msg_id,
                        posted: PostedBody::from(&posted),
                    },
                    Err(e) => ServerMessage::error(refusal(&e)),
                },
            }
        });
    }

    /// `chat.decide`: decides and answers `chat.decided` (or an `error`).
    pub fn decide(&self, action_id: String, decision: String) {
        self.answer_later(|chat, asker| async move {
            match (uuid::Uuid::parse_str(&action_id), Decision::parse(&decision)) {
                (Err(_), _) => ServerMessage::error("actionId: not an action id (a UUID)"),
                (_, None) => ServerMessage::error("decision: one of confirm, approve, reject"),
                (Ok(id), Some(decision)) => match chat.decide(&asker, id, decision).await {
                    Ok(action) => ServerMessage::ChatDecided {
                        action: ActionBody::from(&action),
                    },
                    Err(e) => ServerMessage::error(refusal(&e)),
                },
            }
        });
    }

    /// Sends what `answer` answers, computed off the socket's reading with the chat and the asker; an `error` at once
    /// when this socket may not chat.
    fn answer_later<F, Fut>(&self, answer: F)
    where
        F: FnOnce(Arc<ChatApp>, Asker) -> Fut,
        Fut: Future<Output = ServerMessage> + Send + 'static,
    {
        let outbox = self.outbox.clone();
        match self.chat_and_asker() {
            Ok((chat, asker)) => {
                let answer = answer(chat, asker);
                tokio::spawn(async move { outbox.send(&answer.await) });
            }
            Err(message) => {
                outbox.send(&ServerMessage::error(message));
            }
        }
    }
}

impl Drop for RoomFeeds {
    fn drop(&mut self) {
        for (stop, _) in self.active.values() {
            stop.cancel();
        }
    }
}

/// What a refusal says on the socket: the person-readable message, never an internal cause.
fn refusal(e: &ChatError) -> String {
    match e {
        ChatError::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "chat over the socket failed");
            "internal error".into()
        }
        other => other.to_string(),
    }
}

/// Follows one room for one socket until `stop` or until the socket's queue is gone.
async fn follow(
    chat: Arc<ChatApp>,
    asker: Asker,
    room: RoomId,
    after: Option<EventId>,
    topic: String,
    outbox: Outbox,
    stop: CancellationToken,
) {
    let (mut follower, opening) = match chat.follow(&asker, &room, after).await {
        Ok(opened) => opened,
        Err(e) => {
            outbox.send(&ServerMessage::Error {
                message: refusal(&e),
                topic: Some(topic),
            });
            return;
        }
    };
    let live = match opening {
        Opening::Events(events) => events.iter().all(|m| send_message(&outbox, &topic, m)),
        Opening::ResyncRequired => outbox.send(&ServerMessage::ResyncRequired { topic: topic.clone() }),
    };
    if !live || !outbox.send(&ServerMessage::Subscribed { topic: topic.clone() }) {
        return;
    }
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = follower.next() => next,
        };
        let sent = match next {
            Ok(Some(Followed::Messages(messages))) => messages.iter().all(|m| send_message(&outbox, &topic, m)),
            Ok(Some(Followed::Action(action))) => outbox.send(&ServerMessage::ChatAction {
                topic: topic.clone(),
                action: ActionBody::from(action.as_ref()),
            }),
            Ok(Some(Followed::ResyncRequired)) => outbox.send(&ServerMessage::ResyncRequired { topic: topic.clone() }),
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, %topic, "chat room feed failed");
                outbox.send(&ServerMessage::Error {
                    message: "the room's feed failed: subscribe again".into(),
                    topic: Some(topic.clone()),
                });
                return;
            }
        };
        if !sent {
            return;
        }
    }
}

fn send_message(outbox: &Outbox, topic: &str, message: &crate::chat::store::Message) -> bool {
    outbox.send(&ServerMessage::ChatMessage {
        topic: topic.to_owned(),
        message: MessageBody::from(message),
    })
}
