//! The one mapping of a refused access token to what the caller is told: a token that does not check out is
//! UNAUTHENTICATED (401), keys that cannot be fetched are UNAVAILABLE (503), never the other way round, so a caller
//! with a good token is not logged out because auth blinked.

use tonic::metadata::MetadataMap;

use devopstrack_platform::auth::{JwtVerifier, Principal, TokenError};

/// What an edge tells its caller instead of the reason the keys could not be fetched (that reason is for the log).
pub const KEYS_UNAVAILABLE_MESSAGE: &str = "cannot verify tokens right now; try again shortly";

/// A refused access token, as the caller must hear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRefusal {
    /// The token is missing, malformed, expired, signed by an unknown key or otherwise invalid: the message says
    /// which, for the caller.
    Unauthenticated(String),
    /// The keys could not be fetched: try again later. The reason names the dependency that failed.
    KeysUnavailable(String),
}

impl From<TokenError> for TokenRefusal {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::KeysUnavailable(reason) => Self::KeysUnavailable(reason),
            TokenError::Missing
            | TokenError::Malformed
            | TokenError::UnknownKey
            | TokenError::Expired
            | TokenError::Invalid(_) => Self::Unauthenticated(error.to_string()),
        }
    }
}

impl From<TokenRefusal> for tonic::Status {
    fn from(refusal: TokenRefusal) -> Self {
        match refusal {
            TokenRefusal::Unauthenticated(message) => Self::unauthenticated(message),
            TokenRefusal::KeysUnavailable(reason) => Self::unavailable(reason),
        }
    }
}

/// The caller of a gRPC call, from its `authorization: Bearer …` metadata: UNAUTHENTICATED or UNAVAILABLE otherwise.
#[allow(clippy::result_large_err)] // tonic::Status is what every gRPC handler answers
pub async fn authenticate(verifier: &JwtVerifier, metadata: &MetadataMap) -> Result<Principal, tonic::Status> {
    verifier
        .verify_metadata(metadata)
        .await
        .map_err(|error| TokenRefusal::from(error).into())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_bad_token_is_unauthenticated_and_unreachable_keys_are_unavailable() {
        let cases = [
            (
                TokenError::Missing,
                tonic::Code::Unauthenticated,
                "missing bearer token",
            ),
            (TokenError::Malformed, tonic::Code::Unauthenticated, "malformed token"),
            (
                TokenError::UnknownKey,
                tonic::Code::Unauthenticated,
                "token signed by an unknown key",
            ),
            (TokenError::Expired, tonic::Code::Unauthenticated, "token expired"),
            (
                TokenError::Invalid("wrong audience"),
                tonic::Code::Unauthenticated,
                "invalid token: wrong audience",
            ),
            (
                TokenError::KeysUnavailable("auth GetJwks: Unavailable down".into()),
                tonic::Code::Unavailable,
                "auth GetJwks: Unavailable down",
            ),
        ];
        for (error, code, message) in cases {
            let status = tonic::Status::from(TokenRefusal::from(error));
            assert_eq!((status.code(), status.message()), (code, message));
        }
    }

    #[tokio::test]
    async fn a_call_without_a_token_is_unauthenticated_and_auth_down_is_unavailable() {
        let down = JwtVerifier::new(
            "devopstrack",
            "devopstrack",
            Arc::new(|| Box::pin(async { Err("auth GetJwks: Unavailable connection refused".to_owned()) })),
        );
        let mut metadata = MetadataMap::new();

        let missing = authenticate(&down, &metadata).await.unwrap_err();
        metadata.insert(
            "authorization",
            "Bearer eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.e30.c2ln".parse().unwrap(),
        );
        let unavailable = authenticate(&down, &metadata).await.unwrap_err();

        assert_eq!(missing.code(), tonic::Code::Unauthenticated);
        assert_eq!(unavailable.code(), tonic::Code::Unavailable);
        assert!(
            unavailable.message().contains("connection refused"),
            "{}",
            unavailable.message()
        );
    }
}
