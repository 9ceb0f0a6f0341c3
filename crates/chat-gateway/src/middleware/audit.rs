//! The edge's audit trail: one record per mutating request (POST, PUT, PATCH, DELETE) in the chat store's
//! hash-chained trail, kind `http.<METHOD> <route pattern>`: who (the verified caller, else `anonymous`), what (the
//! route's pattern, never the raw path), the target (the created resource's `Location`, else the path's
//! parameters, else the pattern), the result (the status), the client address and the request id. Never a body, a
//! query string or a token; the login route adds the attempted account when it looks like one
//! ([`AttemptedLogin`]).
//!
//! The record is written after the answer, off the request's path: it is queued ([`crate::audit_log::AuditLog::record`]) and a
//! single writer commits what is queued in one transaction per batch (up to [`crate::audit_log::MAX_BATCH`]), so a burst of writes
//! costs one store commit per batch, not one per request. A full queue holds the request back (up to
//! [`crate::audit_log::QUEUE_WAIT`]) rather than drop its record. On shutdown the writer commits everything queued before it returns.
//! What a crash (kill -9) can lose: the records of the requests answered in the last moments before it, still
//! queued — the requests' own effects are durable in their services; the chat's actions and decisions are audited
//! in their own transactions and lose nothing.

use actix_web::HttpMessage;
use actix_web::dev::ServiceResponse;
use actix_web::http::Method;
use chrono::Utc;

use devopstrack_platform::auth::Principal;

use crate::chat::store::{AuditActor, NewAuditRecord};
use crate::extract::client_ip;
use crate::state::AppState;

/// Whether a request changes something (and so is audited).
pub fn is_mutating(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// The account a login tried, set by the login route when it looks like an email address (so never a password
/// typed in the wrong field).
#[derive(Debug, Clone)]
pub struct AttemptedLogin(String);

impl AttemptedLogin {
    pub fn of(email: &str) -> Option<Self> {
        let (local, domain) = email.split_once('@')?;
        let plausible = email.len() <= 254
            && !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.contains(char::is_whitespace)
            && !email.chars().any(char::is_control)
            && email.matches('@').count() == 1;
        plausible.then(|| Self(email.to_owned()))
    }
}

/// The record of a mutating request: `route` is its matched pattern (`unmatched` for none), `request_id` the id the
/// edge answered with.
pub fn http_record<B>(response: &ServiceResponse<B>, route: &str, request_id: &str) -> NewAuditRecord {
    let req = response.request();
    let actor = match req.extensions().get::<Principal>() {
        Some(principal) => AuditActor {
            subject: principal.subject.clone(),
            name: line(
                if principal.name.trim().is_empty() {
                    &principal.subject
                } else {
                    &principal.name
                },
                200,
            ),
            role: Some(principal.role),
        },
        None => AuditActor {
            subject: "anonymous".into(),
            name: "anonymous".into(),
            role: None,
        },
    };
    let mut details = serde_json::json!({});
    if let Some(AttemptedLogin(email)) = req.extensions().get::<AttemptedLogin>() {
        details["attemptedEmail"] = email.clone().into();
    }
    let source = req
        .app_data::<actix_web::web::Data<AppState>>()
        .and_then(|state| client_ip(req, &state.proxies))
        .map(|ip| ip.to_string());
    NewAuditRecord {
        at: Utc::now(),
        actor,
        kind: line(&format!("http.{} {route}", req.method()), 120),
        target: line(&target(response, route), 300),
        result: response.status().as_u16().to_string(),
        source,
        request_id: Some(line(request_id, 128)),
        details,
    }
}

/// What the request was done to: the created resource (`Location`), else the path's parameters, else the route.
fn target<B>(response: &ServiceResponse<B>, route: &str) -> String {
    let location = response
        .headers()
        .get(actix_web::http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    if let Some(location) = location {
        return location.split('?').next().unwrap_or(location).to_owned();
    }
    let params: Vec<String> = response
        .request()
        .match_info()
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    if params.is_empty() {
        route.to_owned()
    } else {
        params.join(" ")
    }
}

/// `text` fit for one audit field: control characters out, at most `max` characters, never empty.
fn line(text: &str, max: usize) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).take(max).collect();
    if clean.trim().is_empty() { "-".into() } else { clean }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_address_shaped_logins_are_kept() {
        assert!(AttemptedLogin::of("ada@example.com").is_some());
        for not_an_address in [
            "",
            "hunter2hunter2",
            "p@ssw0rd",
            "two words@example.com",
            "a@b@example.com",
            "@example.com",
            "ada@example.",
        ] {
            assert!(AttemptedLogin::of(not_an_address).is_none(), "{not_an_address:?}");
        }
    }

    #[test]
    fn fields_lose_control_characters_and_are_never_empty() {
        assert_eq!(line("a\nb\tc", 10), "abc");
        assert_eq!(line("\n", 10), "-");
        assert_eq!(line("abcdef", 3), "abc");
        assert!(is_mutating(&Method::DELETE) && !is_mutating(&Method::GET) && !is_mutating(&Method::HEAD));
    }
}
