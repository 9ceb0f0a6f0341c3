//! The outcome of delivering something to a peer as this service (an outbox entry, a batch of events): either worth
//! retrying later or refused for good. A peer's [`tonic::Status`] is sorted here once, so every outbox retries the
//! same answers.

use crate::service_tokens::{ServiceTokenError, ServiceTokens};

/// Why a delivery did not happen now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later (the peer or auth down, no credentials configured yet).
    #[error("{0}")]
    Retry(String),
    /// The peer refused it for good (the payload is invalid, what it names is gone).
    #[error("{0}")]
    Rejected(String),
}

impl From<ServiceTokenError> for DeliveryError {
    fn from(error: ServiceTokenError) -> Self {
        Self::Retry(error.to_string())
    }
}

impl DeliveryError {
    /// Sorts `peer`'s answer to a delivery: the codes in `final_codes` reject it for good; UNAUTHENTICATED drops the
    /// cached service token (auth's keys may have rotated) and is retried with a new one; anything else is retried.
    pub async fn from_status(
        peer: &str,
        status: &tonic::Status,
        final_codes: &[tonic::Code],
        tokens: &ServiceTokens,
    ) -> Self {
        let reason = format!("{peer}: {:?} {}", status.code(), status.message());
        if status.code() == tonic::Code::Unauthenticated {
            tokens.forget().await;
            return Self::Retry(reason);
        }
        if final_codes.contains(&status.code()) {
            Self::Rejected(reason)
        } else {
            Self::Retry(reason)
        }
    }
}
