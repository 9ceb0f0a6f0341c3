//! Text fit for a log line or a failure reason: URLs without their secrets, error chains on one line, and at most
//! [`SNIPPET_CHARS`] characters of a remote answer.

use reqwest::Url;

use super::SNIPPET_CHARS;

/// `reason` followed by the start of a remote answer, when there is one.
pub(super) fn with_snippet(reason: String, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        reason
    } else {
        format!("{reason}: {}", clean(text, SNIPPET_CHARS))
    }
}

/// At most `max` characters of `text` on one line (control characters become spaces), marked when cut.
pub(super) fn clean(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
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
    fn snippets_are_one_line_and_capped() {
        let long = format!("line one\nline two {}", "x".repeat(500));
        let reason = with_snippet("deploy hook answered HTTP 500".into(), long.as_bytes());
        assert!(
            reason.starts_with("deploy hook answered HTTP 500: line one line two"),
            "{reason}"
        );
        assert!(!reason.contains('\n'));
        assert!(reason.chars().count() <= "deploy hook answered HTTP 500: ".len() + SNIPPET_CHARS + 1);
        assert_eq!(with_snippet("r".into(), b"  "), "r");
    }
}
