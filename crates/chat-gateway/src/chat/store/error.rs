//! What the chat store answers when it refuses or fails. Each variant says what the caller can do: fix the input
//! (`InvalidInput`, which names the field), tell the person (`NotAllowed`, `Conflict`), or give up (`Backend`,
//! `Corrupt`).

use crate::chat::domain::ActionState;

use super::EventId;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The input breaks the store's rules; the message starts with the field (`text: …`, `details.password: …`).
    #[error("{0}")]
    InvalidInput(String),
    /// Nothing with that id (the message names what).
    #[error("{0} not found")]
    NotFound(String),
    /// The decision is not this person's to make (the asker confirms; a different person approves).
    #[error("{0}")]
    NotAllowed(String),
    /// The write lost against the stored state; nothing was changed.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    #[error(transparent)]
    Backend(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value that no longer parses (e.g. an unknown state string written by hand).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// Why a write lost. Every one of them left the store as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// The sender already used this `clientMsgId` in this room for another text.
    #[error("clientMsgId was already used in this room for another message (event {event_id})")]
    ClientMsgIdReused { event_id: EventId },
    /// The action is no longer in the state the decider saw (another replica or person decided first).
    #[error("the action is {} now, not {}", current.as_str(), expected.as_str())]
    StateChanged {
        expected: ActionState,
        current: ActionState,
    },
    /// The decision does not apply to an action in this state (confirming an action awaiting approval, …).
    #[error("cannot {decision} an action that is {}", current.as_str())]
    NotDecidable { decision: String, current: ActionState },
    /// Its deadline passed: the action expires (or already expired) without running.
    #[error("the action expired: its deadline passed")]
    Expired,
    /// The run is recorded once, on an executing action.
    #[error("the action's run cannot be recorded now (it is {}{})", current.as_str(), if *already_recorded { ", with a run already recorded" } else { "" })]
    RunNotRecordable {
        current: ActionState,
        already_recorded: bool,
    },
    /// Every short code drawn was held by another open action.
    #[error("no free confirmation code was found; try again")]
    NoFreeShortCode,
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub(crate) fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        StoreError::InvalidInput(format!("{field}: {why}"))
    }
}

impl From<devopstrack_platform::sqlite::ColumnError> for StoreError {
    fn from(e: devopstrack_platform::sqlite::ColumnError) -> Self {
        use devopstrack_platform::sqlite::ColumnError;
        match e {
            ColumnError::Sqlx(e) => StoreError::Backend(e),
            ColumnError::Corrupt(message) => StoreError::Corrupt(message),
        }
    }
}
