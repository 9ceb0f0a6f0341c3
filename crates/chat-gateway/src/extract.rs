//! Extractors: the authenticated caller, the client IP (behind [`forwarded`] proxies), the request id, query
//! parameters, and JSON bodies ([`body`]).

pub mod body;
pub mod forwarded;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures::future::{LocalBoxFuture, Ready, ready};

use devopstrack_platform::auth::{Principal, bearer};
use devopstrack_platform::grpc::retry_idempotent;

pub use self::body::{Json, MAX_BODY_BYTES, parse_body, parse_json};
use self::forwarded::TrustedProxies;
use crate::error::ApiError;
use crate::state::AppState;

/// A caller whose bearer token verified. Carries the raw token to forward to internal services.
pub struct Caller {
    pub principal: Principal,
    pub token: Arc<str>,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req.headers().get(actix_web::http::header::AUTHORIZATION).cloned();
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState missing")))?;
            let header = header.ok_or_else(|| ApiError::Unauthenticated("missing bearer token".into()))?;
            let value = header
                .to_str()
                .map_err(|_| ApiError::Unauthenticated("malformed authorization header".into()))?;
            let token = bearer(value)
                .ok_or_else(|| ApiError::Unauthenticated("expected Authorization: Bearer <token>".into()))?;
            let principal = state.verifier.verify(token).await?;
            // Who it was, for the request's audit record (crate::middleware::audit).
            req.extensions_mut().insert(principal.clone());
            Ok(Caller {
                principal,
                token: Arc::from(token),
            })
        })
    }
}

/// The request id the middleware assigned (or accepted from `X-Request-Id`).
#[derive(Clone, Debug)]
pub struct RequestId(pub Arc<str>);

impl FromRequest for RequestId {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(Arc::from("-")));
        ready(Ok(id))
    }
}

/// What a handler that calls a service as its caller extracts, in this order: the app's state (its clients), the
/// caller whose token verified (a 401 before anything else is read), and the request id.
pub struct Upstream {
    pub state: web::Data<AppState>,
    pub caller: Caller,
    pub id: RequestId,
}

impl FromRequest for Upstream {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let caller = Caller::from_request(req, payload);
        let id = RequestId::from_request(req, payload);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState missing")))?;
            Ok(Upstream {
                state,
                caller: caller.await?,
                id: id.await?,
            })
        })
    }
}

/// The client's IP: the peer's, or, when the peer is a trusted proxy, the rightmost `X-Forwarded-For` entry that is not
/// a trusted proxy (see [`forwarded`]). `None` only without a peer address (in-process test requests).
pub fn client_ip(req: &HttpRequest, proxies: &TrustedProxies) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    // A field that is not visible ASCII stays in the list as an entry that is no address, so the walk stops there.
    let fields = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|v| v.to_str().unwrap_or_default());
    Some(proxies.client_address(peer, fields))
}

/// Builds an upstream request carrying the caller's token and the request id.
pub fn upstream<T>(message: T, caller: Option<&Caller>, request_id: &RequestId) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    if let Some(caller) = caller
        && let Ok(value) = devopstrack_peers::clients::bearer(&caller.token)
    {
        metadata.insert("authorization", value);
    }
    if let Ok(value) = request_id.0.parse() {
        metadata.insert("x-request-id", value);
    }
    request
}

/// An idempotent read of an internal service as the caller: retried when the service blinks (UNAVAILABLE), never
/// used for writes. `call` picks the RPC on a clone of `client`.
pub async fn read_upstream<C, M, T, F, Fut>(
    client: &C,
    caller: &Caller,
    id: &RequestId,
    message: M,
    call: F,
) -> Result<T, ApiError>
where
    C: Clone,
    M: Clone,
    F: Fn(C, tonic::Request<M>) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let response = retry_idempotent(|| call(client.clone(), upstream(message.clone(), Some(caller), id))).await?;
    Ok(response.into_inner())
}

/// Query parameters whose errors name the parameter (`pageSize: invalid digit found in string`).
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

pub fn parse_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ApiError::invalid(format!("query: {inner}"))
        } else {
            ApiError::invalid(format!("{path}: {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_errors_name_the_parameter() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        #[allow(dead_code)]
        struct Page {
            page_size: Option<u32>,
        }
        for (query, want) in [
            ("pageSize=abc", "pageSize: "),
            ("pageSize=-1", "pageSize: "),
            ("bogus=1", "unknown field `bogus`"),
        ] {
            match parse_query::<Page>(query) {
                Err(ApiError::InvalidInput { message, .. }) => assert!(message.contains(want), "{query}: {message}"),
                other => panic!("{query}: expected InvalidInput, got {other:?}"),
            }
        }
        assert_eq!(parse_query::<Page>("pageSize=7").unwrap().page_size, Some(7));
    }
}
