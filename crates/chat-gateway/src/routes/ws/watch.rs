//! A socket's subscriptions: one tasks `WatchEvents` stream per topic, opened with the caller's current token and
//! relayed into the socket's [`Outbox`]. A stream that drops (tasks restarting, a network blip) is reopened after the
//! last event relayed, with backoff, so nothing is missed while tasks still retains the events; a refusal (unknown
//! pipeline, no permission, expired token) ends the subscription with an `error` message naming the topic.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use devopstrack_peers::Backoff;

use super::outbox::Outbox;
use super::protocol::{ServerMessage, Topic};
use crate::state::TasksClient;

/// Topics one socket may follow at once.
pub const MAX_TOPICS: usize = 20;
/// The wait before reopening a dropped stream (reset once one opens).
const REOPEN_BACKOFF: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));

struct Subscription {
    stop: CancellationToken,
    task: JoinHandle<()>,
    /// The stream is open (and `subscribed` was sent).
    open: Arc<AtomicBool>,
}

impl Subscription {
    fn is_live(&self) -> bool {
        !self.task.is_finished()
    }
}

/// The live subscriptions of one socket; dropping it stops them all.
pub struct Subscriptions {
    tasks: TasksClient,
    outbox: Outbox,
    /// The caller's current token: a stream (re)opened after a re-`auth` uses the new one.
    token: watch::Receiver<Arc<str>>,
    request_id: Arc<str>,
    active: HashMap<Topic, Subscription>,
}

impl Subscriptions {
    pub fn new(tasks: TasksClient, outbox: Outbox, token: watch::Receiver<Arc<str>>, request_id: Arc<str>) -> Self {
        Self {
            tasks,
            outbox,
            token,
            request_id,
            active: HashMap::new(),
        }
    }

    /// Starts a stream for each new topic; each answers `subscribed` once open. A bad topic, or one past
    /// [`MAX_TOPICS`], is answered with an `error` and skipped; the others are still subscribed.
    pub fn subscribe(&mut self, topics: Vec<String>) {
        if topics.len() > MAX_TOPICS {
            // One answer, not one per topic: a long list must not flood the client's queue.
            self.outbox.send(&ServerMessage::error(format!(
                "topics: at most {MAX_TOPICS} per connection, got {}",
                topics.len()
            )));
            return;
        }
        self.active.retain(|_, s| s.is_live());
        for raw in topics {
            let topic = match Topic::parse(&raw) {
                Ok(topic) => topic,
                Err(message) => {
                    self.outbox.send(&ServerMessage::Error {
                        message,
                        topic: Some(raw),
                    });
                    continue;
                }
            };
            if let Some(existing) = self.active.get(&topic) {
                // Acknowledged again if open; otherwise its pending acknowledgement answers this request too.
                if existing.open.load(Ordering::Acquire) {
                    self.outbox.send(&ServerMessage::Subscribed {
                        topic: topic.to_string(),
                    });
                }
                continue;
            }
            if self.active.len() >= MAX_TOPICS {
                self.outbox.send(&ServerMessage::Error {
                    message: format!("at most {MAX_TOPICS} topics per connection: unsubscribe from some first"),
                    topic: Some(raw),
                });
                continue;
            }
            let stop = CancellationToken::new();
            let open = Arc::new(AtomicBool::new(false));
            let relay = Relay {
                tasks: self.tasks.clone(),
                outbox: self.outbox.clone(),
                token: self.token.clone(),
                request_id: self.request_id.clone(),
                topic: topic.clone(),
                stop: stop.clone(),
                open: open.clone(),
            };
            let task = tokio::spawn(relay.run());
            self.active.insert(topic, Subscription { stop, task, open });
        }
    }

    /// Stops the streams of these topics (unknown ones are ignored) and answers `unsubscribed` with them and with
    /// `removed` (the room topics the chat's feeds stopped).
    pub fn unsubscribe(&mut self, topics: Vec<String>, mut removed: Vec<String>) {
        for raw in topics {
            if let Ok(topic) = Topic::parse(&raw)
                && let Some(subscription) = self.active.remove(&topic)
            {
                subscription.stop.cancel();
                removed.push(topic.to_string());
            }
        }
        self.outbox.send(&ServerMessage::Unsubscribed { topics: removed });
    }
}

impl Drop for Subscriptions {
    fn drop(&mut self) {
        for subscription in self.active.values() {
            subscription.stop.cancel();
        }
    }
}

/// One topic's stream, relayed.
struct Relay {
    tasks: TasksClient,
    outbox: Outbox,
    token: watch::Receiver<Arc<str>>,
    request_id: Arc<str>,
    topic: Topic,
    stop: CancellationToken,
    open: Arc<AtomicBool>,
}

/// Errors that a new attempt may cure; the others end the subscription.
fn is_transient(status: &tonic::Status) -> bool {
    use tonic::Code;
    matches!(
        status.code(),
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Aborted
            | Code::ResourceExhausted
            | Code::Unknown
            | Code::Internal
    )
}

impl Relay {
    async fn run(self) {
        let stop = self.stop.clone();
        tokio::select! {
            () = stop.cancelled() => {}
            () = self.relay() => {}
        }
    }

    async fn relay(&self) {
        let mut after_event_id = String::new();
        let mut backoff = REOPEN_BACKOFF.delays();
        let mut announced = false;
        loop {
            match self.open(after_event_id.clone()).await {
                Ok(mut stream) => {
                    backoff.reset();
                    if !announced {
                        announced = true;
                        self.open.store(true, Ordering::Release);
                        let topic = self.topic.to_string();
                        if !self.outbox.send(&ServerMessage::Subscribed { topic }) {
                            return;
                        }
                    }
                    loop {
                        match stream.message().await {
                            Ok(Some(event)) => {
                                if !event.id.is_empty() {
                                    after_event_id.clone_from(&event.id);
                                }
                                if let Some(message) = ServerMessage::from_event(event, &self.topic)
                                    && !self.outbox.send(&message)
                                {
                                    return;
                                }
                            }
                            Ok(None) => break,
                            Err(status) if is_transient(&status) => {
                                tracing::debug!(topic = %self.topic, code = ?status.code(), "event stream dropped");
                                break;
                            }
                            Err(status) => return self.refused(&status),
                        }
                    }
                }
                Err(status) if is_transient(&status) => {
                    tracing::debug!(topic = %self.topic, code = ?status.code(), "cannot open the event stream yet");
                }
                Err(status) => return self.refused(&status),
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }

    async fn open(
        &self,
        after_event_id: String,
    ) -> Result<tonic::Streaming<devopstrack_proto::tasks::v1::Event>, tonic::Status> {
        let mut request = tonic::Request::new(self.topic.watch_request(after_event_id));
        let token = self.token.borrow().clone();
        if let Ok(value) = devopstrack_peers::clients::bearer(&token) {
            request.metadata_mut().insert("authorization", value);
        }
        if let Ok(value) = self.request_id.parse() {
            request.metadata_mut().insert("x-request-id", value);
        }
        Ok(self.tasks.clone().watch_events(request).await?.into_inner())
    }

    fn refused(&self, status: &tonic::Status) {
        self.outbox.send(&ServerMessage::Error {
            message: format!("{}: {}", code_name(status.code()), status.message()),
            topic: Some(self.topic.to_string()),
        });
    }
}

/// The REST error code a refusal would have (`not_found`, `forbidden`, …), so clients handle both alike.
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::InvalidArgument | Code::OutOfRange => "invalid_argument",
        Code::Unauthenticated => "unauthenticated",
        Code::PermissionDenied => "forbidden",
        Code::NotFound => "not_found",
        Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => "conflict",
        _ => "unavailable",
    }
}
