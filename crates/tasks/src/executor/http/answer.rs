//! Reading what the hook answers: bodies capped at [`MAX_BODY_BYTES`], the status URL to follow (which, like every
//! redirect, stays on the hook's origin unless the job names it; the destination policy applies to it as to the
//! hook) and the status documents found there.

use reqwest::Url;
use serde_json::Value;

use super::text::{clean, excerpt, redact};
use super::{MAX_BODY_BYTES, failed};
use crate::domain::Outcome;
use crate::domain::spec::HttpParams;

/// A response body read up to [`MAX_BODY_BYTES`].
pub(super) struct Body {
    pub(super) bytes: Vec<u8>,
    pub(super) truncated: bool,
}

/// What one poll of the status URL tells.
pub(super) enum Poll {
    /// A status document; `Some` when the remote deploy ended.
    Status { status: String, outcome: Option<Outcome> },
    /// Worth another try after the poll interval.
    Transient(String),
    /// The status URL will not work (a 4xx other than 408/429, a redirect elsewhere): the attempt fails now.
    Fatal(String),
}

/// The URL to poll: the job's `statusUrl`, else the answer's JSON `statusUrl`, else its `Location`. One the hook
/// names must stay on the hook's origin: a hook must not point the worker at arbitrary hosts (cloud metadata, say).
pub(super) fn status_url(
    params: &HttpParams,
    hook: &Url,
    answered: &Url,
    body: &Body,
    location: Option<&str>,
) -> Result<Option<Url>, String> {
    if let Some(raw) = &params.status_url {
        return Url::parse(raw)
            .map(Some)
            .map_err(|e| format!("statusUrl is invalid: {e}"));
    }
    let from_body = (!body.truncated)
        .then(|| serde_json::from_slice::<Value>(&body.bytes).ok())
        .flatten()
        .and_then(|doc| doc.get("statusUrl")?.as_str().map(str::to_owned));
    let Some(raw) = from_body.as_deref().or(location) else {
        return Ok(None);
    };
    let url = answered
        .join(raw)
        .map_err(|e| format!("the hook's status URL is invalid: {e}"))?;
    if origin(&url) != origin(hook) {
        return Err(format!(
            "the hook's status URL {} is not on the hook's origin; set params.statusUrl to poll another host",
            redact(&url)
        ));
    }
    Ok(Some(url))
}

/// Reads `{"status": …, "message"|"reason": …}`; a document without a string `status` is not a status (yet).
pub(super) fn parse_status(bytes: &[u8]) -> Poll {
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(doc) => doc,
        Err(e) => return Poll::Transient(format!("answer is not JSON: {e}")),
    };
    let Some(raw) = doc.get("status").and_then(Value::as_str) else {
        return Poll::Transient("answer has no string \"status\"".to_owned());
    };
    let status = clean(raw.trim(), 64);
    let message = ["message", "reason"]
        .iter()
        .find_map(|key| doc.get(*key)?.as_str().and_then(excerpt));
    let outcome = match status.to_ascii_lowercase().as_str() {
        "succeeded" | "success" => Some(Outcome::Succeeded),
        "failed" | "failure" | "error" => Some(failed(match message {
            Some(message) => format!("deploy hook reported {status}: {message}"),
            None => format!("deploy hook reported {status}"),
        })),
        "timed_out" => Some(Outcome::TimedOut),
        _ => None,
    };
    Poll::Status { status, outcome }
}

/// What makes two URLs the same origin: scheme, host and port.
pub(super) fn origin(url: &Url) -> (&str, Option<&str>, Option<u16>) {
    (url.scheme(), url.host_str(), url.port_or_known_default())
}

pub(super) async fn read_capped(mut response: reqwest::Response) -> Result<Body, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY_BYTES - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Body { bytes, truncated: true });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body {
        bytes,
        truncated: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_statuses_map_to_outcomes_and_others_keep_polling() {
        let cases = [
            (r#"{"status":"succeeded"}"#, Some(Outcome::Succeeded)),
            (r#"{"status":"SUCCESS"}"#, Some(Outcome::Succeeded)),
            (r#"{"status":"timed_out"}"#, Some(Outcome::TimedOut)),
            (
                r#"{"status":"failed","message":"helm upgrade failed"}"#,
                Some(failed("deploy hook reported failed: helm upgrade failed".into())),
            ),
            (
                r#"{"status":"error","reason":"quota"}"#,
                Some(failed("deploy hook reported error: quota".into())),
            ),
            (
                r#"{"status":"failure"}"#,
                Some(failed("deploy hook reported failure".into())),
            ),
            (r#"{"status":"running"}"#, None),
            (r#"{"status":"queued","message":"x"}"#, None),
        ];
        for (doc, want) in cases {
            match parse_status(doc.as_bytes()) {
                Poll::Status { outcome, .. } => assert_eq!(outcome, want, "{doc}"),
                _ => panic!("{doc} should be a status"),
            }
        }
    }

    #[test]
    fn documents_without_a_string_status_are_transient_errors() {
        for doc in ["not json", "{}", r#"{"status": 3}"#, "[]"] {
            assert!(matches!(parse_status(doc.as_bytes()), Poll::Transient(_)), "{doc}");
        }
    }
}
