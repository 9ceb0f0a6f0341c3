//! The metrics service's errors, and their one mapping to gRPC status codes (every variant, no `_` arm).

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field failed validation; the message starts with the field path (`runs[3].finished_at: …`).
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// The write buffer is full or the store is down: retry later (nothing was stored from this call).
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
            (Error::invalid("runs[0].project", "bad"), tonic::Code::InvalidArgument),
            (Error::Unauthenticated("x".into()), tonic::Code::Unauthenticated),
            (Error::PermissionDenied("x".into()), tonic::Code::PermissionDenied),
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
