//! The projects service's errors, and their one mapping to gRPC status codes (every variant, no `_` arm).

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field failed validation; the message names the field (camelCase, as in the JSON mapping of the proto).
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    /// Something with this identity already exists (a slug, a release version, a repository URL): ALREADY_EXISTS.
    #[error("{0}")]
    Conflict(String),
    /// The request is valid but the project's state forbids it: a release or deployment for an archived project, a
    /// 21st environment. FAILED_PRECONDITION rather than ALREADY_EXISTS, because retrying the same request cannot
    /// succeed until someone changes the project (AIP-193).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A compare-and-set lost: `expected_version` is stale, or concurrent writers kept winning. Read again, retry.
    #[error("{0}")]
    Aborted(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// `field: problem`, the shape of every validation message.
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
            Error::Aborted(m) => tonic::Status::aborted(m),
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

    #[test]
    fn every_variant_has_its_grpc_code_and_internal_hides_its_cause() {
        let cases = [
            (Error::invalid("slug", "bad"), tonic::Code::InvalidArgument),
            (Error::Unauthenticated("x".into()), tonic::Code::Unauthenticated),
            (Error::PermissionDenied("x".into()), tonic::Code::PermissionDenied),
            (Error::NotFound("x".into()), tonic::Code::NotFound),
            (Error::Conflict("x".into()), tonic::Code::AlreadyExists),
            (Error::FailedPrecondition("x".into()), tonic::Code::FailedPrecondition),
            (Error::Aborted("x".into()), tonic::Code::Aborted),
            (Error::Unavailable("x".into()), tonic::Code::Unavailable),
        ];
        for (error, code) in cases {
            assert_eq!(tonic::Status::from(error).code(), code);
        }
        let internal = tonic::Status::from(Error::Internal(anyhow::anyhow!("secret detail")));
        assert_eq!(
            (internal.code(), internal.message()),
            (tonic::Code::Internal, "internal error")
        );
    }
}
