//! The chat's use-cases: the only door the routes and the WebSocket use. A message is stored, then read: a decision
//! command (`confirm K7QF`) decides an action; anything else is parsed against what the asker can see. A read is
//! answered at once; a command becomes an action the asker confirms (and, when critical, a different admin approves)
//! before it runs with the decider's own token. Every bot reply is a stored message, so it reaches every socket on
//! every replica through the store's change feed.

mod answers;
mod commands;
mod errors;
mod execute;
mod four_eyes;
mod limiter;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod permissions;
mod platform;
mod recovery;
pub mod redact;
mod sweeper;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use devopstrack_platform::auth::Principal;

use crate::chat::domain::{ActionState, Decision, Intent, Language, MessageText, Parsed, RoomId};
use crate::chat::llm::{Llm, understand, understand_within};
use crate::chat::parser::ParseContext;
use crate::chat::store::{
    Action, ActionScope, ChatStore, ClientMsgId, DecisionRequest, HistoryQuery, Message, NewAction, NewMessage, Person,
    RequestMeta, Room, room_visible_to,
};

pub use answers::{Answer, LOG_TAIL_LINES};
pub use errors::ChatError;
pub use limiter::{COMMANDS_PER_MINUTE, LLM_PREVIEWS_PER_MINUTE};
pub use notify::run_notifier;
pub use platform::{CallAs, Platform};
pub use recovery::STUCK_AFTER;
pub use sweeper::{SWEEP_EVERY, run_sweeper};

/// Who is asking: the person as recorded, how to call the platform as them, and where the request came from.
#[derive(Debug, Clone)]
pub struct Asker {
    pub person: Person,
    pub call: CallAs,
    pub meta: RequestMeta,
}

impl Asker {
    pub fn new(
        principal: &Principal,
        token: &str,
        request_id: &str,
        source: Option<String>,
    ) -> Result<Self, ChatError> {
        let name = if principal.name.trim().is_empty() {
            &principal.subject
        } else {
            &principal.name
        };
        let person = Person::new(&principal.subject, name, principal.role).map_err(ChatError::Forbidden)?;
        Ok(Self {
            person,
            call: CallAs {
                token: token.to_owned(),
                request_id: request_id.to_owned(),
            },
            meta: RequestMeta {
                source,
                request_id: Some(request_id.to_owned()),
            },
        })
    }
}

/// What posting a message did: the stored message, the bot's replies and the proposed action (if any).
#[derive(Debug, Clone)]
pub struct Posted {
    pub message: Message,
    /// `false`: a resend of a stored message (same `clientMsgId` and text); nothing was done again.
    pub created: bool,
    pub replies: Vec<Message>,
    pub action: Option<Action>,
}

pub struct ChatApp {
    store: Arc<dyn ChatStore>,
    platform: Platform,
    live: live::LiveRooms,
    metrics: metrics::ChatMetrics,
    /// The optional model that proposes an intent when the rules decide nothing.
    llm: Option<Llm>,
}

impl ChatApp {
    pub fn new(store: Arc<dyn ChatStore>, platform: Platform, metrics: metrics::ChatMetrics) -> Self {
        Self {
            live: live::LiveRooms::new(store.clone()),
            store,
            platform,
            metrics,
            llm: None,
        }
    }

    /// The chat with a model that may propose what the rules do not understand ([`crate::chat::llm`]).
    pub fn with_llm(self, llm: Option<Llm>) -> Self {
        Self { llm, ..self }
    }

    /// The fan-out of this replica (run it once: [`live::LiveRooms::run`]).
    pub fn live(&self) -> &live::LiveRooms {
        &self.live
    }

    /// Follows a room the asker may see, from `after` (`None`: from now on), for a socket.
    pub async fn follow(
        &self,
        asker: &Asker,
        room: &RoomId,
        after: Option<crate::chat::store::EventId>,
    ) -> Result<(live::RoomFollower, live::Opening), ChatError> {
        self.check_visible(asker, room).await?;
        self.live.follow(room, after).await
    }

    pub fn store(&self) -> &Arc<dyn ChatStore> {
        &self.store
    }

    /// The rooms the asker sees: `general`, one per project they can see, and their private room with the bot.
    pub async fn rooms(&self, asker: &Asker) -> Result<Vec<Room>, ChatError> {
        let now = Utc::now();
        self.store.ensure_room(&RoomId::general(), now).await?;
        self.store.ensure_room(&private_room(asker)?, now).await?;
        let visible = self.platform.visible_slugs(&asker.call).await?;
        let slugs: Vec<&str> = visible.iter().map(String::as_str).collect();
        let mut rooms = self.store.rooms_visible_to(asker.person.id()).await?;
        for slug in &slugs {
            let id = RoomId::project(slug).map_err(ChatError::internal)?;
            if !rooms.iter().any(|r| r.id == id) {
                rooms.push(self.store.ensure_room(&id, now).await?);
            }
        }
        // A project room whose project the asker cannot see (deleted, or not theirs) is not listed.
        rooms.retain(|room| room.id.project_slug().is_none_or(|slug| slugs.contains(&slug)));
        rooms.sort_by_key(|room| room_order(&room.id));
        Ok(rooms)
    }

    /// A page of a room's history, oldest first.
    pub async fn history(&self, asker: &Asker, room: &RoomId, query: &HistoryQuery) -> Result<Vec<Message>, ChatError> {
        self.check_visible(asker, room).await?;
        Ok(self.store.history(room, query).await?)
    }

    /// What the bot would understand, executing nothing (the composer's preview). The model is asked within the
    /// asker's preview budget ([`limiter::LLM_PREVIEWS_PER_MINUTE`]); beyond it the rules answer alone.
    pub async fn preview(&self, asker: &Asker, room: &RoomId, text: &str) -> Result<Parsed, ChatError> {
        let text = message_text(text)?;
        let context = self.check_room(asker, room, text.as_str()).await?;
        let budget = || limiter::admit_llm_preview(self.store.as_ref(), asker.person.id(), Utc::now());
        Ok(understand_within(self.llm.as_ref(), &text, &context, budget).await)
    }

    /// Stores a message and has the bot answer it.
    pub async fn post(
        &self,
        asker: &Asker,
        room: &RoomId,
        client_msg_id: &str,
        text: &str,
    ) -> Result<Posted, ChatError> {
        let client_msg_id = ClientMsgId::parse(client_msg_id).map_err(ChatError::InvalidInput)?;
        let text = message_text(text)?;
        let context = self.check_room(asker, room, text.as_str()).await?;
        limiter::admit_command(self.store.as_ref(), asker.person.id(), Utc::now()).await?;
        let appended = self
            .store
            .append_message(&NewMessage::from_user(
                room.clone(),
                &asker.person,
                client_msg_id,
                text.clone(),
                Utc::now(),
            ))
            .await?;
        if appended.created {
            self.metrics.message("user");
        }
        if !appended.created {
            return Ok(Posted {
                message: appended.message,
                created: false,
                replies: Vec::new(),
                action: None,
            });
        }
        let (replies, action) = self.respond(asker, room, &text, &context).await?;
        Ok(Posted {
            message: appended.message,
            created: true,
            replies,
            action,
        })
    }

    /// The bot's side of a message: a decision, an answer, a question, or a proposal.
    async fn respond(
        &self,
        asker: &Asker,
        room: &RoomId,
        text: &MessageText,
        context: &ParseContext,
    ) -> Result<(Vec<Message>, Option<Action>), ChatError> {
        if let Some((decision, code)) = commands::decision_command(text.as_str())
            && let Some(action) = self
                .store
                .open_action_by_code(&code, &ActionScope::Room(room.clone()))
                .await?
        {
            return match self.decide(asker, action.id, decision).await {
                Ok(action) => Ok((Vec::new(), Some(action))),
                Err(refused) if refused.is_refusal() => {
                    let reply = self
                        .bot_say(room, &refused.to_string(), json!({"kind": "refused"}))
                        .await?;
                    Ok((vec![reply], None))
                }
                Err(e) => Err(e),
            };
        }
        let parsed = understand(self.llm.as_ref(), text, context).await;
        self.metrics.intent(&parsed);
        let lang = parsed.language;
        let payload_parse = json!({ "parsed": parsed });
        if parsed.intent == Intent::None || !parsed.missing.is_empty() {
            let text = not_understood(&parsed);
            let reply = self
                .bot_say(
                    room,
                    &text,
                    json!({"kind": "clarify", "parse": payload_parse["parsed"]}),
                )
                .await?;
            return Ok((vec![reply], None));
        }
        if parsed.intent.is_read() {
            let answer = answers::answer(&self.platform, &asker.call, asker.person.role(), &parsed).await?;
            let reply = self.bot_say(room, &answer.text, answer.payload).await?;
            return Ok((vec![reply], None));
        }
        if let Some(why) = permissions::refuse_proposal(asker.person.role(), parsed.intent, parsed.risk, lang) {
            let reply = self
                .bot_say(room, &why, json!({"kind": "refused", "intent": parsed.intent}))
                .await?;
            return Ok((vec![reply], None));
        }
        let action = self
            .store
            .propose_action(&NewAction {
                room: room.clone(),
                asker: asker.person.clone(),
                intent: parsed.intent,
                params: parsed.params.clone(),
                risk: parsed.risk,
                target: execute::target(&parsed),
                at: Utc::now(),
                meta: asker.meta.clone(),
            })
            .await?;
        self.metrics.action(&action, "proposed");
        let text = proposal_text(&action, lang);
        let reply = self
            .bot_say(room, &text, json!({"kind": "action", "actionId": action.id}))
            .await?;
        Ok((vec![reply], Some(action)))
    }

    /// An action the asker may see.
    pub async fn action(&self, asker: &Asker, id: Uuid) -> Result<Action, ChatError> {
        let action = self
            .store
            .action(id)
            .await?
            .ok_or_else(|| ChatError::NotFound(format!("action {id}")))?;
        if !room_visible_to(&action.room, asker.person.id()) {
            return Err(ChatError::NotFound(format!("action {id}")));
        }
        Ok(action)
    }

    /// Confirms, approves or rejects an action; an action that becomes `executing` runs now, as the decider.
    pub async fn decide(&self, asker: &Asker, id: Uuid, decision: Decision) -> Result<Action, ChatError> {
        let action = self.action(asker, id).await?;
        match decision {
            Decision::Confirm | Decision::Reject if asker.person.id() == action.asker.id() => {
                // The asker's role is checked again: it may have changed since the proposal.
                if decision == Decision::Confirm
                    && let Some(why) =
                        permissions::refuse_proposal(asker.person.role(), action.intent, action.risk, Language::En)
                {
                    return Err(ChatError::Forbidden(why));
                }
            }
            Decision::Confirm => {
                return Err(ChatError::Forbidden(
                    "only the person who asked confirms an action".into(),
                ));
            }
            Decision::Approve | Decision::Reject => {
                if let Some(why) = permissions::refuse_approval(asker.person.role(), action.risk) {
                    return Err(ChatError::Forbidden(why));
                }
            }
        }
        let decided = self
            .store
            .decide(&DecisionRequest {
                action_id: id,
                expected: action.state,
                decision,
                by: asker.person.clone(),
                at: Utc::now(),
                meta: asker.meta.clone(),
            })
            .await?;
        if decided.state == ActionState::Rejected {
            self.metrics.action(&decided, "rejected");
        }
        let note = decision_text(&decided, asker);
        self.bot_say(&decided.room, &note, json!({"kind": "action", "actionId": decided.id}))
            .await?;
        if decided.state != ActionState::Executing {
            return Ok(decided);
        }
        self.execute(asker, decided).await
    }

    /// Runs an `executing` action as `asker` (the person whose decision released it) and records the outcome.
    async fn execute(&self, asker: &Asker, action: Action) -> Result<Action, ChatError> {
        let result = match self.refuse_execution(asker, &action).await {
            Ok(Some(why)) => Err(ChatError::Forbidden(why)),
            Ok(None) => execute::run(&self.platform, &asker.call, &action).await,
            Err(e) => Err(e),
        };
        let now = Utc::now();
        let finished = match result {
            Ok(done) => {
                if let Some(run) = &done.run {
                    self.store.record_run(action.id, run, now, &asker.meta).await?;
                }
                self.store
                    .finish_action(action.id, &done.outcome, now, &asker.meta)
                    .await?
            }
            Err(e) => {
                let summary = crate::chat::store::Outcome {
                    succeeded: false,
                    summary: clip(&e.to_string(), 480),
                };
                self.store.finish_action(action.id, &summary, now, &asker.meta).await?
            }
        };
        let outcome = if finished.state == ActionState::Succeeded {
            "succeeded"
        } else {
            "failed"
        };
        self.metrics.action(&finished, outcome);
        let text = outcome_text(&finished);
        self.bot_say(
            &finished.room,
            &text,
            json!({"kind": "action", "actionId": finished.id}),
        )
        .await?;
        Ok(finished)
    }

    /// Roles checked a last time, now, against the action's risk: the decider's, and for an approved action also the
    /// asker's as auth has it now (read as the approver, an admin), since it may have changed since they confirmed.
    async fn refuse_execution(&self, decider: &Asker, action: &Action) -> Result<Option<String>, ChatError> {
        if !action.risk.needs_approval() {
            let role = decider.person.role();
            return Ok(permissions::refuse_proposal(
                role,
                action.intent,
                action.risk,
                Language::En,
            ));
        }
        if let Some(why) = permissions::refuse_approval(decider.person.role(), action.risk) {
            return Ok(Some(why));
        }
        let asker = &action.asker;
        Ok(match self.platform.current_role(&decider.call, asker.id()).await? {
            None => Some(format!(
                "{} who asked for it no longer has an active account",
                asker.name()
            )),
            Some(role) => permissions::refuse_proposal(role, action.intent, action.risk, Language::En)
                .map(|why| format!("{} who asked for it may not any more: {why}", asker.name())),
        })
    }

    /// Expires overdue actions and says so in their rooms; answers how many expired.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<usize, ChatError> {
        let expired = self.store.expire_overdue(now).await?;
        for action in &expired {
            self.metrics.action(action, "expired");
            let text = format!("{} expired: nobody decided in time ({}).", action.code, action.target);
            self.bot_say(&action.room, &text, json!({"kind": "action", "actionId": action.id}))
                .await?;
        }
        Ok(expired.len())
    }

    /// Checks the asker may use `room`, with one call at most: their private room or `general` need none, a project
    /// room needs its project to be one the asker can read (history and the live feed need nothing more).
    async fn check_visible(&self, asker: &Asker, room: &RoomId) -> Result<(), ChatError> {
        let hidden = || ChatError::NotFound(format!("room {room}"));
        if !room_visible_to(room, asker.person.id()) {
            return Err(hidden());
        }
        match room.project_slug() {
            Some(slug) => match self.platform.project(&asker.call, slug).await {
                Ok(_) => Ok(()),
                Err(ChatError::Upstream(status)) if status.code() == tonic::Code::NotFound => Err(hidden()),
                Err(e) => Err(e),
            },
            None => Ok(()),
        }
    }

    /// Checks the asker may use `room` and answers what the parser resolves against there.
    async fn check_room(&self, asker: &Asker, room: &RoomId, text: &str) -> Result<ParseContext, ChatError> {
        if !room_visible_to(room, asker.person.id()) {
            return Err(ChatError::NotFound(format!("room {room}")));
        }
        let context = self.platform.context(&asker.call, room, text).await?;
        if let Some(slug) = room.project_slug()
            && context.project(slug).is_none()
        {
            return Err(ChatError::NotFound(format!("room {room}")));
        }
        Ok(context)
    }

    async fn bot_say(&self, room: &RoomId, text: &str, payload: serde_json::Value) -> Result<Message, ChatError> {
        let text = message_text(&clip(text, MessageText::MAX_CHARS))?;
        let message = NewMessage::from_bot(room.clone(), false, text, Utc::now()).with_payload(&payload)?;
        let stored = self.store.append_message(&message).await?.message;
        self.metrics.message("bot");
        Ok(stored)
    }
}

fn message_text(text: &str) -> Result<MessageText, ChatError> {
    MessageText::parse(text).map_err(|e| ChatError::InvalidInput(format!("text: {e}")))
}

fn private_room(asker: &Asker) -> Result<RoomId, ChatError> {
    RoomId::direct(asker.person.id()).map_err(ChatError::internal)
}

fn room_order(room: &RoomId) -> (u8, String) {
    match room.project_slug() {
        _ if *room == RoomId::general() => (0, String::new()),
        Some(slug) => (1, slug.to_owned()),
        None => (2, room.to_string()),
    }
}

fn clip(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        text.chars().take(max_chars.saturating_sub(1)).collect::<String>() + "…"
    }
}

fn not_understood(parsed: &Parsed) -> String {
    let fr = parsed.language == Language::Fr;
    if parsed.negated {
        return if fr {
            "Compris : je ne fais rien."
        } else {
            "Understood: I will not do anything."
        }
        .into();
    }
    if parsed.intent == Intent::None {
        let why = parsed.missing.first().map(|m| m.reason.clone());
        return match (why, fr) {
            (Some(reason), _) => reason,
            (None, true) => "Je n'ai pas compris. Tapez « aide » pour voir ce que je sais faire.".into(),
            (None, false) => "I did not understand. Type \"help\" to see what I can do.".into(),
        };
    }
    let asks: Vec<String> = parsed
        .missing
        .iter()
        .map(|m| {
            if m.suggestions.is_empty() {
                m.reason.clone()
            } else {
                let did_you_mean = if fr { "vouliez-vous dire" } else { "did you mean" };
                format!("{} ({did_you_mean} {}?)", m.reason, m.suggestions.join(", "))
            }
        })
        .collect();
    asks.join(" ")
}

fn proposal_text(action: &Action, lang: Language) -> String {
    let approval = action.risk.needs_approval();
    match (lang, approval) {
        (Language::En, false) => format!(
            "{} — risk {}. Type `confirm {}` (or press Confirm) within 5 minutes.",
            action.target,
            action.risk.as_str(),
            action.code
        ),
        (Language::En, true) => format!(
            "{} — risk {}. Type `confirm {}` within 5 minutes; then another admin approves within 15 minutes.",
            action.target,
            action.risk.as_str(),
            action.code
        ),
        (Language::Fr, false) => format!(
            "{} — risque {}. Tapez `confirme {}` (ou Confirmer) dans les 5 minutes.",
            action.target,
            action.risk.as_str(),
            action.code
        ),
        (Language::Fr, true) => format!(
            "{} — risque {}. Tapez `confirme {}` dans les 5 minutes ; un autre admin approuve ensuite dans les 15 minutes.",
            action.target,
            action.risk.as_str(),
            action.code
        ),
    }
}

fn decision_text(action: &Action, asker: &Asker) -> String {
    let who = asker.person.name();
    match action.state {
        ActionState::AwaitingApproval => format!(
            "{} confirmed {} ({}): waiting for an admin's approval (`approve {}`).",
            who, action.code, action.target, action.code
        ),
        ActionState::Executing => format!("{} released {} ({}): running.", who, action.code, action.target),
        ActionState::Rejected => format!("{} rejected {} ({}).", who, action.code, action.target),
        other => format!("{} ({}) is {}.", action.code, action.target, other.as_str()),
    }
}

fn outcome_text(action: &Action) -> String {
    let outcome = action.outcome.clone().unwrap_or_default();
    match action.state {
        ActionState::Succeeded => format!("{} done: {outcome}", action.code),
        _ => format!("{} failed: {outcome}", action.code),
    }
}
