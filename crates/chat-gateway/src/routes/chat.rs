//! `/api/v1/chat/**` and `/api/v1/audit`: the chat over REST. Handlers extract, call one chat use-case
//! ([`crate::chat::app`]) and map the answer; the WebSocket carries the same messages live. Everything the chat
//! stores reaches every replica through the store's change feed.

mod dto;

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use devopstrack_platform::auth::Role;

use crate::chat::app::{Asker, ChatApp, ChatError};
use crate::chat::domain::{Decision, Parsed, RoomId};
use crate::chat::store::{AuditQuery, EventId, HistoryQuery, MAX_PAGE};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, Query, RequestId, client_ip};
use crate::state::AppState;

pub(crate) use self::dto::{ActionBody, MessageBody, PostedBody};
use self::dto::{
    AuditPageBody, AuditParams, AuditRecordBody, ChainBody, DecisionBody, HistoryParams, MessagesPage, ParseBody,
    PostBody, RoomBody,
};

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

// ---- handlers -------------------------------------------------------------------------------------------------------

/// What the bot would understand (a dry run for the composer's preview): executes nothing.
///
/// When the optional model is configured, previews call it at most 10 times a minute per person (counted across
/// replicas); beyond that a preview answers from the rules alone (`parsedBy: rules`), never with an error.
#[utoipa::path(post, path = "/api/v1/chat/parse", tag = "chat", operation_id = "parseChatMessage",
    request_body = ParseBody,
    responses(
        (status = 200, description = "What the bot understood", body = Parsed),
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
        items: page.records.into_iter().map(AuditRecordBody::from).collect(),
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
