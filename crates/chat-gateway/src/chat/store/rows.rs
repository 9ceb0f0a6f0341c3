//! Rows as both databases hand them over (plain strings, numbers and times), and their one conversion into the
//! store's types: a value that no longer parses is `Corrupt`, named by column, never a panic. Each dialect says how
//! it reads a column ([`Columns`]); which columns make a room, a message, an action or an audit record is said once,
//! here.

use chrono::{DateTime, Utc};
use devopstrack_platform::auth::Role;
use sqlx::{Decode, Postgres, Sqlite, Type};
use uuid::Uuid;

use crate::chat::domain::{ActionState, Decision, Intent, MessageText, Params, Risk, RoomId, RoomKind};

use super::actions::{Action, DecisionRecord, NewAction, RunRef};
use super::audit::RawAuditRow;
use super::messages::{Message, Room, Sender};
use super::types::{ClientMsgId, EventId, Person, ShortCode};
use super::{StoreError, StoreResult};

fn corrupt(column: &str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{column}: {why}"))
}

/// A column type both databases keep alike (text, integers, and their `NULL`able forms).
pub(crate) trait Plain:
    for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
}

impl<T> Plain for T where T: for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite> {}

/// How a dialect reads a column of a row. Times and ids are where the two differ (PostgreSQL: TIMESTAMPTZ and UUID;
/// SQLite: INTEGER unix microseconds and TEXT).
pub(crate) trait Columns {
    fn value<T: Plain>(&self, column: &str) -> StoreResult<T>;
    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>>;
    fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>>;
    /// A time as unix microseconds, read without a range check (the audit chain hashes the stored value).
    fn micros(&self, column: &str) -> StoreResult<i64>;
    fn uuid(&self, column: &str) -> StoreResult<Uuid>;
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

pub(crate) struct RoomRow;

impl RoomRow {
    /// A room from `id, last_event_id, created_at`.
    pub fn read(row: &impl Columns) -> StoreResult<Room> {
        let (id, last_event_id): (String, i64) = (row.value("id")?, row.value("last_event_id")?);
        Ok(Room {
            id: RoomId::parse(&id).map_err(|e| corrupt("rooms.id", e))?,
            last_event_id: EventId::from_sql(last_event_id, "rooms.last_event_id").map_err(StoreError::Corrupt)?,
            created_at: row.time("created_at")?,
        })
    }
}

pub(crate) struct MessageRow {
    room_id: String,
    event_id: i64,
    kind: String,
    sender_id: Option<String>,
    sender_name: Option<String>,
    client_msg_id: Option<String>,
    text: String,
    payload: Option<String>,
    created_at: DateTime<Utc>,
}

impl MessageRow {
    /// A message from [`MESSAGE_COLUMNS`](super::statements::MESSAGE_COLUMNS).
    pub fn read(row: &impl Columns) -> StoreResult<Message> {
        MessageRow {
            room_id: row.value("room_id")?,
            event_id: row.value("event_id")?,
            kind: row.value("kind")?,
            sender_id: row.value("sender_id")?,
            sender_name: row.value("sender_name")?,
            client_msg_id: row.value("client_msg_id")?,
            text: row.value("text")?,
            payload: row.value("payload")?,
            created_at: row.time("created_at")?,
        }
        .into_message()
    }

    fn into_message(self) -> StoreResult<Message> {
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
    id: Uuid,
    short_code: String,
    room_id: String,
    asker_id: String,
    asker_name: String,
    asker_role: String,
    intent: String,
    params: String,
    risk: String,
    state: String,
    target: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    confirm_by: DateTime<Utc>,
    approve_by: Option<DateTime<Utc>>,
    pipeline_id: Option<String>,
    run_number: Option<i64>,
    outcome: Option<String>,
    finished_at: Option<DateTime<Utc>>,
}

pub(crate) struct DecisionRow {
    decision: String,
    by_id: String,
    by_name: String,
    by_role: String,
    at: DateTime<Utc>,
}

fn person(column: &str, id: &str, name: &str, role: &str) -> StoreResult<Person> {
    let role: Role = role.parse().map_err(|e| corrupt(column, e))?;
    Person::new(id, name, role).map_err(|e| corrupt(column, e))
}

impl DecisionRow {
    /// A decision from [`DECISION_COLUMNS`](super::statements::DECISION_COLUMNS).
    pub fn read(row: &impl Columns) -> StoreResult<Self> {
        Ok(DecisionRow {
            decision: row.value("decision")?,
            by_id: row.value("by_id")?,
            by_name: row.value("by_name")?,
            by_role: row.value("by_role")?,
            at: row.time("at")?,
        })
    }
}

impl ActionRow {
    /// An action from [`ACTION_COLUMNS`](super::statements::ACTION_COLUMNS) and the rows of its decisions.
    pub fn read<R: Columns>(row: &R, decisions: &[R]) -> StoreResult<Action> {
        let decisions = decisions
            .iter()
            .map(DecisionRow::read)
            .collect::<StoreResult<Vec<_>>>()?;
        ActionRow {
            id: row.uuid("id")?,
            short_code: row.value("short_code")?,
            room_id: row.value("room_id")?,
            asker_id: row.value("asker_id")?,
            asker_name: row.value("asker_name")?,
            asker_role: row.value("asker_role")?,
            intent: row.value("intent")?,
            params: row.value("params")?,
            risk: row.value("risk")?,
            state: row.value("state")?,
            target: row.value("target")?,
            created_at: row.time("created_at")?,
            updated_at: row.time("updated_at")?,
            confirm_by: row.time("confirm_by")?,
            approve_by: row.opt_time("approve_by")?,
            pipeline_id: row.value("pipeline_id")?,
            run_number: row.value("run_number")?,
            outcome: row.value("outcome")?,
            finished_at: row.opt_time("finished_at")?,
        }
        .into_action(decisions)
    }

    fn into_action(self, decisions: Vec<DecisionRow>) -> StoreResult<Action> {
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

/// An audit record as stored, from [`AUDIT_COLUMNS`](super::statements::AUDIT_COLUMNS).
pub(crate) fn raw_audit_row(row: &impl Columns) -> StoreResult<RawAuditRow> {
    Ok(RawAuditRow {
        seq: row.value("seq")?,
        at_micros: row.micros("at")?,
        actor_id: row.value("actor_id")?,
        actor_name: row.value("actor_name")?,
        actor_role: row.value("actor_role")?,
        kind: row.value("kind")?,
        target: row.value("target")?,
        result: row.value("result")?,
        source: row.value("source")?,
        request_id: row.value("request_id")?,
        details: row.value("details")?,
        prev_hash: row.value("prev_hash")?,
        hash: row.value("hash")?,
    })
}
