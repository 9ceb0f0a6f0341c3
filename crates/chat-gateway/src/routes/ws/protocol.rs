//! The messages of `/api/v1/ws`: JSON text frames tagged by `type`. [`ClientMessage`] is what a browser may send,
//! [`ServerMessage`] what it receives; both are open enums (the chat adds its own types later), and an unknown `type`
//! is answered with an `error` message, not a close. Live events reuse the REST shapes ([`PipelineBody`],
//! [`JobBody`]).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use devopstrack_platform::auth::Principal;
use devopstrack_proto::tasks::v1 as pb;

use crate::routes::pipelines_dto::{JobBody, PipelineBody};

/// Close codes this endpoint uses besides the standard ones (1000 normal, 1001 going away, 1003 unsupported data,
/// 1007 invalid UTF-8, 1009 too big, 1011 server error, 1013 try again later).
pub mod close {
    /// No `auth` message first, within the deadline; a bad or expired token.
    pub const UNAUTHENTICATED: u16 = 4401;
    /// The client reads more slowly than its events arrive: its outbound queue overflowed.
    pub const TOO_SLOW: u16 = 4408;
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const UNSUPPORTED_DATA: u16 = 1003;
    pub const INVALID_DATA: u16 = 1007;
    pub const TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// What a client sends. A new type is a new variant, a struct of its fields and an arm in [`ClientMessage::parse`].
#[derive(Debug, PartialEq, Eq)]
pub enum ClientMessage {
    /// Must be the first message; may be sent again with a fresh token (of the same user) before the current one
    /// expires, which keeps the socket open.
    Auth {
        token: String,
    },
    Subscribe {
        topics: Vec<String>,
    },
    Unsubscribe {
        topics: Vec<String>,
    },
    /// An application-level ping (browsers cannot send WebSocket ping frames): answered with `pong`.
    Ping,
}

/// Why a text frame is not a [`ClientMessage`].
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not JSON at all: the socket is closed with 1003.
    NotJson(String),
    /// JSON of the wrong shape or an unknown `type`: answered with an `error` message.
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFields {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicsFields {
    topics: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

impl ClientMessage {
    /// Dispatches on `type` by hand rather than with serde's internally tagged enums, whose errors cannot name the
    /// field at fault (`topics: invalid type: string …`).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ParseError::NotJson(format!("not JSON: {e}")))?;
        let Value::Object(mut fields) = value else {
            return Err(ParseError::Invalid(r#"expected an object with a "type""#.into()));
        };
        let kind = match fields.remove("type") {
            Some(Value::String(kind)) => kind,
            Some(_) => return Err(ParseError::Invalid("type: expected a string".into())),
            None => return Err(ParseError::Invalid("missing field `type`".into())),
        };
        match kind.as_str() {
            "auth" => fields_of::<AuthFields>(fields).map(|f| ClientMessage::Auth { token: f.token }),
            "subscribe" => fields_of::<TopicsFields>(fields).map(|f| ClientMessage::Subscribe { topics: f.topics }),
            "unsubscribe" => fields_of::<TopicsFields>(fields).map(|f| ClientMessage::Unsubscribe { topics: f.topics }),
            "ping" => fields_of::<NoFields>(fields).map(|_| ClientMessage::Ping),
            other => Err(ParseError::Invalid(format!(
                "unknown type {other:?}: expected auth, subscribe, unsubscribe or ping"
            ))),
        }
    }
}

/// The fields of a message besides `type`; errors name the field.
fn fields_of<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ParseError::Invalid(if path == "." || path.is_empty() {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        })
    })
}

/// A stream of events a client may follow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `pipelines`: every pipeline the caller may see, without log lines (for lists and the overview).
    All,
    /// `project:<slug>`: every pipeline of the project.
    Project(String),
    /// `pipeline:<id>`: one pipeline.
    Pipeline(String),
}

impl Topic {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || format!("{raw:?} is not a topic: expected pipelines, project:<slug> or pipeline:<id>");
        if raw == "pipelines" {
            return Ok(Topic::All);
        }
        let (kind, value) = raw.split_once(':').ok_or_else(bad)?;
        match kind {
            "project" if is_slug(value) => Ok(Topic::Project(value.to_owned())),
            "pipeline" if uuid::Uuid::parse_str(value).is_ok() => Ok(Topic::Pipeline(value.to_ascii_lowercase())),
            _ => Err(bad()),
        }
    }

    /// The WatchEvents filter of this topic (with logs).
    pub fn watch_request(&self, after_event_id: String) -> pb::WatchEventsRequest {
        let (project, pipeline_id) = match self {
            Topic::All => (String::new(), String::new()),
            Topic::Project(slug) => (slug.clone(), String::new()),
            Topic::Pipeline(id) => (String::new(), id.clone()),
        };
        pb::WatchEventsRequest {
            project,
            pipeline_id,
            after_event_id,
            include_logs: *self != Topic::All,
        }
    }
}

/// `^[a-z0-9][a-z0-9-]{1,62}$`, as the projects service defines a slug.
fn is_slug(s: &str) -> bool {
    (2..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::All => write!(f, "pipelines"),
            Topic::Project(slug) => write!(f, "project:{slug}"),
            Topic::Pipeline(id) => write!(f, "pipeline:{id}"),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn client_messages_parse_by_type() {
        let cases = [
            (
                r#"{"type":"auth","token":"t"}"#,
                ClientMessage::Auth { token: "t".into() },
            ),
            (
                r#"{"type":"subscribe","topics":["project:api"]}"#,
                ClientMessage::Subscribe {
                    topics: vec!["project:api".into()],
                },
            ),
            (
                r#"{"type":"unsubscribe","topics":[]}"#,
                ClientMessage::Unsubscribe { topics: vec![] },
            ),
            (r#"{"type":"ping"}"#, ClientMessage::Ping),
        ];
        for (text, expected) in cases {
            assert_eq!(ClientMessage::parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_messages_are_told_apart_from_non_json() {
        let invalid = [
            (r#"{"type":"chat.send","text":"hi"}"#, r#"unknown type "chat.send""#),
            (r#"{"type":7}"#, "type: expected a string"),
            (r#"{"type":"ping","extra":true}"#, "unknown field `extra`"),
            (r#"{"type":"subscribe","topics":"project:api"}"#, "topics: invalid type"),
            (r#"{"type":"auth"}"#, "missing field `token`"),
            (r#"{"type":"auth","token":"t","extra":1}"#, "unknown field `extra`"),
            (r#"{"token":"t"}"#, "missing field `type`"),
            (r#"[1,2]"#, "expected an object"),
        ];
        for (text, expected) in invalid {
            match ClientMessage::parse(text) {
                Err(ParseError::Invalid(message)) => assert!(message.contains(expected), "{text}: {message}"),
                other => panic!("{text}: expected Invalid, got {other:?}"),
            }
        }
        for text in ["hello", "{\"type\":", "", "{} trailing"] {
            assert!(
                matches!(ClientMessage::parse(text), Err(ParseError::NotJson(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn topics_are_a_project_slug_or_a_pipeline_uuid() {
        let id = "0190f5a4-8d3c-7c4e-9a1b-2c3d4e5f6a7b";
        assert_eq!(Topic::parse("project:api"), Ok(Topic::Project("api".into())));
        assert_eq!(Topic::parse("pipelines"), Ok(Topic::All));
        assert!(!Topic::All.watch_request(String::new()).include_logs);
        assert_eq!(Topic::All.to_string(), "pipelines");
        assert_eq!(
            Topic::parse(&format!("pipeline:{}", id.to_uppercase())),
            Ok(Topic::Pipeline(id.into()))
        );
        for bad in [
            "project:",
            "project:a",
            "project:API",
            "project:-api",
            "project:api/x",
            "pipeline:42",
            "pipelines:x",
            "api",
            "",
            "job:1",
        ] {
            assert!(Topic::parse(bad).is_err(), "{bad:?}");
        }
        let request = Topic::parse(&format!("pipeline:{id}"))
            .unwrap()
            .watch_request("e-9".into());
        assert_eq!(
            (
                request.project.as_str(),
                request.pipeline_id.as_str(),
                request.after_event_id.as_str(),
                request.include_logs
            ),
            ("", id, "e-9", true)
        );
    }

    #[test]
    fn events_become_typed_messages_with_the_rest_shapes() {
        let topic = Topic::Project("api".into());
        let pipeline = pb::Pipeline {
            id: "p-1".into(),
            project: "api".into(),
            status: pb::PipelineStatus::Running as i32,
            commit_sha: "3484a3fb816e".into(),
            ..Default::default()
        };
        let job = pb::Job {
            id: "j-1".into(),
            attempt: 2,
            status: pb::JobStatus::Running as i32,
            ..Default::default()
        };
        let event = |t: pb::EventType, job: Option<pb::Job>| pb::Event {
            id: "e-1".into(),
            r#type: t as i32,
            pipeline: Some(pipeline.clone()),
            job,
            log_lines: vec!["line 1".into(), "line 2".into()],
            log_offset: 10,
            ..Default::default()
        };

        let json = |m: Option<ServerMessage>| serde_json::to_value(m.expect("a message")).unwrap();
        let updated = json(ServerMessage::from_event(
            event(pb::EventType::PipelineUpdated, None),
            &topic,
        ));
        let job_updated = json(ServerMessage::from_event(
            event(pb::EventType::JobUpdated, Some(job.clone())),
            &topic,
        ));
        let log = json(ServerMessage::from_event(
            event(pb::EventType::JobLog, Some(job)),
            &topic,
        ));

        assert_eq!(
            (&updated["type"], &updated["eventId"], &updated["topic"]),
            (&json!("pipeline.updated"), &json!("e-1"), &json!("project:api"))
        );
        assert_eq!(updated["pipeline"]["status"], "running");
        assert_eq!(
            updated["pipeline"]["commit"],
            json!({"sha": "3484a3fb816e", "time": null}),
            "the REST shape's commit"
        );
        assert_eq!(
            (&job_updated["type"], &job_updated["job"]["status"]),
            (&json!("job.updated"), &json!("running"))
        );
        assert_eq!(
            log,
            json!({"type": "job.log", "eventId": "e-1", "topic": "project:api", "pipelineId": "p-1",
                   "jobId": "j-1", "attempt": 2, "offset": 10, "lines": ["line 1", "line 2"]})
        );
        assert!(ServerMessage::from_event(event(pb::EventType::JobUpdated, None), &topic).is_none());
        assert!(ServerMessage::from_event(event(pb::EventType::Unspecified, None), &topic).is_none());
    }

    #[test]
    fn replies_are_tagged_by_type() {
        let to_json = |m: ServerMessage| serde_json::to_value(m).unwrap();
        assert_eq!(to_json(ServerMessage::Pong), json!({"type": "pong"}));
        assert_eq!(
            to_json(ServerMessage::error("bad")),
            json!({"type": "error", "message": "bad"})
        );
        assert_eq!(
            to_json(ServerMessage::Subscribed {
                topic: "project:api".into()
            }),
            json!({"type": "subscribed", "topic": "project:api"})
        );
    }
}
