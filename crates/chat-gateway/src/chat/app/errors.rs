//! The chat's errors. Each says what the caller can do; the routes map them to HTTP (see `routes::chat`), and a
//! refusal of a decision typed in the room is answered there by the bot instead.

use crate::chat::store::{Conflict, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The message names the field.
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    /// A service answered with an error: mapped like every other upstream status.
    #[error("{}", .0.message())]
    Upstream(#[from] tonic::Status),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ChatError {
    pub fn internal(message: String) -> Self {
        ChatError::Internal(anyhow::anyhow!(message))
    }

    /// A refusal a person can read and act on (as opposed to a failure of the platform).
    pub fn is_refusal(&self) -> bool {
        match self {
            ChatError::InvalidInput(_)
            | ChatError::NotFound(_)
            | ChatError::Forbidden(_)
            | ChatError::Conflict(_)
            | ChatError::RateLimited { .. } => true,
            ChatError::Upstream(status) => !matches!(
                status.code(),
                tonic::Code::Unavailable | tonic::Code::Internal | tonic::Code::Unknown | tonic::Code::DeadlineExceeded
            ),
            ChatError::Unavailable(_) | ChatError::Internal(_) => false,
        }
    }
}

impl From<StoreError> for ChatError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidInput(message) => ChatError::InvalidInput(message),
            StoreError::NotFound(what) => ChatError::NotFound(what),
            StoreError::NotAllowed(message) => ChatError::Forbidden(message),
            StoreError::Conflict(conflict @ Conflict::NoFreeShortCode) => ChatError::Unavailable(conflict.to_string()),
            StoreError::Conflict(conflict) => ChatError::Conflict(conflict.to_string()),
            StoreError::Backend(e) => ChatError::Unavailable(format!("the chat database is unavailable: {e}")),
            StoreError::Migrate(e) => ChatError::Internal(anyhow::Error::new(e).context("chat database migration")),
            StoreError::Corrupt(message) => ChatError::Internal(anyhow::anyhow!("corrupt chat row: {message}")),
        }
    }
}
