//! The phrasing table (`tests/data/chat_phrasings.tsv`): every row a message, the room it is written in, and the
//! intent, params, risk, missing params and flags the rule parser must give. The test prints every mismatch, not
//! just the first, and how many rows each category has.
//!
//! Columns, tab-separated: category, room (`general`, `dm` or a project slug for its room), text (`\n`, `\t`,
//! `\u{200B}` escapes), intent, params (`project=api version=2.5.0 …` or `-`: exactly these), risk, missing
//! (`version,environment`; `project:api|web` also checks the suggestions, `project:` that there are none; `-`:
//! nothing missing), flags (`neg` negated, `en`/`fr` the language; `-`).

use std::collections::BTreeMap;
use std::time::Instant;

use crate::chat::domain::{Intent, Language, MessageText, Params, Parsed, Risk, Window};

use super::fixture::context;
use super::parse;

const TABLE: &str = include_str!("../../../tests/data/chat_phrasings.tsv");

pub struct Row {
    pub line: usize,
    pub category: String,
    pub room: String,
    pub text: String,
    intent: String,
    params: String,
    risk: String,
    missing: String,
    flags: String,
}

fn unescape(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let (c, used) = match tail.chars().next() {
            Some('n') => ('\n', 1),
            Some('t') => ('\t', 1),
            Some('u') if tail.starts_with("u{") => {
                let end = tail.find('}').expect("\\u{…} is closed");
                let code = u32::from_str_radix(&tail[2..end], 16).expect("hex code point");
                (char::from_u32(code).expect("a scalar value"), end + 1)
            }
            _ => ('\\', 0),
        };
        out.push(c);
        rest = &tail[used..];
    }
    out.push_str(rest);
    out
}

pub fn rows() -> Vec<Row> {
    TABLE
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(
                cols.len(),
                8,
                "line {}: 8 tab-separated columns, got {}: {l}",
                i + 1,
                cols.len()
            );
            Row {
                line: i + 1,
                category: cols[0].into(),
                room: cols[1].into(),
                text: unescape(cols[2]),
                intent: cols[3].into(),
                params: cols[4].into(),
                risk: cols[5].into(),
                missing: cols[6].into(),
                flags: cols[7].into(),
            }
        })
        .collect()
}

fn expected_params(raw: &str) -> Result<Params, String> {
    let mut p = Params::default();
    for pair in raw.split_whitespace().filter(|s| *s != "-") {
        let (k, v) = pair.split_once('=').ok_or(format!("{pair}: not key=value"))?;
        match k {
            "project" => p.project = Some(v.into()),
            "definition" => p.definition = Some(v.into()),
            "run" => p.run = Some(v.parse().map_err(|_| format!("run={v}"))?),
            "version" => p.version = Some(v.into()),
            "environment" => p.environment = Some(v.into()),
            "window" => p.window = Some(Window::parse(v)?),
            _ => return Err(format!("unknown param {k}")),
        }
    }
    Ok(p)
}

/// Every difference between a row and what the parser gave.
fn differences(row: &Row, got: &Parsed) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut check = |what: &str, want: String, got: String| {
        if want != got {
            diffs.push(format!("{what}: want {want}, got {got}"));
        }
    };
    check("intent", row.intent.clone(), got.intent.as_str().into());
    match expected_params(&row.params) {
        Ok(want) => check("params", format!("{want:?}"), format!("{:?}", got.params)),
        Err(e) => check("params column", "valid".into(), e),
    }
    check("risk", row.risk.clone(), got.risk.as_str().into());
    let want_missing: Vec<&str> = row.missing.split(',').filter(|s| *s != "-" && !s.is_empty()).collect();
    let got_params: Vec<&str> = got.missing.iter().map(|m| m.param.as_str()).collect();
    let want_params: Vec<&str> = want_missing.iter().map(|m| m.split(':').next().unwrap_or("")).collect();
    check("missing", format!("{want_params:?}"), format!("{got_params:?}"));
    for (want, got) in want_missing.iter().zip(&got.missing) {
        if let Some((_, s)) = want.split_once(':') {
            let want_s: Vec<&str> = s.split('|').filter(|s| !s.is_empty()).collect();
            check(
                &format!("suggestions of {}", got.param),
                format!("{want_s:?}"),
                format!("{:?}", got.suggestions),
            );
        }
    }
    let flags: Vec<&str> = row.flags.split(',').collect();
    check("negated", flags.contains(&"neg").to_string(), got.negated.to_string());
    for (flag, lang) in [("en", Language::En), ("fr", Language::Fr)] {
        if flags.contains(&flag) {
            check("language", format!("{lang:?}"), format!("{:?}", got.language));
        }
    }
    diffs
}

#[test]
fn every_phrasing_of_the_table_parses_as_expected() {
    let rows = rows();
    let mut failures = Vec::new();
    let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
    let started = Instant::now();
    for row in &rows {
        *by_category.entry(row.category.as_str()).or_default() += 1;
        let text = MessageText::parse(&row.text).expect("table texts are valid messages");
        let got = parse(&text, &context(&row.room));
        let diffs = differences(row, &got);
        if !diffs.is_empty() {
            failures.push(format!(
                "line {} [{}] {:?}\n    {}",
                row.line,
                row.room,
                row.text,
                diffs.join("\n    ")
            ));
        }
    }
    let elapsed = started.elapsed();
    eprintln!("{} phrasings by category: {by_category:?}", rows.len());
    eprintln!(
        "parsed in {elapsed:?} ({:?} a message, this build profile)",
        elapsed / rows.len().max(1) as u32
    );
    assert!(
        failures.is_empty(),
        "{} of {} phrasings differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    assert!(
        rows.len() >= 300,
        "the table has {} phrasings, at least 300 wanted",
        rows.len()
    );
}

#[test]
fn the_table_covers_every_intent_both_languages_and_every_risk() {
    let rows = rows();
    for intent in Intent::ALL {
        assert!(
            rows.iter().any(|r| r.intent == intent.as_str()),
            "no row for {}",
            intent.as_str()
        );
    }
    for risk in [Risk::Read, Risk::Medium, Risk::High, Risk::Critical] {
        assert!(
            rows.iter().any(|r| r.risk == risk.as_str()),
            "no row with risk {}",
            risk.as_str()
        );
    }
    for lang in ["en", "fr"] {
        assert!(
            rows.iter().filter(|r| r.category.starts_with(lang)).count() >= 100,
            "fewer than 100 {lang} rows"
        );
    }
}

/// `cargo test --release -p devopstrack-gateway --lib parse_latency -- --ignored --nocapture`
#[test]
#[ignore = "a timing to read, not a check: run with --release"]
fn parse_latency_over_the_table() {
    let rows = rows();
    let inputs: Vec<_> = rows
        .iter()
        .map(|r| (MessageText::parse(&r.text).unwrap(), context(&r.room)))
        .collect();
    let rounds = 200;
    let started = Instant::now();
    for _ in 0..rounds {
        for (text, ctx) in &inputs {
            std::hint::black_box(parse(text, ctx));
        }
    }
    let per = started.elapsed() / (rounds * inputs.len()) as u32;
    eprintln!("{} messages x {rounds} rounds: {per:?} a message", inputs.len());
}
