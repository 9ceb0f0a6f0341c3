//! The tasks service's rules.

use super::super::*;
use super::{agree, long};

#[test]
fn pipeline_names_keys_and_reasons_are_the_tasks_rules() {
    let name63 = long("a", 63);
    let name64 = long("a", 64);
    agree::<StepName>(
        |s| devopstrack_tasks::domain::spec::Name::parse(s).is_ok(),
        &[
            "build",
            "unit-tests",
            "v1.2_x",
            "0",
            name63.as_str(),
            name64.as_str(),
            "",
            "-x",
            "Build",
            "a b",
            "a/b",
        ],
    );
    // tasks' create_pipeline: a deploy's version (empty: no deploy).
    let version_rule = |s: &str| s.chars().count() <= 64 && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    let v64 = long("ü", 64);
    let v65 = long("ü", 65);
    agree::<PipelineVersion>(
        version_rule,
        &[
            "",
            "1.4.0",
            "v2 beta",
            v64.as_str(),
            v65.as_str(),
            "1.0\u{85}",
            "1.0\u{3000}",
        ],
    );
    // tasks' create_pipeline: empty for none, else 1..=64 of [A-Za-z0-9._:-], and not the reserved `gh:` prefix.
    let key_rule = |s: &str| {
        s.is_empty()
            || ((1..=64).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
                && !s.starts_with("gh:"))
    };
    let key64 = long("k", 64);
    let key65 = long("k", 65);
    let g64 = format!("g{}", long("k", 63));
    let gh64 = format!("gh{}", long("k", 62));
    agree::<IdempotencyKey>(
        key_rule,
        &[
            "",
            "ci-run-4711",
            "g",
            "gh",
            "gh-1",
            "ghx:1",
            "gx:1",
            "g:h",
            ":gh:",
            "gh:",
            "gh:1",
            "GH:1",
            key64.as_str(),
            key65.as_str(),
            g64.as_str(),
            gh64.as_str(),
            "a b",
            "a/b",
        ],
    );
    // tasks' reject_job: trimmed, 1..=500 characters, no control characters but new lines.
    let reason_rule = |s: &str| {
        let t = s.trim();
        (1..=500).contains(&t.chars().count()) && !t.chars().any(|c| c.is_control() && c != '\n')
    };
    let reason500 = long("r", 500);
    let reason501 = long("r", 501);
    agree::<RejectReason>(
        reason_rule,
        &[
            "not now",
            " padded ",
            "two\nlines",
            reason500.as_str(),
            reason501.as_str(),
            "",
            "  ",
            "tab\there",
            "\tleading tab is trimmed",
        ],
    );
}
