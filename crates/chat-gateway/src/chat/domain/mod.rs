//! The chat's vocabulary, shared by the parser, the store and the actions: the closed set of intents, their params,
//! risk levels, action states and decisions, rooms, a message's text. No I/O here.

/// `TryFrom<String>` through each type's own `parse`, for serde's `try_from = "String"`: a value read from JSON or
/// from a row goes through the one parser the type has. `try_from_string!(Type => ParseError, …)`.
macro_rules! try_from_string {
    ($($ty:ty => $error:ty),+ $(,)?) => {$(
        impl TryFrom<String> for $ty {
            type Error = $error;
            fn try_from(raw: String) -> Result<Self, $error> {
                Self::parse(&raw)
            }
        }
    )+};
}
pub(crate) use try_from_string;

mod risk;
mod room;
mod text;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use risk::{EnvironmentFacts, Risk, RunFacts, risk_of};
pub use room::{RoomId, RoomKind};
#[cfg(test)]
pub(crate) use text::is_invisible;
pub use text::{MessageText, MessageTextError, strip_invisible};

/// What a message asks for: this closed set, these names. `None` is "not understood" or a negated command ("don't
/// deploy…"): nothing is ever executed for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ChatIntent)]
pub enum Intent {
    StatusOverview,
    ProjectStatus,
    FailingPipelines,
    JobFailureReason,
    RunPipeline,
    Retry,
    Cancel,
    Approve,
    Deploy,
    Rollback,
    DoraSummary,
    WhoDeployed,
    Help,
    None,
}

impl Intent {
    pub const ALL: [Intent; 14] = [
        Intent::StatusOverview,
        Intent::ProjectStatus,
        Intent::FailingPipelines,
        Intent::JobFailureReason,
        Intent::RunPipeline,
        Intent::Retry,
        Intent::Cancel,
        Intent::Approve,
        Intent::Deploy,
        Intent::Rollback,
        Intent::DoraSummary,
        Intent::WhoDeployed,
        Intent::Help,
        Intent::None,
    ];

    /// The wire name (`deploy`, `job_failure_reason`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::StatusOverview => "status_overview",
            Intent::ProjectStatus => "project_status",
            Intent::FailingPipelines => "failing_pipelines",
            Intent::JobFailureReason => "job_failure_reason",
            Intent::RunPipeline => "run_pipeline",
            Intent::Retry => "retry",
            Intent::Cancel => "cancel",
            Intent::Approve => "approve",
            Intent::Deploy => "deploy",
            Intent::Rollback => "rollback",
            Intent::DoraSummary => "dora_summary",
            Intent::WhoDeployed => "who_deployed",
            Intent::Help => "help",
            Intent::None => "none",
        }
    }

    pub fn parse(raw: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == raw)
    }

    /// Reads answer at once; everything else becomes an action to confirm.
    pub fn is_read(self) -> bool {
        !self.mutates()
    }

    /// Changes something in the platform: becomes a proposed action.
    pub fn mutates(self) -> bool {
        matches!(
            self,
            Intent::RunPipeline | Intent::Retry | Intent::Cancel | Intent::Approve | Intent::Deploy | Intent::Rollback
        )
    }
}

/// The params an intent may carry. Every value is checked against the platform before it is used (a project that
/// does not exist is never passed on: it is reported in `missing`, with suggestions).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatParams)]
pub struct Params {
    /// A project slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub project: Option<String>,
    /// A pipeline definition name of that project.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub definition: Option<String>,
    /// A run number of that project (`api#42` → 42).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1)]
    pub run: Option<u64>,
    /// A release version label.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub version: Option<String>,
    /// An environment name of that project (aliases already resolved).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub environment: Option<String>,
    /// A time window for DORA and history: `7d`, `30d`, … (1 to 365 days).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable = false, pattern = "^[0-9]{1,3}d$", example = "7d")]
    pub window: Option<Window>,
}

/// A window of whole days, 1..=365, written `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Window {
    days: u16,
}

impl Window {
    pub const MAX_DAYS: u16 = 365;

    pub fn days(days: u16) -> Result<Self, String> {
        if (1..=Self::MAX_DAYS).contains(&days) {
            Ok(Self { days })
        } else {
            Err(format!("a window is 1 to {} days", Self::MAX_DAYS))
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let days = raw
            .strip_suffix('d')
            .and_then(|n| n.parse::<u16>().ok())
            .ok_or_else(|| format!("{raw:?} is not a window like 7d or 30d"))?;
        Self::days(days)
    }

    pub fn in_days(self) -> u16 {
        self.days
    }
}

try_from_string!(Window => String);

impl From<Window> for String {
    fn from(w: Window) -> String {
        format!("{}d", w.days)
    }
}

/// The language a message was written in; the bot answers in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ChatLanguage)]
pub enum Language {
    En,
    Fr,
}

/// Who understood the message: the rule parser (the default, and the winner whenever it matches) or the optional LLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ChatParsedBy)]
pub enum ParsedBy {
    Rules,
    Llm,
}

/// A param a command needs but did not get (or got wrong), with what the bot can suggest. `deploy api to prod`
/// misses `version`: the bot asks, it never guesses a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatMissing)]
pub struct Missing {
    /// `project`, `definition`, `run`, `version`, `environment` or `window`.
    pub param: String,
    /// Why, in the asker's language (`unknown project "apii"`).
    pub reason: String,
    /// Close matches to offer (`api`), never used without the asker saying so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
}

/// What the parser understood of one message: the dry run `POST /api/v1/chat/parse` answers exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatParseResponse)]
pub struct Parsed {
    pub intent: Intent,
    pub params: Params,
    pub risk: Risk,
    pub missing: Vec<Missing>,
    /// The message negated a command ("don't deploy…"): the intent is `none`.
    pub negated: bool,
    pub language: Language,
    pub parsed_by: ParsedBy,
}

/// Where an action stands. `awaiting_confirmation` → (`awaiting_approval`, for critical actions) → `executing` →
/// `succeeded` | `failed`; or `rejected` | `expired` before it executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ChatActionState)]
pub enum ActionState {
    AwaitingConfirmation,
    AwaitingApproval,
    Executing,
    Succeeded,
    Failed,
    Rejected,
    Expired,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::AwaitingConfirmation => "awaiting_confirmation",
            ActionState::AwaitingApproval => "awaiting_approval",
            ActionState::Executing => "executing",
            ActionState::Succeeded => "succeeded",
            ActionState::Failed => "failed",
            ActionState::Rejected => "rejected",
            ActionState::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> Option<ActionState> {
        [
            ActionState::AwaitingConfirmation,
            ActionState::AwaitingApproval,
            ActionState::Executing,
            ActionState::Succeeded,
            ActionState::Failed,
            ActionState::Rejected,
            ActionState::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    /// No decision can change it any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ActionState::Succeeded | ActionState::Failed | ActionState::Rejected | ActionState::Expired
        )
    }
}

/// A person's decision on an action. The asker confirms; a different person approves a critical action; either may
/// reject while it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ChatDecision)]
pub enum Decision {
    Confirm,
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Confirm => "confirm",
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }

    pub fn parse(raw: &str) -> Option<Decision> {
        [Decision::Confirm, Decision::Approve, Decision::Reject]
            .into_iter()
            .find(|d| d.as_str() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_names_round_trip_and_serde_agrees_with_as_str() {
        for intent in Intent::ALL {
            assert_eq!(Intent::parse(intent.as_str()), Some(intent));
            assert_eq!(serde_json::to_value(intent).unwrap(), intent.as_str());
        }
        assert_eq!(Intent::parse("rm -rf"), None);
    }

    #[test]
    fn only_the_six_commands_that_change_something_mutate() {
        let mutating: Vec<_> = Intent::ALL.into_iter().filter(|i| i.mutates()).collect();
        assert_eq!(
            mutating,
            [
                Intent::RunPipeline,
                Intent::Retry,
                Intent::Cancel,
                Intent::Approve,
                Intent::Deploy,
                Intent::Rollback
            ]
        );
    }

    #[test]
    fn windows_are_whole_days_within_a_year() {
        assert_eq!(Window::parse("7d").unwrap().in_days(), 7);
        assert_eq!(String::from(Window::parse("365d").unwrap()), "365d");
        for bad in ["0d", "366d", "7", "d", "-1d", "7w", ""] {
            assert!(Window::parse(bad).is_err(), "{bad}");
        }
        let params: Params = serde_json::from_str(r#"{"window":"30d"}"#).unwrap();
        assert_eq!(params.window, Some(Window::days(30).unwrap()));
        assert!(serde_json::from_str::<Params>(r#"{"window":"30"}"#).is_err());
    }

    #[test]
    fn action_states_and_decisions_round_trip() {
        for s in [
            "awaiting_confirmation",
            "awaiting_approval",
            "executing",
            "succeeded",
            "failed",
            "rejected",
            "expired",
        ] {
            assert_eq!(ActionState::parse(s).unwrap().as_str(), s);
        }
        assert!(ActionState::Expired.is_final() && !ActionState::AwaitingApproval.is_final());
        for d in ["confirm", "approve", "reject"] {
            assert_eq!(Decision::parse(d).unwrap().as_str(), d);
        }
        assert_eq!(Decision::parse("yes"), None);
    }
}
