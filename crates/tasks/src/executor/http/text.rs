//! Text fit for a log line or a failure reason, which every viewer of the job reads: URLs without their secrets,
//! error chains on one line, and at most [`EXCERPT_CHARS`] characters of what a remote answer says about itself.
//!
//! A hook's answer is quoted only from a JSON document's own top-level `message`, `reason`, `error` or `detail` string,
//! never as a raw body: an error page, a plain-text or HTML body, or a JSON error shaped like this platform's own
//! (`{"error": {"code", "message"}}`) is not echoed, so pointing a hook at some internal endpoint does not turn a
//! failed job into a way of reading that endpoint. Quoted text loses its control and invisible formatting characters
//! (bidirectional overrides included), has its whitespace collapsed, and is cut at [`EXCERPT_CHARS`].

use reqwest::Url;
use serde_json::Value;

use super::EXCERPT_CHARS;

/// `reason`, followed by what the answer's JSON says of itself when it says something.
pub(super) fn with_excerpt(reason: String, body: &[u8]) -> String {
    let said = serde_json::from_slice::<Value>(body).ok().and_then(|doc| {
        ["message", "reason", "error", "detail"]
            .iter()
            .find_map(|key| doc.get(*key)?.as_str().and_then(excerpt))
    });
    match said {
        Some(said) => format!("{reason}: {said}"),
        None => reason,
    }
}

/// At most [`EXCERPT_CHARS`] characters of remote text on one line, or `None` when nothing printable is left.
pub(super) fn excerpt(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let clean = clean(&words.join(" "), EXCERPT_CHARS);
    (!clean.is_empty()).then_some(clean)
}

/// At most `max` characters of `text` on one line (control characters become spaces, invisible formatting characters
/// are dropped), marked when cut.
pub(super) fn clean(text: &str, max: usize) -> String {
    let mut kept = text.chars().filter(|c| !is_invisible(*c));
    let mut out: String = kept
        .by_ref()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if kept.next().is_some() {
        out.push('…');
    }
    out
}

/// Unicode format characters that change how text reads without showing: bidirectional controls and overrides,
/// zero-width characters, the soft hyphen, the byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}

/// The URL without credentials, query or fragment (`?…` marks a dropped query): fit for a log line.
pub(super) fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    let mut shown = shown.to_string();
    if url.query().is_some() {
        shown.push_str("?…");
    }
    shown
}

/// The error and its causes on one line, without the URL (which may carry a token in its query).
pub(super) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    clean(&text, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_keep_the_path_and_drop_query_and_credentials() {
        let url = Url::parse("https://user:pw@deploy.example:8443/hooks/api?token=s3cret#frag").unwrap();
        assert_eq!(redact(&url), "https://deploy.example:8443/hooks/api?…");
        let plain = Url::parse("http://deploy.example/status/7").unwrap();
        assert_eq!(redact(&plain), "http://deploy.example/status/7");
    }

    #[test]
    fn only_a_json_message_is_quoted_on_one_line_without_invisible_characters_and_capped() {
        let long = format!("line one\nline\ttwo \u{202E}evil\u{202C} {}", "x".repeat(500));
        let json = serde_json::json!({ "message": long }).to_string();

        let reason = with_excerpt("deploy hook answered HTTP 500".into(), json.as_bytes());

        assert!(
            reason.starts_with("deploy hook answered HTTP 500: line one line two evil xxx"),
            "{reason}"
        );
        assert!(!reason.contains('\n') && !reason.contains('\u{202E}'));
        let quoted = reason.strip_prefix("deploy hook answered HTTP 500: ").unwrap();
        assert_eq!(quoted.chars().count(), EXCERPT_CHARS + 1, "cut and marked: {quoted}");
    }

    #[test]
    fn raw_bodies_and_nested_json_errors_are_not_quoted() {
        let bodies: [&[u8]; 6] = [
            b"database password is hunter2",
            b"<html><body>Internal Server Error</body></html>",
            br#"{"error":{"code":"forbidden","message":"admin port"}}"#,
            br#"{"message": "   "}"#,
            br#"["message"]"#,
            b"",
        ];
        for body in bodies {
            assert_eq!(
                with_excerpt("answered HTTP 405".into(), body),
                "answered HTTP 405",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(
            with_excerpt("answered HTTP 409".into(), br#"{"error":"deploy already running"}"#),
            "answered HTTP 409: deploy already running"
        );
    }
}
