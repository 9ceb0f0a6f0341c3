//! Rows as both databases hand them over (plain strings, numbers and times), and their one conversion into the
//! store's types: a value that no longer parses is `Corrupt`, named by column, never a panic.

use chrono::{DateTime, Utc};
use devopstrack_platform::auth::Role;
use uuid::Uuid;

use crate::chat::domain::{ActionState, Decision, Intent, Params, Risk, RoomId, RoomKind};

use super::actions::{Action, DecisionRecord, NewAction, RunRef};
use super::messages::{Message, Room, Sender};
use super::types::{ClientMsgId, EventId, MessageText, Person, ShortCode};
use super::{StoreError, StoreResult};

fn corrupt(column: &str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{column}: {why}"))
}

/// The `kind` column of a room.
pub(crate) fn room_kind(room: &RoomId) -> &'static str {
    match room.kind() {
        RoomKind::General => "general",
        RoomKind::Project(_) => "project",
        RoomKind::Direct(_) => "dm",
    }
}

/// The `kind`, `sender_id` and `sender_name` columns of a message.
pub(crate) fn sender_columns(sender: &Sender) -> (&'static str, Option<&str>, Option<&str>) {
    match sender {
        Sender::User { id, name } => ("user", Some(id), Some(name)),
        Sender::Bot | Sender::System => (sender.kind(), None, None),
    }
}

/// How a resend's first copy is found besides room and `client_msg_id` (`param` binds the sender id): among a
/// person's own messages, or, for the bot's keyed notices (no sender), among the bot's.
pub(crate) fn same_sender(sender_id: Option<&str>, param: &str) -> String {
    match sender_id {
        Some(_) => format!("sender_id = {param}"),
        None => format!("sender_id IS NULL AND {param} IS NULL"),
    }
}

pub(crate) struct RoomRow {
    pub id: String,
    pub last_event_id: i64,
    pub created_at: DateTime<Utc>,
}

impl RoomRow {
    pub fn into_room(self) -> StoreResult<Room> {
        Ok(Room {
            id: RoomId::parse(&self.id).map_err(|e| corrupt("rooms.id", e))?,
            last_event_id: EventId::from_sql(self.last_event_id, "rooms.last_event_id").map_err(StoreError::Corrupt)?,
            created_at: self.created_at,
        })
    }
}

pub(crate) struct MessageRow {
    pub room_id: String,
    pub event_id: i64,
    pub kind: String,
    pub sender_id: Option<String>,
    pub sender_name: Option<String>,
    pub client_msg_id: Option<String>,
    pub text: String,
    pub payload: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl MessageRow {
    pub fn into_message(self) -> StoreResult<Message> {
        let sender = match (self.kind.as_str(), self.sender_id, self.sender_name) {
            ("user", Some(id), Some(name)) => Sender::User { id, name },
            ("bot", None, None) => Sender::Bot,
            ("system", None, None) => Sender::System,
            (kind, _, _) => return Err(corrupt("messages.kind", format!("{kind:?} with that sender"))),
        };
        Ok(Message {
            room: RoomId::parse(&self.room_id).map_err(|e| corrupt("messages.room_id", e))?,
            event_id: EventId::from_sql(self.event_id, "messages.event_id").map_err(StoreError::Corrupt)?,
            sender,
            client_msg_id: self
                .client_msg_id
                .map(|id| ClientMsgId::parse(&id).map_err(|e| corrupt("messages.client_msg_id", e)))
                .transpose()?,
            text: MessageText::parse(&self.text).map_err(|e| corrupt("messages.text", e))?,
            payload: self
                .payload
                .map(|p| serde_json::from_str(&p).map_err(|e| corrupt("messages.payload", e)))
                .transpose()?,
            created_at: self.created_at,
        })
    }
}

pub(crate) struct ActionRow {
    pub id: Uuid,
    pub short_code: String,
    pub room_id: String,
    pub asker_id: String,
    pub asker_name: String,
    pub asker_role: String,
    pub intent: String,
    pub params: String,
    pub risk: String,
    pub state: String,
    pub target: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirm_by: DateTime<Utc>,
    pub approve_by: Option<DateTime<Utc>>,
    pub pipeline_id: Option<String>,
    pub run_number: Option<i64>,
    pub outcome: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub(crate) struct DecisionRow {
    pub decision: String,
    pub by_id: String,
    pub by_name: String,
    pub by_role: String,
    pub at: DateTime<Utc>,
}

fn person(column: &str, id: &str, name: &str, role: &str) -> StoreResult<Person> {
    let role: Role = role.parse().map_err(|e| corrupt(column, e))?;
    Person::new(id, name, role).map_err(|e| corrupt(column, e))
}

impl ActionRow {
    pub fn into_action(self, decisions: Vec<DecisionRow>) -> StoreResult<Action> {
        let run = match (self.pipeline_id, self.run_number) {
            (Some(pipeline), Some(number)) => Some(
                u64::try_from(number)
                    .map_err(|e| corrupt("actions.run_number", e))
                    .and_then(|n| RunRef::new(&pipeline, n).map_err(|e| corrupt("actions.pipeline_id", e)))?,
            ),
            (None, None) => None,
            _ => return Err(corrupt("actions.pipeline_id", "set without run_number, or the reverse")),
        };
        let decisions = decisions
            .into_iter()
            .map(|d| {
                Ok(DecisionRecord {
                    decision: Decision::parse(&d.decision).ok_or_else(|| corrupt("decisions.decision", &d.decision))?,
                    by: person("decisions.by", &d.by_id, &d.by_name, &d.by_role)?,
                    at: d.at,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Action {
            id: self.id,
            code: ShortCode::parse(&self.short_code).map_err(|e| corrupt("actions.short_code", e))?,
            room: RoomId::parse(&self.room_id).map_err(|e| corrupt("actions.room_id", e))?,
            asker: person("actions.asker", &self.asker_id, &self.asker_name, &self.asker_role)?,
            intent: Intent::parse(&self.intent).ok_or_else(|| corrupt("actions.intent", &self.intent))?,
            params: serde_json::from_str::<Params>(&self.params).map_err(|e| corrupt("actions.params", e))?,
            risk: parse_risk(&self.risk).ok_or_else(|| corrupt("actions.risk", &self.risk))?,
            state: ActionState::parse(&self.state).ok_or_else(|| corrupt("actions.state", &self.state))?,
            target: self.target,
            created_at: self.created_at,
            updated_at: self.updated_at,
            confirm_by: self.confirm_by,
            approve_by: self.approve_by,
            run,
            outcome: self.outcome,
            finished_at: self.finished_at,
            decisions,
        })
    }
}

fn parse_risk(raw: &str) -> Option<Risk> {
    [Risk::Read, Risk::Medium, Risk::High, Risk::Critical]
        .into_iter()
        .find(|r| r.as_str() == raw)
}

/// The action a proposal becomes, before it is written.
pub(crate) fn proposed(new: &NewAction, id: Uuid, code: ShortCode) -> Action {
    let at = super::micros(new.at);
    Action {
        id,
        code,
        room: new.room.clone(),
        asker: new.asker.clone(),
        intent: new.intent,
        params: new.params.clone(),
        risk: new.risk,
        state: ActionState::AwaitingConfirmation,
        target: new.target.clone(),
        created_at: at,
        updated_at: at,
        confirm_by: at + super::CONFIRM_WITHIN,
        approve_by: None,
        run: None,
        outcome: None,
        finished_at: None,
        decisions: Vec::new(),
    }
}

/// The `params` column.
pub(crate) fn params_json(params: &Params) -> StoreResult<String> {
    serde_json::to_string(params).map_err(|e| StoreError::invalid("params", e))
}
