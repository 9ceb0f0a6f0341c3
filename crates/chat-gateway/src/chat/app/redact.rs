//! Secrets out of job log lines before they reach a room: a failed job's log is hostile text that may echo a token,
//! a password or a credentialed URL. Each match keeps its label and loses its value (`password=***`).

use std::sync::LazyLock;

use regex::Regex;

/// The longest line shown; longer lines are cut and marked.
pub const MAX_LINE_CHARS: usize = 300;

static RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // key=value / key: value for secret-sounding keys (quotes kept out of the value).
        (
            r#"(?i)\b([a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)[a-z0-9_.-]*)(["']?\s*[:=]\s*["']?)[^\s"',;&]+"#,
            "$1$2***",
        ),
        // Authorization headers.
        (r"(?i)\b(authorization\s*:\s*(?:bearer|basic|token)\s+)\S+", "$1***"),
        (r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}", "$1***"),
        // Credentials in URLs.
        (r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@", "$1***@"),
        // Well-known token shapes: DevOpsTrack API tokens, GitHub, AWS access keys, Slack, JWTs.
        (r"\bdtk_[A-Za-z0-9_-]{8,}", "dtk_***"),
        (r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})", "gh***"),
        (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "AKIA***"),
        (r"\bxox[abprs]-[A-Za-z0-9-]{10,}", "xox***"),
        (r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", "***.jwt.***"),
        // PEM private keys (a header line is enough to hide the line).
        (r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*", "-----BEGIN PRIVATE KEY----- ***"),
    ]
    .into_iter()
    .map(|(pattern, replacement)| (Regex::new(pattern).expect("a valid redaction pattern"), replacement))
    .collect()
});

/// One log line fit for a room: secrets masked, control characters dropped, at most [`MAX_LINE_CHARS`].
pub fn redact_line(line: &str) -> String {
    let mut text: String = crate::chat::domain::strip_invisible(line)
        .chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect();
    for (rule, replacement) in RULES.iter() {
        text = rule.replace_all(&text, *replacement).into_owned();
    }
    if text.chars().count() > MAX_LINE_CHARS {
        text = text.chars().take(MAX_LINE_CHARS).collect::<String>() + "…";
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_lose_their_values_and_keep_their_labels() {
        let cases = [
            ("export DB_PASSWORD=hunter2hunter2", "export DB_PASSWORD=***"),
            (r#"{"api_key": "abc123def456"}"#, r#"{"api_key": "***"}"#),
            ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer ***"),
            (
                "cloning https://bot:s3cr3t@github.com/acme/api.git",
                "cloning https://bot:***@github.com/acme/api.git",
            ),
            ("using dtk_0123456789abcdef", "using dtk_***"),
            ("token ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123", "token gh***"),
            ("aws AKIAIOSFODNN7EXAMPLE ok", "aws AKIA*** ok"),
            (
                "jwt eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl",
                "jwt ***.jwt.***",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY----- MIIEow",
                "-----BEGIN PRIVATE KEY----- ***",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(redact_line(line), want, "{line}");
        }
    }

    #[test]
    fn plain_lines_pass_and_hostile_ones_are_tamed() {
        assert_eq!(
            redact_line("step 3/5: compiling api v2.5.0"),
            "step 3/5: compiling api v2.5.0"
        );
        let hostile = format!("evil\u{202E}txt\u{1b}[31m {}", "x".repeat(400));
        let shown = redact_line(&hostile);
        assert!(!shown.contains('\u{202E}') && !shown.contains('\u{1b}'));
        assert_eq!(shown.chars().count(), MAX_LINE_CHARS + 1);
    }
}
