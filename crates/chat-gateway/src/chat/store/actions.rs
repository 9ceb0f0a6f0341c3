//! Actions as the store holds them, their decisions, and the rules every state change follows whichever database
//! runs it: who may decide what, in which state, before which deadline, and the audit record each change writes.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::chat::domain::{ActionState, Decision, Intent, Params, Risk, RoomId};

use super::audit::{AuditActor, NewAuditRecord};
use super::types::{Person, ShortCode, check_line};
use super::{Conflict, StoreError, StoreResult};

/// The asker confirms within this long after the proposal.
pub const CONFIRM_WITHIN: TimeDelta = TimeDelta::minutes(5);
/// A critical action is approved within this long after its confirmation.
pub const APPROVE_WITHIN: TimeDelta = TimeDelta::minutes(15);
/// The target summary (`api 2.5.0 → production`) is at most this long.
pub const MAX_TARGET_CHARS: usize = 200;
/// An outcome summary is at most this long.
pub const MAX_OUTCOME_CHARS: usize = 500;

/// Where the request that changes something came from, for the audit record it writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The client address (`203.0.113.7`).
    pub source: Option<String>,
    /// The edge's request id.
    pub request_id: Option<String>,
}

/// A proposed action. The store gives it its id (UUID v7), a short code free among open actions, and its
/// confirmation deadline ([`CONFIRM_WITHIN`] after `at`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    pub room: RoomId,
    /// Who asked, with the role checked at proposal.
    pub asker: Person,
    /// A command that changes something ([`Intent::mutates`]).
    pub intent: Intent,
    pub params: Params,
    /// Computed on the server; `read` is refused (reads never become actions).
    pub risk: Risk,
    /// What it acts on, for the card: `api 2.5.0 → production`.
    pub target: String,
    pub at: DateTime<Utc>,
    pub meta: RequestMeta,
}

/// The pipeline run an action started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRef {
    pipeline_id: String,
    run_number: u64,
}

impl RunRef {
    /// `pipeline_id`: 1–64 printable ASCII characters; `run_number`: 1 or more.
    pub fn new(pipeline_id: &str, run_number: u64) -> Result<Self, String> {
        if pipeline_id.is_empty() || pipeline_id.len() > 64 || !pipeline_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("run.pipelineId: 1 to 64 printable ASCII characters".into());
        }
        if run_number == 0 || i64::try_from(run_number).is_err() {
            return Err(format!("run.runNumber: {run_number} is not a run number"));
        }
        Ok(Self {
            pipeline_id: pipeline_id.to_owned(),
            run_number,
        })
    }

    pub fn pipeline_id(&self) -> &str {
        &self.pipeline_id
    }

    pub fn run_number(&self) -> u64 {
        self.run_number
    }
}

/// How an executing action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub succeeded: bool,
    /// One line for the room and the audit trail (`run api#42 succeeded in 3m12s`).
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    pub decision: Decision,
    /// Who decided, with the role checked then.
    pub by: Person,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub id: Uuid,
    pub code: ShortCode,
    pub room: RoomId,
    pub asker: Person,
    pub intent: Intent,
    pub params: Params,
    pub risk: Risk,
    pub state: ActionState,
    pub target: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The asker confirms by then, or it expires.
    pub confirm_by: DateTime<Utc>,
    /// Set when a critical action is confirmed: the approval comes by then, or it expires.
    pub approve_by: Option<DateTime<Utc>>,
    pub run: Option<RunRef>,
    pub outcome: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub decisions: Vec<DecisionRecord>,
}

/// A decision on one action, compare-and-set on the state the decider saw: if another decision landed first, this
/// one loses with [`Conflict::StateChanged`] and changes nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRequest {
    pub action_id: Uuid,
    /// The state the decider saw (on the card): the compare in compare-and-set.
    pub expected: ActionState,
    pub decision: Decision,
    /// Who decides, with the role checked by the caller just now.
    pub by: Person,
    pub at: DateTime<Utc>,
    pub meta: RequestMeta,
}

/// Which open actions a lookup considers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionScope {
    Everywhere,
    /// Those proposed in this room.
    Room(RoomId),
    /// Those this person asked for.
    Asker(String),
}

/// The states in which an action waits for a decision (and holds its short code).
pub const OPEN_STATES: [ActionState; 2] = [ActionState::AwaitingConfirmation, ActionState::AwaitingApproval];

/// A state change the rules allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transition {
    pub to: ActionState,
    pub approve_by: Option<DateTime<Utc>>,
}

impl NewAction {
    pub(crate) fn validate(&self) -> StoreResult<()> {
        if !self.intent.mutates() {
            return Err(StoreError::invalid(
                "intent",
                format!("{} changes nothing: only commands become actions", self.intent.as_str()),
            ));
        }
        if self.risk == Risk::Read {
            return Err(StoreError::invalid("risk", "an action is medium, high or critical"));
        }
        check_line("target", &self.target, MAX_TARGET_CHARS).map_err(StoreError::InvalidInput)
    }
}

impl Outcome {
    pub(crate) fn validate(&self) -> StoreResult<()> {
        check_line("outcome.summary", &self.summary, MAX_OUTCOME_CHARS).map_err(StoreError::InvalidInput)
    }

    pub(crate) fn state(&self) -> ActionState {
        if self.succeeded {
            ActionState::Succeeded
        } else {
            ActionState::Failed
        }
    }
}

impl Action {
    /// `self` as it ends with `outcome` at `at`.
    pub(crate) fn finished(&mut self, outcome: &Outcome, at: DateTime<Utc>) {
        self.state = outcome.state();
        self.outcome = Some(outcome.summary.clone());
        self.finished_at = Some(at);
        self.updated_at = at;
    }
}

/// How an action left `executing` by a gateway that stopped mid-execution ends ([`super::ChatStore::recover_stuck`]).
/// Nothing is run again: the person's token that released it is gone with that gateway (it is never stored), and
/// the platform takes no other caller's word for it. A recorded run means tasks had answered (the run, retry,
/// cancel or approval happened): `succeeded`. Otherwise what happened is unknown and the action `failed`, saying
/// what to check; a run, deploy or rollback started under the key `chat-<action id>` exists at most once.
pub(crate) fn recovered_outcome(action: &Action) -> Outcome {
    let project = action.params.project.as_deref().unwrap_or("?");
    if let Some(run) = &action.run {
        return Outcome {
            succeeded: true,
            summary: format!(
                "{project}#{} was under way when the gateway stopped, before it reported",
                run.run_number()
            ),
        };
    }
    let run = action
        .params
        .run
        .map_or_else(|| project.to_owned(), |n| format!("{project}#{n}"));
    let check = match action.intent {
        Intent::Retry => format!("some failed jobs of {run} may have been retried: look at the run before retrying"),
        Intent::Cancel => format!("look at whether {run} was cancelled"),
        Intent::Approve => format!("look at whether {run}'s gate was approved"),
        _ => format!(
            "a run of {project} may have started (idempotency key chat-{}): look at its runs before asking again",
            action.id
        ),
    };
    Outcome {
        succeeded: false,
        summary: format!("interrupted: the gateway stopped while executing; {check}"),
    }
}

/// What `request` does to `action`, or why it may not: the state must be the one the decider saw and one the
/// decision applies to, the deadline not passed; the asker confirms, a different person approves, anyone the
/// caller allowed may reject while it waits.
pub(crate) fn transition(action: &Action, request: &DecisionRequest) -> StoreResult<Transition> {
    if action.state != request.expected {
        return Err(Conflict::StateChanged {
            expected: request.expected,
            current: action.state,
        }
        .into());
    }
    let deadline = match action.state {
        ActionState::AwaitingConfirmation => Some(action.confirm_by),
        ActionState::AwaitingApproval => action.approve_by,
        _ => None,
    };
    let decidable = match request.decision {
        Decision::Confirm => action.state == ActionState::AwaitingConfirmation,
        Decision::Approve => action.state == ActionState::AwaitingApproval,
        Decision::Reject => OPEN_STATES.contains(&action.state),
    };
    if !decidable {
        return Err(Conflict::NotDecidable {
            decision: request.decision.as_str().to_owned(),
            current: action.state,
        }
        .into());
    }
    if deadline.is_some_and(|deadline| request.at > deadline) {
        return Err(Conflict::Expired.into());
    }
    let asker = request.by.id() == action.asker.id();
    match request.decision {
        Decision::Confirm if !asker => Err(StoreError::NotAllowed(
            "only the person who asked confirms an action".into(),
        )),
        Decision::Confirm if action.risk.needs_approval() => Ok(Transition {
            to: ActionState::AwaitingApproval,
            approve_by: Some(request.at + APPROVE_WITHIN),
        }),
        Decision::Confirm => Ok(Transition {
            to: ActionState::Executing,
            approve_by: None,
        }),
        Decision::Approve if asker => Err(StoreError::NotAllowed(
            "a different person than the one who asked approves an action".into(),
        )),
        Decision::Approve => Ok(Transition {
            to: ActionState::Executing,
            approve_by: action.approve_by,
        }),
        Decision::Reject => Ok(Transition {
            to: ActionState::Rejected,
            approve_by: action.approve_by,
        }),
    }
}

/// The audit record of a new proposal.
pub(crate) fn proposal_record(action: &Action, meta: &RequestMeta) -> NewAuditRecord {
    let asker = (&action.asker).into();
    audit_record(action, "propose", asker, None, action.created_at, meta)
}

/// Applies a decision whose compare-and-set held to `action`, and answers its audit record.
pub(crate) fn apply_decision(
    action: &mut Action,
    request: &DecisionRequest,
    change: Transition,
    at: DateTime<Utc>,
) -> NewAuditRecord {
    action.state = change.to;
    action.approve_by = change.approve_by;
    action.updated_at = at;
    action.decisions.push(DecisionRecord {
        decision: request.decision,
        by: request.by.clone(),
        at,
    });
    let (what, by) = (request.decision.as_str(), (&request.by).into());
    audit_record(action, what, by, Some(request.expected), at, &request.meta)
}

/// Applies the recording of the run an executing action started, and answers its audit record.
pub(crate) fn apply_run(action: &mut Action, run: &RunRef, at: DateTime<Utc>, meta: &RequestMeta) -> NewAuditRecord {
    action.run = Some(run.clone());
    action.updated_at = at;
    let asker = (&action.asker).into();
    audit_record(action, "run_started", asker, None, at, meta)
}

/// Applies the end of an executing action, and answers its audit record.
pub(crate) fn apply_outcome(
    action: &mut Action,
    outcome: &Outcome,
    at: DateTime<Utc>,
    meta: &RequestMeta,
) -> NewAuditRecord {
    action.finished(outcome, at);
    let asker = (&action.asker).into();
    audit_record(action, "outcome", asker, Some(ActionState::Executing), at, meta)
}

/// Applies the end the sweep gave an action a stopped gateway left executing (by `system`), and answers its audit record.
pub(crate) fn apply_recovery(action: &mut Action, outcome: &Outcome, now: DateTime<Utc>) -> NewAuditRecord {
    action.finished(outcome, now);
    audit_record(
        action,
        "recover",
        AuditActor::system(),
        Some(ActionState::Executing),
        now,
        &RequestMeta::default(),
    )
}

/// The audit record of an action the sweep expired (by `system`), from `previous`.
pub(crate) fn expiry_record(action: &Action, previous: ActionState, now: DateTime<Utc>) -> NewAuditRecord {
    audit_record(
        action,
        "expire",
        AuditActor::system(),
        Some(previous),
        now,
        &RequestMeta::default(),
    )
}

/// `action`, or NotFound naming `id`.
pub(crate) fn found(id: Uuid, action: Option<Action>) -> StoreResult<Action> {
    action.ok_or_else(|| StoreError::NotFound(format!("action {id}")))
}

/// The conflict of a compare-and-set on `id` that matched no row, from what a read finds now.
pub(crate) fn lost(id: Uuid, expected: ActionState, now: StoreResult<Option<Action>>) -> StoreError {
    match now {
        Ok(Some(current)) => Conflict::StateChanged {
            expected,
            current: current.state,
        }
        .into(),
        Ok(None) => StoreError::NotFound(format!("action {id}")),
        Err(e) => e,
    }
}

/// The audit record of a change to `action` (already in its new state), made by `actor`.
fn audit_record(
    action: &Action,
    what: &str,
    actor: AuditActor,
    from: Option<ActionState>,
    at: DateTime<Utc>,
    meta: &RequestMeta,
) -> NewAuditRecord {
    let mut details = json!({
        "code": action.code.as_str(),
        "room": action.room.to_string(),
        "intent": action.intent.as_str(),
        "risk": action.risk.as_str(),
        "target": action.target,
    });
    if let Some(from) = from {
        details["from"] = json!(from.as_str());
    }
    if what == "propose" {
        details["params"] = serde_json::to_value(&action.params).unwrap_or_default();
    }
    if let Some(run) = &action.run {
        details["pipelineId"] = json!(run.pipeline_id());
        details["runNumber"] = json!(run.run_number());
    }
    if let Some(outcome) = &action.outcome {
        details["outcome"] = json!(outcome);
    }
    NewAuditRecord {
        at,
        actor,
        kind: format!("chat.action.{what}"),
        target: format!("action:{}", action.id),
        result: action.state.as_str().to_owned(),
        source: meta.source.clone(),
        request_id: meta.request_id.clone(),
        details,
    }
}
