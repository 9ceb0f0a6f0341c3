//! What the server sends: [`ServerMessage`], tagged by `type`, built from replies and from tasks events (in the REST
//! shapes).

use chrono::{DateTime, Utc};
use serde::Serialize;

use devopstrack_platform::auth::Principal;
use devopstrack_proto::tasks::v1 as pb;

use super::Topic;
use crate::routes::pipelines::dto::{JobBody, PipelineBody};

/// The verified caller, as `authenticated` reports it.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SocketUser {
    pub id: String,
    pub name: String,
    pub role: &'static str,
}

/// What the server sends. New types are new variants.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum ServerMessage {
    #[serde(rename = "authenticated")]
    Authenticated {
        user: SocketUser,
        /// Send a new `auth` message before this, or the socket is closed with 4401.
        expires_at: Option<DateTime<Utc>>,
    },
    /// The topic's event stream is open: every change from now on is delivered.
    #[serde(rename = "subscribed")]
    Subscribed { topic: String },
    #[serde(rename = "unsubscribed")]
    Unsubscribed { topics: Vec<String> },
    #[serde(rename = "pong")]
    Pong,
    /// A message could not be honoured; the socket stays open. `topic` is set when a subscription failed (it is
    /// dropped; subscribe again to retry).
    #[serde(rename = "error")]
    Error {
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
    },
    #[serde(rename = "pipeline.updated")]
    PipelineUpdated {
        event_id: String,
        topic: String,
        pipeline: PipelineBody,
    },
    /// `pipeline` is the header only (no `stages`), as tasks sends it for job events.
    #[serde(rename = "job.updated")]
    JobUpdated {
        event_id: String,
        topic: String,
        pipeline: PipelineBody,
        job: JobBody,
    },
    /// A chat message in a followed room (`topic` is `room:<id>`), in event-id order, once.
    #[serde(rename = "chat.message")]
    ChatMessage {
        topic: String,
        message: crate::routes::chat::MessageBody,
    },
    /// An action of a followed room changed.
    #[serde(rename = "chat.action")]
    ChatAction {
        topic: String,
        action: crate::routes::chat::ActionBody,
    },
    /// More happened in the room than the socket can replay: refetch its history over REST, then carry on here.
    #[serde(rename = "resync_required")]
    ResyncRequired { topic: String },
    /// The answer to `chat.send`: as `POST …/messages` answers.
    #[serde(rename = "chat.sent")]
    ChatSent {
        client_msg_id: String,
        #[serde(flatten)]
        posted: crate::routes::chat::PostedBody,
    },
    /// The answer to `chat.decide`.
    #[serde(rename = "chat.decided")]
    ChatDecided { action: crate::routes::chat::ActionBody },
    #[serde(rename = "job.log")]
    JobLog {
        event_id: String,
        topic: String,
        pipeline_id: String,
        job_id: String,
        attempt: u32,
        /// The index of the first of `lines` in the attempt's log.
        offset: u64,
        lines: Vec<String>,
    },
}

impl ServerMessage {
    pub fn error(message: impl Into<String>) -> Self {
        ServerMessage::Error {
            message: message.into(),
            topic: None,
        }
    }

    pub fn authenticated(principal: &Principal) -> Self {
        ServerMessage::Authenticated {
            user: SocketUser {
                id: principal.subject.clone(),
                name: principal.name.clone(),
                role: principal.role.as_str(),
            },
            expires_at: DateTime::from_timestamp(principal.expires_at, 0),
        }
    }

    /// The message for an event of `topic`; `None` for an event this version does not know (or a malformed one).
    pub fn from_event(event: pb::Event, topic: &Topic) -> Option<Self> {
        let event_type = pb::EventType::try_from(event.r#type).unwrap_or(pb::EventType::Unspecified);
        let event_id = event.id;
        let topic = topic.to_string();
        let pipeline = event.pipeline?;
        match event_type {
            pb::EventType::PipelineUpdated => Some(ServerMessage::PipelineUpdated {
                event_id,
                topic,
                pipeline: pipeline.into(),
            }),
            pb::EventType::JobUpdated => Some(ServerMessage::JobUpdated {
                event_id,
                topic,
                pipeline: pipeline.into(),
                job: event.job?.into(),
            }),
            pb::EventType::JobLog => {
                let job = event.job?;
                Some(ServerMessage::JobLog {
                    event_id,
                    topic,
                    pipeline_id: pipeline.id,
                    job_id: job.id,
                    attempt: job.attempt,
                    offset: event.log_offset,
                    lines: event.log_lines,
                })
            }
            pb::EventType::Unspecified => None,
        }
    }
}
