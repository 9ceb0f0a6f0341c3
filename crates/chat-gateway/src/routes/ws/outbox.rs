//! Backpressure for one socket. Everything bound for the client goes through its [`Outbox`], a bounded queue that
//! producers (the upstream event streams, the reader's replies) fill without ever waiting: when it is full, or holds
//! more than [`MAX_QUEUED_BYTES`], the client is too slow and the socket closes with 4408. So a slow browser costs
//! the server at most that much memory and never slows the upstream streams or other sockets.
//!
//! One writer ([`write`]) drains the queue into the socket, and sends the close frame once a [`Closer`] has been
//! told why the socket ends (the first reason wins).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_ws::{CloseCode, CloseReason, Session};
use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::protocol::{ServerMessage, close};

/// Messages a socket may have queued.
pub const QUEUE_CAPACITY: usize = 256;
/// Bytes a socket may have queued (a pipeline with 200 jobs and their params is large); one message is always
/// accepted into an empty queue, whatever its size.
pub const MAX_QUEUED_BYTES: usize = 4 * 1024 * 1024;
/// How long the writer tries to deliver the close frame to a client that does not read.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Why the socket ends, set once.
#[derive(Clone, Default)]
pub struct Closer {
    token: CancellationToken,
    reason: Arc<Mutex<Option<(u16, String)>>>,
}

impl Closer {
    /// Ends the socket with this code and reason, unless a reason was given already; true when this call did.
    pub fn close(&self, code: u16, reason: impl Into<String>) -> bool {
        let mut current = self.reason.lock();
        if current.is_some() {
            return false;
        }
        *current = Some((code, reason.into()));
        self.token.cancel();
        true
    }

    pub fn reason(&self) -> Option<(u16, String)> {
        self.reason.lock().clone()
    }

    pub fn is_closed(&self) -> bool {
        self.token.is_cancelled()
    }

    pub async fn closed(&self) {
        self.token.cancelled().await;
    }
}

/// A frame for the writer.
#[derive(Debug, PartialEq, Eq)]
pub enum Outgoing {
    Text(String),
    /// A WebSocket ping (the heartbeat).
    Ping,
    /// The answer to a client's WebSocket ping.
    Pong(Vec<u8>),
}

impl Outgoing {
    fn size(&self) -> usize {
        match self {
            Outgoing::Text(text) => text.len(),
            Outgoing::Ping => 0,
            Outgoing::Pong(payload) => payload.len(),
        }
    }
}

/// The sending side of a socket's queue. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outgoing>,
    queued_bytes: Arc<AtomicUsize>,
    closer: Closer,
    /// `devopstrack_websocket_send_queue_overflows_total`: counts this socket once if it closes as too slow.
    overflows: Counter,
}

/// The receiving side, for [`write`].
pub struct Inbox {
    rx: mpsc::Receiver<Outgoing>,
    queued_bytes: Arc<AtomicUsize>,
}

impl Inbox {
    /// The next frame, once it is out of the byte budget.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        let frame = self.rx.recv().await?;
        self.queued_bytes.fetch_sub(frame.size(), Ordering::Relaxed);
        Some(frame)
    }
}

pub fn outbox(capacity: usize, closer: Closer, overflows: Counter) -> (Outbox, Inbox) {
    let (tx, rx) = mpsc::channel(capacity);
    let queued_bytes = Arc::new(AtomicUsize::new(0));
    (
        Outbox {
            tx,
            queued_bytes: queued_bytes.clone(),
            closer,
            overflows,
        },
        Inbox { rx, queued_bytes },
    )
}

impl Outbox {
    /// Queues `message` without waiting; false when the socket is closing (the caller should stop producing).
    pub fn send(&self, message: &ServerMessage) -> bool {
        match serde_json::to_string(message) {
            Ok(text) => self.push(Outgoing::Text(text)),
            Err(error) => {
                tracing::error!(%error, "cannot serialize a WebSocket message");
                !self.closer.is_closed()
            }
        }
    }

    /// Queues a frame without waiting; a full queue or byte budget closes the socket with 4408.
    pub fn push(&self, frame: Outgoing) -> bool {
        if self.closer.is_closed() {
            return false;
        }
        let size = frame.size();
        let before = self.queued_bytes.fetch_add(size, Ordering::Relaxed);
        if before > 0 && before + size > MAX_QUEUED_BYTES {
            self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            self.too_slow();
            return false;
        }
        match self.tx.try_send(frame) {
            Ok(()) => true,
            Err(error) => {
                self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
                if matches!(error, mpsc::error::TrySendError::Full(_)) {
                    self.too_slow();
                }
                false
            }
        }
    }

    fn too_slow(&self) {
        tracing::info!("closing a WebSocket whose client reads too slowly");
        if self
            .closer
            .close(close::TOO_SLOW, "too slow: the client did not keep up with its events")
        {
            self.overflows.inc();
        }
    }
}

/// Drains `inbox` into the socket until the closer fires or the client is gone, then sends the close frame.
pub async fn write(mut session: Session, mut inbox: Inbox, closer: Closer) {
    loop {
        let frame = tokio::select! {
            biased;
            () = closer.closed() => break,
            frame = inbox.recv() => frame,
        };
        let Some(frame) = frame else { break };
        let sent = tokio::select! {
            biased;
            () = closer.closed() => break,
            sent = send(&mut session, frame) => sent,
        };
        if sent.is_err() {
            // The client is gone; nobody reads a close frame.
            closer.close(close::GOING_AWAY, "");
            return;
        }
    }
    let reason = closer.reason().map(|(code, description)| CloseReason {
        code: CloseCode::from(code),
        description: (!description.is_empty()).then_some(description),
    });
    let _ = tokio::time::timeout(CLOSE_GRACE, session.close(reason)).await;
}

async fn send(session: &mut Session, frame: Outgoing) -> Result<(), actix_ws::Closed> {
    match frame {
        Outgoing::Text(text) => session.text(text).await,
        Outgoing::Ping => session.ping(b"").await,
        Outgoing::Pong(payload) => session.pong(&payload).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_wins() {
        let closer = Closer::default();
        assert!(!closer.is_closed());

        closer.close(close::TOO_SLOW, "slow");
        closer.close(close::NORMAL, "bye");

        assert!(closer.is_closed());
        assert_eq!(closer.reason(), Some((close::TOO_SLOW, "slow".to_owned())));
    }

    #[tokio::test]
    async fn a_full_queue_closes_the_socket_as_too_slow_without_waiting() {
        let closer = Closer::default();
        let overflows = Counter::default();
        let (outbox, mut inbox) = outbox(2, closer.clone(), overflows.clone());

        assert!(outbox.send(&ServerMessage::Pong));
        assert!(outbox.push(Outgoing::Ping));
        let overflowed = outbox.send(&ServerMessage::Pong);

        assert!(!overflowed);
        assert_eq!(closer.reason().map(|r| r.0), Some(close::TOO_SLOW));
        assert!(!outbox.push(Outgoing::Ping), "nothing is queued once closing");
        assert_eq!(overflows.get(), 1, "the overflow is counted once");
        assert_eq!(inbox.recv().await, Some(Outgoing::Text(r#"{"type":"pong"}"#.into())));
        assert_eq!(inbox.recv().await, Some(Outgoing::Ping));
    }

    #[tokio::test]
    async fn the_byte_budget_bounds_what_a_slow_client_holds() {
        let closer = Closer::default();
        let overflows = Counter::default();
        let (outbox, mut inbox) = outbox(QUEUE_CAPACITY, closer.clone(), overflows.clone());
        let big = "x".repeat(MAX_QUEUED_BYTES / 2 + 1);

        assert!(
            outbox.push(Outgoing::Text(big.clone())),
            "one message always fits an empty queue"
        );
        assert_eq!(inbox.recv().await.map(|f| f.size()), Some(big.len()));
        assert!(outbox.push(Outgoing::Text(big.clone())), "the budget was given back");
        assert!(!closer.is_closed());
        assert!(!outbox.push(Outgoing::Text(big)), "two halves are over the budget");

        assert_eq!(closer.reason().map(|r| r.0), Some(close::TOO_SLOW));
        assert_eq!(overflows.get(), 1);
    }

    #[tokio::test]
    async fn a_dropped_writer_is_not_reported_as_slowness() {
        let closer = Closer::default();
        let overflows = Counter::default();
        let (outbox, inbox) = outbox(1, closer.clone(), overflows.clone());
        drop(inbox);

        assert!(!outbox.push(Outgoing::Ping));
        assert!(!closer.is_closed());
        assert_eq!(overflows.get(), 0);
    }
}
