//! The JSON the chat's REST routes (and the WebSocket's chat messages) take and answer, each with its schema in the
//! OpenAPI document, so the dashboard's generated types are the wire's. The store's records are turned into these
//! bodies here; the parser's answer and the chat's vocabulary (intents, risks, states, decisions) are the domain's own
//! types, whose schemas come from their serde attributes ([`crate::chat::domain`]).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use devopstrack_platform::auth::Role;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;

use crate::chat::app::Posted;
use crate::chat::domain::{ActionState, Decision, Intent, Params, Risk};
use crate::chat::store::{Action, AuditActor, AuditRecord, DecisionRecord, Message, Person, Room, RunRef, Sender};
use crate::routes::dto::RoleSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ChatParseRequest)]
pub(super) struct ParseBody {
    /// 1–2,000 characters (zero-width and BiDi control characters are removed first).
    #[schema(min_length = 1, max_length = 2000)]
    pub(super) text: String,
    /// `general` (default), `project:<slug>` or `dm:<your user id>`.
    #[schema(value_type = Option<crate::openapi::contract::RoomRef>)]
    pub(super) room: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ChatPostMessageRequest)]
pub(super) struct PostBody {
    /// Your id for this message, unique per room: a resend answers the stored message; the same id with other text
    /// is a 409.
    #[schema(min_length = 1, max_length = 64, pattern = "^[!-~]+$")]
    pub(super) client_msg_id: String,
    #[schema(min_length = 1, max_length = 2000)]
    pub(super) text: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ChatDecisionRequest)]
pub(super) struct DecisionBody {
    /// `confirm` (the asker), `approve` (a different admin, for critical actions) or `reject`. Read as a string, so
    /// another word is refused with a message naming the field.
    #[schema(value_type = Decision)]
    pub(super) decision: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct HistoryParams {
    /// Messages before this event id (older), newest page first when neither cursor is set.
    #[param(minimum = 0)]
    pub(super) before: Option<u64>,
    /// Messages after this event id (newer): the resume cursor.
    #[param(minimum = 0)]
    pub(super) after: Option<u64>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub(super) limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct AuditParams {
    /// An actor's subject (user id), exactly.
    pub(super) actor: Option<String>,
    /// A kind (`chat.action.confirm`), or a prefix ending in `*` (`chat.action.*`, `http.*`).
    pub(super) kind: Option<String>,
    /// RFC 3339; inclusive.
    pub(super) from: Option<DateTime<Utc>>,
    /// RFC 3339; exclusive.
    pub(super) to: Option<DateTime<Utc>>,
    pub(super) page_token: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub(super) page_size: Option<u32>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatRoom)]
pub(super) struct RoomBody {
    /// `general`, `project:<slug>` or `dm:<user id>`.
    id: String,
    /// The last message's event id (0: none yet).
    last_event_id: u64,
    created_at: DateTime<Utc>,
}

/// Who wrote a message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[schema(as = ChatSender)]
pub(crate) enum SenderBody {
    /// A person.
    User { id: String, name: String },
    /// The bot answering.
    Bot,
    /// The bot announcing something nobody asked for: an expiry, a run's outcome.
    System,
}

/// What the bot attached to a message: `kind` says what (`action` with its `actionId`, a read's name with its data,
/// `clarify` with the parse, a notice's name); other fields depend on the kind.
pub(crate) struct PayloadSchema;

impl PartialSchema for PayloadSchema {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("kind", ObjectBuilder::new().schema_type(Type::String))
            // With `kind: action`: the action its card shows.
            .property(
                "actionId",
                Ref::from_schema_name(crate::openapi::contract::Uuid::name()),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some(
                "What the bot attached: `kind` says what (`action` with its `actionId`, a read's intent with its \
                 data, `clarify` with the parse, a notice); the other fields depend on the kind.",
            ))
            .into()
    }
}

impl ToSchema for PayloadSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ChatPayload")
    }
}

/// An audit record's `details`: a JSON object without secrets, whose fields depend on the record's kind.
pub(crate) struct DetailsSchema;

impl PartialSchema for DetailsSchema {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some(
                "A JSON object without secrets; its fields depend on the record's kind.",
            ))
            .into()
    }
}

impl ToSchema for DetailsSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AuditDetails")
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatMessage)]
pub(crate) struct MessageBody {
    room: String,
    /// Per-room, 1, 2, 3… in commit order: the resume cursor.
    event_id: u64,
    sender: SenderBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    client_msg_id: Option<String>,
    /// Plain text: render it as text, never as HTML.
    text: String,
    /// What the bot attached (a read's data, an action's id).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PayloadSchema>, nullable = false)]
    payload: Option<serde_json::Value>,
    created_at: DateTime<Utc>,
}

/// A person as the chat recorded them, with the role checked then.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatPerson)]
pub(crate) struct PersonBody {
    id: String,
    name: String,
    #[schema(value_type = RoleSchema)]
    role: Role,
}

/// The pipeline run an action started.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatRun)]
pub(crate) struct RunBody {
    pipeline_id: String,
    /// The project's run number (`api#42` → 42).
    #[schema(minimum = 1)]
    run_number: u64,
}

/// Who decided what, when.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatDecisionRecord)]
pub(crate) struct DecisionRecordBody {
    decision: Decision,
    by: PersonBody,
    at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatAction)]
pub(crate) struct ActionBody {
    #[schema(value_type = crate::openapi::contract::Uuid)]
    id: Uuid,
    /// Type `confirm <code>` in the room to confirm.
    #[schema(pattern = "^[2-9A-HJKMNP-Z]{4}$")]
    code: String,
    room: String,
    /// Who asked, with the role checked at the proposal.
    asker: PersonBody,
    intent: Intent,
    params: Params,
    risk: Risk,
    state: ActionState,
    /// What it acts on: `api 2.5.0 → production`.
    target: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The asker confirms by then, or it expires.
    confirm_by: DateTime<Utc>,
    /// Set when a critical action is confirmed: the approval comes by then, or it expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    approve_by: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    run: Option<RunBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    finished_at: Option<DateTime<Utc>>,
    /// Who decided what, when: oldest first.
    decisions: Vec<DecisionRecordBody>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatPostMessageResponse)]
pub(crate) struct PostedBody {
    message: MessageBody,
    /// `false` when this was a resend of a stored message (nothing was done again).
    created: bool,
    replies: Vec<MessageBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    action: Option<ActionBody>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatMessagesPage)]
pub(super) struct MessagesPage {
    pub(super) items: Vec<MessageBody>,
}

/// Who did it. `role` is null for a caller with no valid token (a failed login) and for the chat itself.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditActor)]
pub(super) struct AuditActorBody {
    /// The token's subject (a user id, `service:<name>`), `anonymous`, or `system` for the chat's own changes.
    subject: String,
    name: String,
    #[schema(value_type = Option<RoleSchema>, required = true)]
    role: Option<Role>,
}

/// One record of the hash-chained audit trail.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditRecord)]
pub(super) struct AuditRecordBody {
    /// 1, 2, 3… with no gaps.
    seq: u64,
    at: DateTime<Utc>,
    actor: AuditActorBody,
    /// What was done: `http.POST /api/v1/pipelines`, `chat.action.confirm`, …
    kind: String,
    /// What it was done to: a path, `action:<id>`, …
    target: String,
    /// How it ended: an HTTP status, an action state.
    result: String,
    /// The client address.
    #[schema(required = true)]
    source: Option<String>,
    #[schema(required = true)]
    request_id: Option<String>,
    #[schema(value_type = DetailsSchema)]
    details: serde_json::Value,
    /// The previous record's hash (64 zeros before the first record).
    prev_hash: String,
    /// SHA-256 of this record and `prevHash`, in hex.
    hash: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditPage)]
pub(super) struct AuditPageBody {
    pub(super) items: Vec<AuditRecordBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub(super) next_page_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditChainReport)]
pub(super) struct ChainBody {
    pub(super) intact: bool,
    pub(super) records: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub(super) first_break_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub(super) problem: Option<String>,
}

impl From<&Room> for RoomBody {
    fn from(room: &Room) -> Self {
        Self {
            id: room.id.to_string(),
            last_event_id: room.last_event_id.get(),
            created_at: room.created_at,
        }
    }
}

impl From<&Sender> for SenderBody {
    fn from(sender: &Sender) -> Self {
        match sender {
            Sender::User { id, name } => SenderBody::User {
                id: id.clone(),
                name: name.clone(),
            },
            Sender::Bot => SenderBody::Bot,
            Sender::System => SenderBody::System,
        }
    }
}

impl From<&Message> for MessageBody {
    fn from(m: &Message) -> Self {
        Self {
            room: m.room.to_string(),
            event_id: m.event_id.get(),
            sender: SenderBody::from(&m.sender),
            client_msg_id: m.client_msg_id.as_ref().map(|id| id.as_str().to_owned()),
            text: m.text.as_str().to_owned(),
            payload: m.payload.clone(),
            created_at: m.created_at,
        }
    }
}

impl From<&Person> for PersonBody {
    fn from(p: &Person) -> Self {
        Self {
            id: p.id().to_owned(),
            name: p.name().to_owned(),
            role: p.role(),
        }
    }
}

impl From<&RunRef> for RunBody {
    fn from(run: &RunRef) -> Self {
        Self {
            pipeline_id: run.pipeline_id().to_owned(),
            run_number: run.run_number(),
        }
    }
}

impl From<&DecisionRecord> for DecisionRecordBody {
    fn from(d: &DecisionRecord) -> Self {
        Self {
            decision: d.decision,
            by: PersonBody::from(&d.by),
            at: d.at,
        }
    }
}

impl From<&Action> for ActionBody {
    fn from(a: &Action) -> Self {
        Self {
            id: a.id,
            code: a.code.as_str().to_owned(),
            room: a.room.to_string(),
            asker: PersonBody::from(&a.asker),
            intent: a.intent,
            params: a.params.clone(),
            risk: a.risk,
            state: a.state,
            target: a.target.clone(),
            created_at: a.created_at,
            updated_at: a.updated_at,
            confirm_by: a.confirm_by,
            approve_by: a.approve_by,
            run: a.run.as_ref().map(RunBody::from),
            outcome: a.outcome.clone(),
            finished_at: a.finished_at,
            decisions: a.decisions.iter().map(DecisionRecordBody::from).collect(),
        }
    }
}

impl From<&Posted> for PostedBody {
    fn from(p: &Posted) -> Self {
        Self {
            message: MessageBody::from(&p.message),
            created: p.created,
            replies: p.replies.iter().map(MessageBody::from).collect(),
            action: p.action.as_ref().map(ActionBody::from),
        }
    }
}

impl From<&AuditActor> for AuditActorBody {
    fn from(a: &AuditActor) -> Self {
        Self {
            subject: a.subject.clone(),
            name: a.name.clone(),
            role: a.role,
        }
    }
}

impl From<AuditRecord> for AuditRecordBody {
    fn from(r: AuditRecord) -> Self {
        Self {
            seq: r.seq,
            at: r.at,
            actor: AuditActorBody::from(&r.actor),
            kind: r.kind,
            target: r.target,
            result: r.result,
            source: r.source,
            request_id: r.request_id,
            details: r.details,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::{Value, json};

    use super::*;
    use crate::chat::domain::{MessageText, RoomId, Window};
    use crate::chat::store::{ClientMsgId, EventId, ShortCode};

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, 2, minute, 0).unwrap()
    }

    fn wire<T: Serialize>(value: &T) -> Value {
        serde_json::to_value(value).unwrap()
    }

    fn action() -> Action {
        let asker = Person::new("u-ann", "Ann", Role::Operator).unwrap();
        let approver = Person::new("u-bob", "Bob", Role::Admin).unwrap();
        Action {
            id: Uuid::nil(),
            code: ShortCode::parse("K7QF").unwrap(),
            room: RoomId::project("api").unwrap(),
            asker: asker.clone(),
            intent: Intent::Deploy,
            params: Params {
                project: Some("api".into()),
                version: Some("2.5.0".into()),
                environment: Some("production".into()),
                window: Some(Window::days(7).unwrap()),
                ..Params::default()
            },
            risk: Risk::Critical,
            state: ActionState::Succeeded,
            target: "api 2.5.0 → production".into(),
            created_at: at(0),
            updated_at: at(3),
            confirm_by: at(5),
            approve_by: Some(at(16)),
            run: Some(RunRef::new("0193b7a4-5c1e-7f00-8000-000000000001", 42).unwrap()),
            outcome: Some("run api#42 succeeded".into()),
            finished_at: Some(at(3)),
            decisions: vec![
                DecisionRecord {
                    decision: Decision::Confirm,
                    by: asker,
                    at: at(1),
                },
                DecisionRecord {
                    decision: Decision::Approve,
                    by: approver,
                    at: at(2),
                },
            ],
        }
    }

    /// The typed bodies answer what the store's records serialise to (the wire before they had schemas), field by
    /// field, so giving them a schema changed nothing a client reads.
    #[test]
    fn an_action_body_writes_the_store_records_own_json() {
        let action = action();
        let body = wire(&ActionBody::from(&action));
        let record = wire(&action);
        for field in [
            "id",
            "code",
            "room",
            "asker",
            "intent",
            "params",
            "risk",
            "state",
            "target",
            "createdAt",
            "updatedAt",
            "confirmBy",
            "approveBy",
            "run",
            "outcome",
            "finishedAt",
            "decisions",
        ] {
            assert_eq!(body[field], record[field], "{field}");
        }
        assert_eq!(
            body["decisions"][1]["by"],
            json!({"id": "u-bob", "name": "Bob", "role": "admin"})
        );
        assert_eq!(
            body["run"],
            json!({"pipelineId": "0193b7a4-5c1e-7f00-8000-000000000001", "runNumber": 42})
        );
        assert_eq!(body["params"]["window"], "7d");

        let open = Action {
            approve_by: None,
            run: None,
            outcome: None,
            finished_at: None,
            ..action
        };
        let body = wire(&ActionBody::from(&open));
        for absent in ["approveBy", "run", "outcome", "finishedAt"] {
            assert!(body.get(absent).is_none(), "{absent} is written as {}", body[absent]);
        }
    }

    #[test]
    fn message_and_audit_bodies_write_the_store_records_own_json() {
        let senders = [
            Sender::User {
                id: "u-ann".into(),
                name: "Ann".into(),
            },
            Sender::Bot,
            Sender::System,
        ];
        for sender in senders {
            let message = Message {
                room: RoomId::general(),
                event_id: EventId::new(7).unwrap(),
                sender,
                client_msg_id: Some(ClientMsgId::parse("m-1").unwrap()),
                text: MessageText::parse("deploy api 2.5.0 to staging").unwrap(),
                payload: Some(json!({"kind": "action", "actionId": Uuid::nil()})),
                created_at: at(0),
            };
            assert_eq!(wire(&MessageBody::from(&message)), wire(&message));
        }

        for role in [Some(Role::Service), None] {
            let record = AuditRecord {
                seq: 3,
                at: at(0),
                actor: AuditActor {
                    subject: "service:gateway".into(),
                    name: "Gateway".into(),
                    role,
                },
                kind: "chat.action.confirm".into(),
                target: "action:00000000-0000-0000-0000-000000000000".into(),
                result: "awaiting_approval".into(),
                source: None,
                request_id: Some("req-1".into()),
                details: json!({"code": "K7QF"}),
                prev_hash: "0".repeat(64),
                hash: "f".repeat(64),
            };
            let before = wire(&record);
            assert_eq!(wire(&AuditRecordBody::from(record)), before);
        }
    }
}
