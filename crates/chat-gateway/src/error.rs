//! The edge's errors: every one answers JSON `{"error":{"code","message"}}` with the right HTTP status, never a 500 for
//! bad input. Upstream gRPC statuses map here once.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `Retry-After` of a 503: a store or service that is down is usually back (or failed over) within seconds.
pub const RETRY_AFTER_SECS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400; `code` is machine-readable (`invalid_json`, `invalid_argument`, …), the message names the field.
    #[error("{message}")]
    InvalidInput { code: &'static str, message: String },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429 with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// 503 with `Retry-After` ([`RETRY_AFTER_SECS`]): a service or store is down, try again shortly.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            code: "invalid_argument",
            message: message.into(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidInput { code, .. } => code,
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::PermissionDenied(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::RateLimited { code, .. } => code,
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: String,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidInput { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::PermissionDenied(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = ?cause, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::RateLimited { retry_after_secs, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unauthenticated(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
            }
            _ => {}
        }
        response.json(Body {
            error: Detail {
                code: self.code(),
                message: self.to_string(),
            },
        })
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        use tonic::Code;
        let message = status.message().to_owned();
        match status.code() {
            Code::InvalidArgument | Code::OutOfRange => ApiError::InvalidInput {
                code: "invalid_argument",
                message,
            },
            Code::Unauthenticated => ApiError::Unauthenticated(message),
            Code::PermissionDenied => ApiError::PermissionDenied(message),
            Code::NotFound => ApiError::NotFound(message),
            Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => ApiError::Conflict(message),
            Code::ResourceExhausted => {
                let retry_after_secs = status
                    .metadata()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(60);
                let code = if message.starts_with("account_locked") {
                    "account_locked"
                } else {
                    "rate_limited"
                };
                ApiError::RateLimited {
                    code,
                    message,
                    retry_after_secs,
                }
            }
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                tracing::warn!(code = ?status.code(), %message, "upstream unavailable");
                ApiError::Unavailable("a backing service is unavailable; try again shortly".into())
            }
            Code::Ok | Code::Unknown | Code::Internal | Code::Unimplemented | Code::DataLoss => {
                ApiError::Internal(anyhow::anyhow!("upstream answered {:?}: {message}", status.code()))
            }
        }
    }
}

impl From<devopstrack_platform::auth::TokenError> for ApiError {
    fn from(e: devopstrack_platform::auth::TokenError) -> Self {
        use devopstrack_peers::refusal::{KEYS_UNAVAILABLE_MESSAGE, TokenRefusal};
        match TokenRefusal::from(e) {
            TokenRefusal::KeysUnavailable(reason) => {
                tracing::warn!(%reason, "cannot fetch the JWKS");
                ApiError::Unavailable(KEYS_UNAVAILABLE_MESSAGE.into())
            }
            TokenRefusal::Unauthenticated(message) => ApiError::Unauthenticated(message),
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Error, example = json!({"error": {"code": "not_found", "message": "project api does not exist"}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Machine-readable: `invalid_json`, `invalid_argument`, `unauthenticated`, `forbidden`, `not_found`, `conflict`,
    /// `payload_too_large`, `unsupported_media_type`, `rate_limited`, `account_locked`, `too_many_sockets`,
    /// `unavailable`, `internal`.
    pub code: String,
    /// For people; names the field at fault for `invalid_argument`.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    #[actix_web::test]
    async fn an_unavailable_upstream_is_a_503_with_retry_after_and_the_json_error_body() {
        let error = ApiError::from(tonic::Status::unavailable(
            "the tasks store is unavailable; retry shortly",
        ));

        let response = error.error_response();

        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some(RETRY_AFTER_SECS.to_string().as_str())
        );
        let body = to_bytes(response.into_body()).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }

    #[actix_web::test]
    async fn a_deadline_exceeded_upstream_is_a_503_too() {
        let response = ApiError::from(tonic::Status::deadline_exceeded("slow")).error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
}
