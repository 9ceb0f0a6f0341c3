//! The tasks service's errors, and their one mapping to gRPC status codes (every variant, no `_` arm).

use crate::domain::{FieldError, TransitionError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field failed validation; the message names the field path (`stages[1].jobs[0].name: …`).
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    /// The pipeline or job is not in a state that allows the call.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The call lost to a concurrent change (a stale delivery, an attempt that is no longer current): read again.
    #[error("{0}")]
    Aborted(String),
    /// A queued retry asked to start before its backoff elapsed (a delivery ahead of its time): try again later.
    #[error("{0}")]
    NotYet(String),
    /// A compare-and-set kept losing to concurrent writers: nothing changed, the same call may succeed if retried.
    #[error("{0}")]
    Contention(String),
    /// A dependency (the store, auth, projects) is down.
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

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Self::InvalidInput(e.to_string())
    }
}

impl From<TransitionError> for Error {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::UnknownJob(_) => Self::NotFound(e.to_string()),
            TransitionError::Stale { .. } => Self::Aborted(e.to_string()),
            TransitionError::Backoff { .. } => Self::NotYet(e.to_string()),
            TransitionError::JobState { .. }
            | TransitionError::NotActiveStage { .. }
            | TransitionError::PipelineState { .. }
            | TransitionError::Tracked { .. }
            | TransitionError::NoGate => Self::FailedPrecondition(e.to_string()),
            TransitionError::TooManyJobs { .. } => Self::InvalidInput(e.to_string()),
            TransitionError::Denied(_) => Self::PermissionDenied(e.to_string()),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadEventId(id) => Self::invalid("afterEventId", format!("{id:?} is not an event id")),
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "the tasks store is unavailable");
                Self::Unavailable("the tasks store is unavailable; retry shortly".into())
            }
            StoreError::Sqlite(_)
            | StoreError::Migrate(_)
            | StoreError::Redis(_)
            | StoreError::Corrupt(_)
            | StoreError::Volatile(_)
            | StoreError::Url(_) => Self::Internal(anyhow::Error::new(e)),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidInput(m) => tonic::Status::invalid_argument(m),
            Error::Unauthenticated(m) => tonic::Status::unauthenticated(m),
            Error::PermissionDenied(m) => tonic::Status::permission_denied(m),
            Error::NotFound(m) => tonic::Status::not_found(m),
            Error::FailedPrecondition(m) | Error::NotYet(m) => tonic::Status::failed_precondition(m),
            Error::Aborted(m) | Error::Contention(m) => tonic::Status::aborted(m),
            Error::Unavailable(m) => tonic::Status::unavailable(m),
            Error::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                tonic::Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{JobId, JobStatus};

    #[test]
    fn transition_errors_map_to_the_documented_codes() {
        let job = JobId::new();
        let cases = [
            (TransitionError::UnknownJob(job), tonic::Code::NotFound),
            (TransitionError::Stale { job, attempt: 1 }, tonic::Code::Aborted),
            (
                TransitionError::JobState {
                    job,
                    status: JobStatus::Running,
                    action: "approve",
                },
                tonic::Code::FailedPrecondition,
            ),
            (TransitionError::NotActiveStage { job }, tonic::Code::FailedPrecondition),
            (TransitionError::Denied("no"), tonic::Code::PermissionDenied),
            (
                TransitionError::Tracked { action: "cancel it" },
                tonic::Code::FailedPrecondition,
            ),
            (
                TransitionError::TooManyJobs {
                    max: 200,
                    have: 200,
                    adding: 1,
                },
                tonic::Code::InvalidArgument,
            ),
        ];
        for (err, code) in cases {
            assert_eq!(tonic::Status::from(Error::from(err)).code(), code);
        }
    }

    #[test]
    fn a_store_that_is_down_is_unavailable_not_internal() {
        let status = tonic::Status::from(Error::from(StoreError::Unavailable("connection refused".into())));
        assert_eq!(status.code(), tonic::Code::Unavailable);
        let io = ::redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(
            tonic::Status::from(Error::from(StoreError::from(io))).code(),
            tonic::Code::Unavailable
        );
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status = tonic::Status::from(Error::from(StoreError::Corrupt("secret detail".into())));
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
