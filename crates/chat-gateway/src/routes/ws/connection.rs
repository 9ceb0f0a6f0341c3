//! One socket's life, as seen from what the client sends: the `auth` message first (within [`Limits::auth_timeout`]),
//! then subscriptions, pings and re-`auth`s; a heartbeat ping every [`Limits::ping_interval`], and a close when the
//! client has been silent for [`Limits::idle_timeout`] or its token expires. Generic over the incoming stream so the
//! rules are tested without a network.

use std::sync::Arc;
use std::time::Duration;

use actix_ws::{AggregatedMessage, ProtocolError};
use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tokio::time::Instant;

use devopstrack_peers::refusal::{KEYS_UNAVAILABLE_MESSAGE, TokenRefusal};
use devopstrack_platform::auth::{JwtVerifier, Principal};

use super::caps::Cap;
use super::outbox::{Closer, Outbox, Outgoing};
use super::protocol::{ClientMessage, ParseError, ServerMessage, close};
use super::rooms::{ROOM_PREFIX, RoomFeeds};
use super::watch::Subscriptions;
use crate::state::TasksClient;

/// The timings of the protocol (constants in production; short in tests).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub auth_timeout: Duration,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
}

pub const LIMITS: Limits = Limits {
    auth_timeout: Duration::from_secs(10),
    ping_interval: Duration::from_secs(15),
    idle_timeout: Duration::from_secs(45),
};

/// What a connection needs from the gateway.
#[derive(Clone)]
pub struct Context {
    pub verifier: Arc<JwtVerifier>,
    pub tasks: TasksClient,
    pub request_id: Arc<str>,
    pub limits: Limits,
    /// Sockets per user, taken once the socket has authenticated.
    pub per_user: Arc<Cap<String>>,
    /// The chat, for `room:<id>` topics and `chat.*` messages; `None` when not configured.
    pub chat: Option<Arc<crate::chat::app::ChatApp>>,
}

/// Reads the client until the socket ends, then tells `closer` why (the writer sends the close frame).
pub async fn run<S>(context: Context, mut incoming: S, outbox: Outbox, closer: Closer)
where
    S: Stream<Item = Result<AggregatedMessage, ProtocolError>> + Unpin,
{
    let Some((mut principal, token)) = authenticate(&context, &mut incoming, &outbox, &closer).await else {
        return;
    };
    // Held until this function returns, however the socket ends.
    let Some(_user_slot) = context.per_user.take(principal.subject.clone()) else {
        let max = context.per_user.max();
        closer.close(
            close::TOO_MANY_SOCKETS,
            format!("you have {max} WebSockets open already (the most allowed): close one first"),
        );
        return;
    };
    outbox.send(&ServerMessage::authenticated(&principal));
    let (token_tx, token_rx) = watch::channel(token);
    let mut rooms = RoomFeeds::new(
        context.chat.clone(),
        outbox.clone(),
        principal.clone(),
        token_rx.clone(),
        context.request_id.clone(),
    );
    let mut subscriptions = Subscriptions::new(
        context.tasks.clone(),
        outbox.clone(),
        token_rx,
        context.request_id.clone(),
    );
    let mut expires = expiry(&principal);
    let limits = context.limits;
    let mut heartbeat = tokio::time::interval_at(Instant::now() + limits.ping_interval, limits.ping_interval);
    let mut last_heard = Instant::now();
    loop {
        let received = tokio::select! {
            () = closer.closed() => return,
            () = tokio::time::sleep_until(expires) => {
                closer.close(close::UNAUTHENTICATED, "token expired: send a new auth message before expiresAt");
                return;
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() >= limits.idle_timeout {
                    closer.close(close::GOING_AWAY, "no message from the client for too long");
                    return;
                }
                outbox.push(Outgoing::Ping);
                continue;
            }
            received = incoming.next() => received,
        };
        last_heard = Instant::now();
        let text = match frame_text(received, &outbox, &closer) {
            Some(text) => text,
            None if closer.is_closed() => return,
            None => continue,
        };
        match ClientMessage::parse(&text) {
            Ok(ClientMessage::Auth { token }) => match reauthenticate(&context, &principal, &token).await {
                Ok(fresh) => {
                    outbox.send(&ServerMessage::authenticated(&fresh));
                    expires = expiry(&fresh);
                    rooms.set_principal(fresh.clone());
                    principal = fresh;
                    token_tx.send_replace(Arc::from(token));
                }
                Err((code, reason)) => {
                    closer.close(code, reason);
                    return;
                }
            },
            Ok(ClientMessage::Subscribe { topics, after }) => {
                let (room_topics, pipeline_topics): (Vec<String>, Vec<String>) =
                    topics.into_iter().partition(|t| t.starts_with(ROOM_PREFIX));
                if !room_topics.is_empty() {
                    rooms.subscribe(room_topics, &after);
                }
                if !pipeline_topics.is_empty() {
                    subscriptions.subscribe(pipeline_topics);
                }
            }
            Ok(ClientMessage::Unsubscribe { topics }) => {
                let (room_topics, pipeline_topics): (Vec<String>, Vec<String>) =
                    topics.into_iter().partition(|t| t.starts_with(ROOM_PREFIX));
                let removed = rooms.unsubscribe(&room_topics);
                subscriptions.unsubscribe(pipeline_topics, removed);
            }
            Ok(ClientMessage::ChatSend {
                room,
                client_msg_id,
                text,
            }) => rooms.send(room, client_msg_id, text),
            Ok(ClientMessage::ChatDecide { action_id, decision }) => rooms.decide(action_id, decision),
            Ok(ClientMessage::Ping) => {
                outbox.send(&ServerMessage::Pong);
            }
            Err(ParseError::Invalid(message)) => {
                outbox.send(&ServerMessage::error(message));
            }
            Err(ParseError::NotJson(reason)) => {
                closer.close(close::UNSUPPORTED_DATA, reason);
                return;
            }
        }
    }
}

/// The instant `principal`'s token expires.
fn expiry(principal: &Principal) -> Instant {
    let now = chrono::Utc::now().timestamp();
    let left = u64::try_from(principal.expires_at.saturating_sub(now)).unwrap_or(0);
    Instant::now() + Duration::from_secs(left)
}

/// Waits for the first message, which must be a valid `auth`; anything else closes the socket with 4401.
async fn authenticate<S>(
    context: &Context,
    incoming: &mut S,
    outbox: &Outbox,
    closer: &Closer,
) -> Option<(Principal, Arc<str>)>
where
    S: Stream<Item = Result<AggregatedMessage, ProtocolError>> + Unpin,
{
    let deadline = Instant::now() + context.limits.auth_timeout;
    loop {
        let received = tokio::select! {
            () = closer.closed() => return None,
            received = tokio::time::timeout_at(deadline, incoming.next()) => received,
        };
        let Ok(received) = received else {
            let seconds = context.limits.auth_timeout.as_secs_f32();
            closer.close(
                close::UNAUTHENTICATED,
                format!(r#"send {{"type":"auth","token":…}} within {seconds} s"#),
            );
            return None;
        };
        let Some(text) = frame_text(received, outbox, closer) else {
            if closer.is_closed() {
                return None;
            }
            continue;
        };
        let token = match ClientMessage::parse(&text) {
            Ok(ClientMessage::Auth { token }) => token,
            _ => {
                closer.close(
                    close::UNAUTHENTICATED,
                    r#"the first message must be {"type":"auth","token":…}"#,
                );
                return None;
            }
        };
        return match verify(context, &token).await {
            Ok(principal) => Some((principal, Arc::from(token))),
            Err((code, reason)) => {
                closer.close(code, reason);
                None
            }
        };
    }
}

/// A fresh token for the same user.
async fn reauthenticate(context: &Context, current: &Principal, token: &str) -> Result<Principal, (u16, String)> {
    let principal = verify(context, token).await?;
    if principal.subject != current.subject {
        return Err((
            close::UNAUTHENTICATED,
            "a socket belongs to one user: a new auth must be for the same user".into(),
        ));
    }
    Ok(principal)
}

async fn verify(context: &Context, token: &str) -> Result<Principal, (u16, String)> {
    context
        .verifier
        .verify(token)
        .await
        .map_err(|error| match TokenRefusal::from(error) {
            TokenRefusal::KeysUnavailable(reason) => {
                tracing::warn!(%reason, "cannot fetch the JWKS for a WebSocket");
                (close::TRY_AGAIN_LATER, KEYS_UNAVAILABLE_MESSAGE.to_owned())
            }
            TokenRefusal::Unauthenticated(message) => (close::UNAUTHENTICATED, message),
        })
}

/// The text of a data frame. Control frames are handled here (a ping is answered) and give `None`; so do frames
/// that end the socket, after telling `closer` why.
fn frame_text(
    received: Option<Result<AggregatedMessage, ProtocolError>>,
    outbox: &Outbox,
    closer: &Closer,
) -> Option<String> {
    match received {
        Some(Ok(AggregatedMessage::Text(text))) => Some(text.to_string()),
        Some(Ok(AggregatedMessage::Ping(payload))) => {
            outbox.push(Outgoing::Pong(payload.to_vec()));
            None
        }
        Some(Ok(AggregatedMessage::Pong(_))) => None,
        Some(Ok(AggregatedMessage::Binary(_))) => {
            closer.close(
                close::UNSUPPORTED_DATA,
                "binary messages are not supported: send JSON text",
            );
            None
        }
        Some(Ok(AggregatedMessage::Close(_))) | None => {
            closer.close(close::NORMAL, "");
            None
        }
        Some(Err(error)) => {
            let (code, reason) = protocol_close(&error);
            closer.close(code, reason);
            None
        }
    }
}

/// The close for a frame the codec refused: too big (a frame or a fragmented message over the limit), invalid
/// UTF-8, or a protocol violation.
fn protocol_close(error: &ProtocolError) -> (u16, String) {
    let too_big = format!("messages are limited to {} KiB", super::MAX_MESSAGE_BYTES / 1024);
    match error {
        ProtocolError::Overflow => (close::TOO_BIG, too_big),
        ProtocolError::Io(io) if io.to_string().contains("maximum continuation size") => (close::TOO_BIG, too_big),
        ProtocolError::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            (close::INVALID_DATA, "text messages must be UTF-8".into())
        }
        other => (close::PROTOCOL_ERROR, other.to_string()),
    }
}
