//! `GET /api/v1/ws`: live pipeline and job events for browsers. The protocol is documented on [`upgrade`] (and so in
//! the OpenAPI document). The pieces: [`protocol`] (the messages), [`connection`] (what the client may send, when),
//! [`watch`] (one tasks `WatchEvents` stream per topic) and [`outbox`] (the bounded queue to the client).
//!
//! The token travels in the first message, not in a header or a cookie (browsers cannot set headers on a WebSocket),
//! so a cross-site page that opens this socket gains nothing: without a token it is closed with 4401.

pub(crate) mod caps;
pub(crate) mod connection;
pub(crate) mod outbox;
pub(crate) mod protocol;
pub(crate) mod rooms;
pub(crate) mod watch;

#[cfg(test)]
mod tests;

use actix_web::{HttpRequest, HttpResponse, web};
use prometheus_client::metrics::gauge::Gauge;
use tracing::Instrument;

use self::caps::address_key;
use self::connection::{Context, LIMITS};
use self::outbox::{Closer, QUEUE_CAPACITY};
use self::protocol::close;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{RequestId, client_ip};
use crate::state::AppState;

/// Where the socket is served.
pub const WS_PATH: &str = "/api/v1/ws";
/// Largest message a client may send (one frame or a fragmented message); over it the socket closes with 1009.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// `Retry-After` of a refusal by the per-address cap: a guess, since a place frees only when a socket closes.
const RETRY_AFTER_FULL_SECS: u64 = 10;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(WS_PATH, web::get().to(upgrade));
}

/// Counts the socket as open until dropped (even if its task panics).
struct OpenSocket(Gauge);

impl OpenSocket {
    fn new(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Live events over a WebSocket (JSON text messages, each with a `type`).
///
/// 1. **Authenticate first**, within 10 s: `{"type":"auth","token":"<access token>"}` (browsers cannot set headers on a
///    WebSocket). The answer is `{"type":"authenticated","user":{"id","name","role"},"expiresAt"}`. Any other first
///    message, a bad or expired token, or silence closes the socket with **4401**. Send `auth` again with a fresh
///    token of the same user before `expiresAt` to keep the socket open; at `expiresAt` it closes with 4401.
/// 2. **Subscribe**: `{"type":"subscribe","topics":["project:<slug>","pipeline:<id>"]}` (at most 20 topics), or the
///    topic `pipelines` for every pipeline you may see (state changes only, no log lines). Each topic is answered
///    `{"type":"subscribed","topic"}` once its stream is open; a bad topic, or one you may not see, is answered
///    `{"type":"error","topic","message"}` and the socket stays open. `{"type":"unsubscribe","topics":[…]}`
///    answers `{"type":"unsubscribed","topics":[…]}`.
/// 3. **Events**, each with an `eventId` (an event matching two of your topics comes once per topic) and the `topic`:
///    `{"type":"pipeline.updated","pipeline":Pipeline}`, `{"type":"job.updated","pipeline":Pipeline,"job":Job}` (that
///    pipeline without its `stages`: the job is beside it),
///    `{"type":"job.log","pipelineId","jobId","attempt","offset","lines":[…]}`; `Pipeline` and `Job` are the REST
///    shapes.
/// 4. **Chat**: the topic `room:<id>` (`room:general`, `room:project:<slug>`, `room:dm:<your id>`) follows a room:
///    `{"type":"chat.message","topic","message":ChatMessage}` for each message (a person's or the bot's), once and in
///    event-id order, and `{"type":"chat.action","topic","action":ChatAction}` when an action changes. To resume, send
///    `"after":{"room:<id>":<last event id>}` with `subscribe`: what was missed comes first, then `subscribed`; beyond
///    the replay cap (500) the answer is `{"type":"resync_required","topic"}` (refetch over REST). `{"type":
///    "chat.send","room","clientMsgId","text"}` posts like `POST /api/v1/chat/rooms/{room}/messages` and is answered
///    `{"type":"chat.sent","clientMsgId",…}` with the same fields; `{"type":"chat.decide","actionId","decision"}` is
///    answered `{"type":"chat.decided","action"}`; a refusal is an `error` message.
/// 5. **Heartbeats**: the server pings every 15 s and closes a socket silent for 45 s (**1001**); `{"type":"ping"}` is
///    answered `{"type":"pong"}`.
///
/// **Caps**: at most `ws_max_per_user` sockets per user (default 20; one more is closed with **4429** right after its
/// `auth`) and `ws_max_per_address` per client address (default 50, an IPv6 client counted by its /64; one more is
/// refused before the upgrade with **429** `too_many_sockets` and `Retry-After`). Closing a socket frees its place.
///
/// Other closes: **4408** when the client reads too slowly for its events (its queue overflowed), **1003** for a
/// message that is not JSON text, **1009** for one over 64 KiB, **1013** when tokens cannot be verified right now. A
/// JSON message of an unknown `type` or shape is answered `{"type":"error","message"}` without closing.
#[utoipa::path(get, path = "/api/v1/ws", tag = "live", operation_id = "openWebSocket", security(()),
    responses(
        (status = 101, description = "Switching Protocols: the WebSocket is open; authenticate with the first message"),
        (status = 400, description = "Not a WebSocket upgrade request", body = ErrorBody),
        (status = 429, description = "This address has `ws_max_per_address` sockets open already \
            (`too_many_sockets`); see `Retry-After`", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    ))]
async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    id: RequestId,
) -> Result<HttpResponse, ApiError> {
    // Before the upgrade, so a refused client costs no socket task; held until the socket's task ends.
    let address_slot = match client_ip(&req, &state.proxies) {
        Some(ip) => Some(
            state
                .socket_caps
                .per_address
                .take(address_key(ip))
                .ok_or_else(|| ApiError::RateLimited {
                    code: "too_many_sockets",
                    message: format!(
                        "this address has {} WebSockets open already (the most allowed): close one first",
                        state.socket_caps.per_address.max()
                    ),
                    retry_after_secs: RETRY_AFTER_FULL_SECS,
                })?,
        ),
        None => None,
    };
    let (response, session, stream) =
        actix_ws::handle(&req, body).map_err(|e| ApiError::invalid(format!("expected a WebSocket upgrade: {e}")))?;
    let incoming = stream
        .max_frame_size(MAX_MESSAGE_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_MESSAGE_BYTES);
    let closer = Closer::default();
    let (outbox, inbox) = outbox::outbox(QUEUE_CAPACITY, closer.clone(), state.websocket_overflows.clone());
    let context = Context {
        verifier: state.verifier.clone(),
        tasks: state.tasks.clone(),
        request_id: id.0.clone(),
        limits: LIMITS,
        per_user: state.socket_caps.per_user.clone(),
        chat: state.chat.clone(),
    };
    let open = OpenSocket::new(state.websocket_connections.clone());
    let span = tracing::info_span!("ws.connection", request_id = %id.0);
    // The incoming stream is tied to this worker thread: both halves run as local tasks here.
    actix_web::rt::spawn(
        async move {
            let _open = (open, address_slot);
            let writer = actix_web::rt::spawn(outbox::write(session, inbox, closer.clone()).in_current_span());
            connection::run(context, incoming, outbox, closer.clone()).await;
            closer.close(close::NORMAL, "");
            let _ = writer.await;
            if let Some((code, reason)) = closer.reason() {
                tracing::debug!(code, %reason, "websocket closed");
            }
        }
        .instrument(span),
    );
    Ok(response)
}
