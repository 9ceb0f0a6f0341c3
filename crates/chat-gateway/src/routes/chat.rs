//! `/api/v1/chat/**` and `/api/v1/audit`: the chat over REST. Handlers extract, call one chat use-case
//! ([`crate::chat::app`]) and map the answer; the WebSocket carries the same messages live. Everything the chat
//! stores reaches every replica through the store's change feed.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use devopstrack_platform::auth::Role;

use crate::chat::app::{Asker, ChatApp, ChatError, Posted};
use crate::chat::domain::{Decision, Parsed, RoomId};
use crate::chat::store::{Action, AuditQuery, AuditRecord, EventId, HistoryQuery, MAX_PAGE, Message, Room};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, Query, RequestId, client_ip};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/chat/parse", web::post().to(parse))
        .route("/api/v1/chat/rooms", web::get().to(rooms))
        .route("/api/v1/chat/rooms/{room}/messages", web::get().to(history))
        .route("/api/v1/chat/rooms/{room}/messages", web::post().to(post_message))
        .route("/api/v1/chat/actions/{id}", web::get().to(action))
        .route("/api/v1/chat/actions/{id}/decisions", web::post().to(decide))
        .route("/api/v1/audit", web::get().to(audit))
        .route("/api/v1/audit/verify", web::get().to(verify_audit));
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::InvalidInput(message) => ApiError::invalid(message),
            ChatError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            ChatError::Forbidden(message) => ApiError::PermissionDenied(message),
            ChatError::Conflict(message) => ApiError::Conflict(message),
            ChatError::RateLimited {
                message,
                retry_after_secs,
            } => ApiError::RateLimited {
                code: "rate_limited",
                message,
                retry_after_secs,
            },
            ChatError::Upstream(status) => ApiError::from(status),
            ChatError::Unavailable(message) => ApiError::Unavailable(message),
            ChatError::Internal(e) => ApiError::Internal(e),
        }
    }
}

fn chat(state: &AppState) -> Result<&ChatApp, ApiError> {
    state.chat.as_deref().ok_or_else(|| {
        ApiError::Unavailable("the chat is not configured: set DEVOPSTRACK_GATEWAY__CHAT_DATABASE_URL".into())
    })
}

fn asker(req: &HttpRequest, state: &AppState, caller: &Caller, id: &RequestId) -> Result<Asker, ApiError> {
    let source = client_ip(req, &state.proxies).map(|ip| ip.to_string());
    Ok(Asker::new(&caller.principal, &caller.token, &id.0, source)?)
}

fn action_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::invalid("id: not an action id (a UUID)"))
}

fn room_id(raw: &str) -> Result<RoomId, ApiError> {
    RoomId::parse(raw).map_err(|e| ApiError::invalid(format!("room: {e}")))
}

// ---- bodies ---------------------------------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ChatParseRequest)]
struct ParseBody {
    /// 1–2,000 characters (zero-width and BiDi control characters are removed first).
    #[schema(min_length = 1, max_length = 2000)]
    text: String,
    /// `general` (default), `project:<slug>` or `dm:<your user id>`.
    #[schema(value_type = Option<crate::openapi::contract::RoomRef>)]
    room: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ChatPostMessageRequest)]
struct PostBody {
    /// Your id for this message, unique per room: a resend answers the stored message; the same id with other text
    /// is a 409.
    #[schema(min_length = 1, max_length = 64, pattern = "^[!-~]+$")]
    client_msg_id: String,
    #[schema(min_length = 1, max_length = 2000)]
    text: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ChatDecisionRequest)]
struct DecisionBody {
    /// `confirm` (the asker), `approve` (a different admin, for critical actions) or `reject`.
    #[schema(value_type = String, pattern = "^(confirm|approve|reject)$")]
    decision: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HistoryParams {
    /// Messages before this event id (older), newest page first when neither cursor is set.
    #[param(minimum = 0)]
    before: Option<u64>,
    /// Messages after this event id (newer): the resume cursor.
    #[param(minimum = 0)]
    after: Option<u64>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditParams {
    /// An actor's subject (user id), exactly.
    actor: Option<String>,
    /// A kind (`chat.action.confirm`), or a prefix ending in `*` (`chat.action.*`, `http.*`).
    kind: Option<String>,
    /// RFC 3339; inclusive.
    from: Option<DateTime<Utc>>,
    /// RFC 3339; exclusive.
    to: Option<DateTime<Utc>>,
    page_token: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<u32>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatRoom)]
struct RoomBody {
    /// `general`, `project:<slug>` or `dm:<user id>`.
    id: String,
    /// The last message's event id (0: none yet).
    last_event_id: u64,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatMessage)]
pub(crate) struct MessageBody {
    room: String,
    /// Per-room, 1, 2, 3… in commit order: the resume cursor.
    event_id: u64,
    /// `{kind: user, id, name}`, `{kind: bot}` or `{kind: system}`.
    #[schema(value_type = Object)]
    sender: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_msg_id: Option<String>,
    /// Plain text: render it as text, never as HTML.
    text: String,
    /// What the bot attached (a read's data, an action's id).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    payload: Option<serde_json::Value>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatAction)]
pub(crate) struct ActionBody {
    #[schema(value_type = crate::openapi::contract::Uuid)]
    id: Uuid,
    /// Type `confirm <code>` in the room to confirm.
    code: String,
    room: String,
    #[schema(value_type = Object)]
    asker: serde_json::Value,
    intent: String,
    #[schema(value_type = Object)]
    params: serde_json::Value,
    /// `medium`, `high` or `critical`.
    risk: String,
    /// `awaiting_confirmation`, `awaiting_approval`, `executing`, `succeeded`, `failed`, `rejected`, `expired`.
    state: String,
    target: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    confirm_by: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approve_by: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    run: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<DateTime<Utc>>,
    /// Who decided what, when.
    #[schema(value_type = Vec<Object>)]
    decisions: serde_json::Value,
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
    action: Option<ActionBody>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatMessagesPage)]
struct MessagesPage {
    items: Vec<MessageBody>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditPage)]
struct AuditPageBody {
    #[schema(value_type = Vec<Object>)]
    items: Vec<AuditRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditChainReport)]
struct ChainBody {
    intact: bool,
    records: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_break_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

fn json_of<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
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

impl From<&Message> for MessageBody {
    fn from(m: &Message) -> Self {
        Self {
            room: m.room.to_string(),
            event_id: m.event_id.get(),
            sender: json_of(&m.sender),
            client_msg_id: m.client_msg_id.as_ref().map(|id| id.as_str().to_owned()),
            text: m.text.as_str().to_owned(),
            payload: m.payload.clone(),
            created_at: m.created_at,
        }
    }
}

impl From<&Action> for ActionBody {
    fn from(a: &Action) -> Self {
        Self {
            id: a.id,
            code: a.code.as_str().to_owned(),
            room: a.room.to_string(),
            asker: json_of(&a.asker),
            intent: a.intent.as_str().to_owned(),
            params: json_of(&a.params),
            risk: a.risk.as_str().to_owned(),
            state: a.state.as_str().to_owned(),
            target: a.target.clone(),
            created_at: a.created_at,
            updated_at: a.updated_at,
            confirm_by: a.confirm_by,
            approve_by: a.approve_by,
            run: a.run.as_ref().map(json_of),
            outcome: a.outcome.clone(),
            finished_at: a.finished_at,
            decisions: json_of(&a.decisions),
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

// ---- handlers -------------------------------------------------------------------------------------------------------

/// What the bot would understand (a dry run for the composer's preview): executes nothing.
///
/// When the optional model is configured, previews call it at most 10 times a minute per person (counted across
/// replicas); beyond that a preview answers from the rules alone (`parsedBy: rules`), never with an error.
#[utoipa::path(post, path = "/api/v1/chat/parse", tag = "chat", operation_id = "parseChatMessage",
    request_body = ParseBody,
    responses(
        (status = 200, description = "intent, params, risk, missing, negated, language, parsedBy", body = Object),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 404, description = "No such room (or not yours)", body = ErrorBody),
    ))]
async fn parse(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    Json(body): Json<ParseBody>,
) -> Result<HttpResponse, ApiError> {
    let chat = chat(&state)?;
    let asker = asker(&req, &state, &caller, &id)?;
    let room = match &body.room {
        Some(raw) => room_id(raw)?,
        None => RoomId::general(),
    };
    let parsed: Parsed = chat.preview(&asker, &room, &body.text).await?;
    Ok(HttpResponse::Ok().json(parsed))
}

/// The rooms you see: `general`, one per project, and your private room with the bot.
#[utoipa::path(get, path = "/api/v1/chat/rooms", tag = "chat", operation_id = "listChatRooms",
    responses((status = 200, description = "The rooms", body = Vec<RoomBody>)))]
async fn rooms(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let chat = chat(&state)?;
    let asker = asker(&req, &state, &caller, &id)?;
    let rooms = chat.rooms(&asker).await?;
    Ok(HttpResponse::Ok().json(rooms.iter().map(RoomBody::from).collect::<Vec<_>>()))
}

/// A page of a room's history, oldest first: the newest `limit` messages, or those `before`/`after` an event id.
#[utoipa::path(get, path = "/api/v1/chat/rooms/{room}/messages", tag = "chat", operation_id = "listChatMessages",
    params(("room" = crate::openapi::contract::RoomRef, Path, description = "`general`, `project:<slug>` or `dm:<user id>`"), HistoryParams),
    responses(
        (status = 200, description = "Messages, oldest first", body = MessagesPage),
        (status = 400, description = "Bad query (the message names the parameter)", body = ErrorBody),
        (status = 404, description = "No such room (or not yours)", body = ErrorBody),
    ))]
async fn history(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    path: web::Path<String>,
    query: Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    let chat = chat(&state)?;
    let asker = asker(&req, &state, &caller, &id)?;
    let room = room_id(&path)?;
    let q = query.into_inner();
    let cursor = |name: &str, raw: Option<u64>| {
        raw.map(|raw| EventId::new(raw).map_err(|e| ApiError::invalid(format!("{name}: {e}"))))
            .transpose()
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid(format!("limit: must be between 1 and {MAX_PAGE}")));
    }
    let history =
        HistoryQuery::new(cursor("before", q.before)?, cursor("after", q.after)?, limit).map_err(ChatError::from)?;
    let messages = chat.history(&asker, &room, &history).await?;
    Ok(HttpResponse::Ok().json(MessagesPage {
        items: messages.iter().map(MessageBody::from).collect(),
    }))
}

/// Posts a message: stored, then answered by the bot (a read's answer, a question for what is missing, or an action
/// to confirm). The same arrives on the WebSocket of everyone in the room.
#[utoipa::path(post, path = "/api/v1/chat/rooms/{room}/messages", tag = "chat", operation_id = "postChatMessage",
    params(("room" = crate::openapi::contract::RoomRef, Path, description = "`general`, `project:<slug>` or `dm:<user id>`")),
    request_body = PostBody,
    responses(
        (status = 201, description = "Stored, with the bot's replies and the proposed action", body = PostedBody),
        (status = 200, description = "A resend of a stored message: answered as stored", body = PostedBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 404, description = "No such room (or not yours)", body = ErrorBody),
        (status = 409, description = "The clientMsgId was used for another text", body = ErrorBody),
        (status = 429, description = "More than 10 messages a minute", body = ErrorBody),
    ))]
async fn post_message(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    path: web::Path<String>,
    Json(body): Json<PostBody>,
) -> Result<HttpResponse, ApiError> {
    let chat = chat(&state)?;
    let asker = asker(&req, &state, &caller, &id)?;
    let room = room_id(&path)?;
    let posted = chat.post(&asker, &room, &body.client_msg_id, &body.text).await?;
    let answer = PostedBody::from(&posted);
    Ok(if posted.created {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

/// One action: its state, deadlines, decisions and run.
#[utoipa::path(get, path = "/api/v1/chat/actions/{id}", tag = "chat", operation_id = "getChatAction",
    params(("id" = crate::openapi::contract::Uuid, Path, description = "The action's id")),
    responses(
        (status = 200, description = "The action", body = ActionBody),
        (status = 400, description = "Not an action id", body = ErrorBody),
        (status = 404, description = "No such action (or not in a room of yours)", body = ErrorBody),
    ))]
async fn action(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let chat = chat(&state)?;
    let asker = asker(&req, &state, &caller, &id)?;
    let action_id = action_id(&path)?;
    let action = chat.action(&asker, action_id).await?;
    Ok(HttpResponse::Ok().json(ActionBody::from(&action)))
}

/// Confirms (the asker), approves (a different admin; critical actions) or rejects an action. An action that
/// becomes `executing` runs at once, as the person who released it.
#[utoipa::path(post, path = "/api/v1/chat/actions/{id}/decisions", tag = "chat", operation_id = "decideChatAction",
    params(("id" = crate::openapi::contract::Uuid, Path, description = "The action's id")),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The action after the decision (and its execution)", body = ActionBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Not yours to decide (the message says why)", body = ErrorBody),
        (status = 404, description = "No such action", body = ErrorBody),
        (status = 409, description = "Decided, expired or changed meanwhile", body = ErrorBody),
    ))]
async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    path: web::Path<String>,
    Json(body): Json<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    let chat = chat(&state)?;
    let asker = asker(&req, &state, &caller, &id)?;
    let action_id = action_id(&path)?;
    let decision = Decision::parse(&body.decision)
        .ok_or_else(|| ApiError::invalid("decision: one of confirm, approve, reject"))?;
    let action = chat.decide(&asker, action_id, decision).await?;
    Ok(HttpResponse::Ok().json(ActionBody::from(&action)))
}

fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.principal.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(format!(
            "the audit trail is for admins; you are {}",
            caller.principal.role.as_str()
        )))
    }
}

/// The audit trail, newest first (admin): every chat action and decision and every mutating request through the
/// edge, each record chained to the previous one by hash.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "listAuditRecords", params(AuditParams),
    responses(
        (status = 200, description = "One page of records", body = AuditPageBody),
        (status = 400, description = "Bad query (the message names the parameter)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
async fn audit(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    let chat = chat(&state)?;
    require_admin(&caller)?;
    let q = query.into_inner();
    let page = chat
        .store()
        .audit_page(&AuditQuery {
            actor: q.actor,
            kind: q.kind,
            from: q.from,
            to: q.to,
            page_token: q.page_token,
            limit: q.page_size.unwrap_or(50),
        })
        .await
        .map_err(ChatError::from)?;
    Ok(HttpResponse::Ok().json(AuditPageBody {
        items: page.records,
        next_page_token: page.next_page_token,
    }))
}

/// Walks the audit chain from its first record (admin): intact, or where it first breaks.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", operation_id = "verifyAuditChain",
    responses(
        (status = 200, description = "The chain's state", body = ChainBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
async fn verify_audit(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let chat = chat(&state)?;
    require_admin(&caller)?;
    let report = chat.store().verify_audit_chain().await.map_err(ChatError::from)?;
    Ok(HttpResponse::Ok().json(ChainBody {
        intact: report.intact(),
        records: report.records,
        first_break_seq: report.first_break.as_ref().map(|b| b.seq),
        problem: report.first_break.map(|b| b.problem),
    }))
}
