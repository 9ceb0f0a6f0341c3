//! The auth service's errors, and their one mapping to gRPC status codes (every variant, no `_` arm).

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field failed validation; the message names the field.
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The request is valid but the state forbids it (e.g. demoting the last admin).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Too many failed logins: refused until the lock ends.
    #[error("account_locked: too many failed logins; try again in {retry_after_secs} s")]
    Locked { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Self {
        Self::InvalidInput(format!("{field}: {problem}"))
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidInput(m) => tonic::Status::invalid_argument(m),
            Error::Unauthenticated(m) => tonic::Status::unauthenticated(m),
            Error::PermissionDenied(m) => tonic::Status::permission_denied(m),
            Error::NotFound(m) => tonic::Status::not_found(m),
            Error::Conflict(m) => tonic::Status::already_exists(m),
            Error::FailedPrecondition(m) => tonic::Status::failed_precondition(m),
            Error::Locked { retry_after_secs } => {
                let mut status = tonic::Status::resource_exhausted(Error::Locked { retry_after_secs }.to_string());
                if let Ok(value) = retry_after_secs.to_string().parse() {
                    status.metadata_mut().insert("retry-after", value);
                }
                status
            }
            Error::Unavailable(m) => tonic::Status::unavailable(m),
            Error::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                tonic::Status::internal("internal error")
            }
        }
    }
}
