//! The bot's notices: it follows tasks' event stream (every project's runs, with the gateway's own service token)
//! and posts in a project's room when a run fails (offering the retry), when a deploy finishes and when an approval
//! waits (offering the approval), see [`notice`].
//!
//! Exactly once per event, across replicas and restarts: every replica follows the stream and posts, and the store
//! keeps one notice per key (a keyed bot message, [`crate::chat::store::NewMessage::keyed`]): the second copy answers
//! the first. The stream is resumed after the last event handled, saved in the store ([`FEED`]) after each notice
//! and every few seconds, so a restart re-reads what it may not have handled (at least once) and the key drops
//! what it had (once). A store or stream failure reopens the stream from there with backoff.
//!
//! Incidents are not noticed yet: no service streams them (metrics stores them from tasks' webhook inbox and
//! answers only aggregates); an incident event on tasks' stream would make them one more [`notice::Happened`].

pub mod notice;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use devopstrack_peers::{Backoff, ServiceTokens};
use devopstrack_proto::tasks::v1 as pb;

use super::platform::{CallAs, environment_info};
use super::{ChatApp, ChatError, clip};
use crate::chat::domain::EnvironmentFacts;
use crate::chat::domain::MessageText;
use crate::chat::store::NewMessage;

/// The name of tasks' event stream's cursor in the store.
pub const FEED: &str = "tasks.events";
/// The cursor is saved at least this often while events flow (and after each notice).
const SAVE_EVERY: Duration = Duration::from_secs(2);
/// The wait before reopening a failed stream (reset once events flow again).
const REOPEN: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10));

/// Follows tasks' events and posts notices until `stop`; then saves where it got to. Returns at once when the
/// gateway has no service credentials (`client_secret`): without them it cannot watch every project.
pub async fn run_notifier(chat: Arc<ChatApp>, tokens: Arc<ServiceTokens>, stop: CancellationToken) {
    if !tokens.configured() {
        tracing::info!("chat notices are off: the gateway has no client secret to watch every project with");
        return;
    }
    let mut follower = Follower {
        chat,
        tokens,
        position: None,
        saved: None,
        saved_at: Instant::now(),
    };
    let mut delays = REOPEN.delays();
    loop {
        let failure = tokio::select! {
            () = stop.cancelled() => break,
            failure = follower.follow(&mut delays) => failure,
        };
        tracing::warn!(error = %failure, "chat notices: following tasks' events failed; reopening");
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(delays.next_delay()) => {}
        }
    }
    if let Err(error) = follower.save().await {
        tracing::warn!(%error, "chat notices: could not save where they got to");
    }
}

struct Follower {
    chat: Arc<ChatApp>,
    tokens: Arc<ServiceTokens>,
    /// The last event handled (`None`: not read from the store yet, or nothing ever handled).
    position: Option<String>,
    saved: Option<String>,
    saved_at: Instant,
}

impl Follower {
    /// Opens the stream after the last event handled and handles events until it fails; answers why.
    async fn follow(&mut self, delays: &mut devopstrack_peers::backoff::Delays) -> ChatError {
        if self.position.is_none() {
            match self.chat.store.feed_cursor(FEED).await {
                Ok(position) => (self.position, self.saved) = (position.clone(), position),
                Err(e) => return e.into(),
            }
        }
        let token = match self.tokens.token().await {
            Ok(token) => token,
            Err(e) => return ChatError::Unavailable(format!("no service token: {e}")),
        };
        let call = CallAs {
            token,
            request_id: format!("chat-notices-{}", uuid::Uuid::new_v4()),
        };
        let watch = pb::WatchEventsRequest {
            after_event_id: self.position.clone().unwrap_or_default(),
            ..Default::default()
        };
        let mut events = match self.chat.platform.tasks.clone().watch_events(call.request(watch)).await {
            Ok(stream) => stream.into_inner(),
            Err(status) => return status.into(),
        };
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                Err(status) => return status.into(),
            };
            delays.reset();
            let posted = match notice::noticed(&event) {
                Some(noticed) => match self.post(&call, &event, &noticed).await {
                    Ok(posted) => posted,
                    Err(e) => return e,
                },
                None => false,
            };
            self.position = Some(event.id);
            if (posted || self.saved_at.elapsed() >= SAVE_EVERY)
                && let Err(e) = self.save().await
            {
                return e;
            }
        }
        ChatError::Unavailable("tasks ended the event stream".into())
    }

    /// Posts the notice once (answers whether this call stored it).
    async fn post(&self, call: &CallAs, event: &pb::Event, noticed: &notice::Noticed) -> Result<bool, ChatError> {
        let environment = self.environment(call, &noticed.run).await;
        let (text, payload) = noticed.render(environment);
        let text = MessageText::parse(&clip(&text, MessageText::MAX_CHARS))
            .map_err(|e| ChatError::InvalidInput(e.to_string()))?;
        let message = NewMessage::from_bot(noticed.room.clone(), true, text, notice::event_time(event))
            .keyed(noticed.key.clone())
            .with_payload(&payload)?;
        let appended = self.chat.store.append_message(&message).await?;
        if appended.created {
            self.chat.metrics.message("bot");
        }
        Ok(appended.created)
    }

    /// What projects says about the run's environment (`None` when it deploys nowhere or cannot be looked up).
    async fn environment(&self, call: &CallAs, run: &pb::Pipeline) -> Option<EnvironmentFacts> {
        if run.environment.is_empty() {
            return None;
        }
        match self.chat.platform.project(call, &run.project).await {
            Ok(project) => project
                .environments
                .iter()
                .find(|e| e.name == run.environment)
                .map(|e| environment_info(e).facts()),
            Err(error) => {
                tracing::warn!(%error, project = run.project, "chat notices: project lookup failed; worst case assumed");
                None
            }
        }
    }

    async fn save(&mut self) -> Result<(), ChatError> {
        if let Some(position) = &self.position
            && self.saved.as_ref() != Some(position)
        {
            self.chat
                .store
                .save_feed_cursor(FEED, position, chrono::Utc::now())
                .await?;
            self.saved = Some(position.clone());
        }
        self.saved_at = Instant::now();
        Ok(())
    }
}
