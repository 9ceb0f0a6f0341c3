//! One middleware for every response: a request id (accepted from `X-Request-Id` when sane, otherwise generated),
//! security headers (HSTS when served over HTTPS), request metrics by route template, an access-log span, and the
//! audit record of every mutating request ([`audit`]).

pub mod audit;

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use tracing::Instrument;

use crate::extract::RequestId;
use crate::state::AppState;

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; \
                   connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
                   frame-ancestors 'none'";

/// One year, subdomains included (no `preload`: that is the operator's decision, made at hstspreload.org).
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Whether the client's request came over HTTPS: what a trusted proxy says (`X-Forwarded-Proto`), else the
/// `public_https` setting. A peer that is not a trusted proxy cannot turn it on.
fn served_over_https(req: &ServiceRequest, state: &AppState) -> bool {
    let proxy_says = req.peer_addr().and_then(|peer| {
        let fields = req
            .headers()
            .get_all("x-forwarded-proto")
            .map(|v| v.to_str().unwrap_or_default());
        state.proxies.forwarded_https(peer.ip(), fields)
    });
    proxy_says.unwrap_or(state.public_https)
}

fn sane_request_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id: Arc<str> = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane_request_id(v))
        .map(Arc::from)
        .unwrap_or_else(|| Arc::from(uuid::Uuid::new_v4().to_string()));
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().as_str().to_owned();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let _in_flight = state.as_ref().map(|s| s.http_metrics.start());
    let https = state.as_ref().is_some_and(|s| served_over_https(&req, s));
    let audit = state
        .as_ref()
        .and_then(|s| s.audit.clone())
        .filter(|_| audit::is_mutating(req.method()));

    let span = tracing::info_span!(
        "http.request",
        otel.kind = "server",
        http.method = %method,
        http.route = %route,
        request_id = %id,
        trace_id = tracing::field::Empty
    );
    devopstrack_platform::telemetry::record_trace_id(&span);
    let result = next.call(req).instrument(span.clone()).await;
    let mut response = result?;

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(state) = &state {
        state.http_metrics.record(&method, &route, status, elapsed);
    }
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, elapsed_ms = elapsed.as_millis() as u64, "request failed");
        } else {
            tracing::debug!(status, elapsed_ms = elapsed.as_millis() as u64, "request");
        }
    });

    if let Some(audit) = audit {
        audit.record(audit::http_record(&response, &route, &id)).await;
    }

    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    set("x-request-id", &id);
    set("content-security-policy", CSP);
    set("x-content-type-options", "nosniff");
    set("referrer-policy", "no-referrer");
    set("x-frame-options", "DENY");
    set("cross-origin-opener-policy", "same-origin");
    set("permissions-policy", "camera=(), microphone=(), geolocation=()");
    if https {
        set("strict-transport-security", HSTS);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_must_be_short_visible_ascii() {
        assert!(super::sane_request_id("abc-123"));
        assert!(!super::sane_request_id(""));
        assert!(!super::sane_request_id("has space"));
        assert!(!super::sane_request_id(&"x".repeat(129)));
        assert!(!super::sane_request_id("naïve"));
    }
}
