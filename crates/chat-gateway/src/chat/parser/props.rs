//! Property tests of normalisation and parsing: random text (seeded, so a failure replays) of every kind — invisible
//! characters, quotes, accents, other scripts, any code point, invalid UTF-8 made lossy — never makes them panic,
//! stripping is idempotent, and invisible characters never change what a message means.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::chat::domain::{Intent, MessageText, Risk, is_invisible, strip_invisible};

use super::fixture::context;
use super::parse;
use super::table::rows;

const INVISIBLE: [char; 14] = [
    '\u{200B}',
    '\u{200C}',
    '\u{200D}',
    '\u{200E}',
    '\u{200F}',
    '\u{202A}',
    '\u{202E}',
    '\u{2060}',
    '\u{2066}',
    '\u{2069}',
    '\u{FEFF}',
    '\u{00AD}',
    '\u{E0041}',
    '\u{061C}',
];
const PIECES: [&str; 24] = [
    "deploy", "api", "2.5.0", "to", "prod", "déploie", "en", "#42", "api#7", "\"", "'", "`", "```", "«", "»", "don't",
    "ne", "pas", "last", "7", "days", "?", ",", "аpi",
];

fn random_char(rng: &mut StdRng) -> char {
    match rng.gen_range(0..6) {
        0 => INVISIBLE[rng.gen_range(0..INVISIBLE.len())],
        1 => rng.gen_range(' '..='~'),
        2 => ['é', 'è', 'à', 'ç', 'œ', 'É', '’', '\n', '\t', '\r'][rng.gen_range(0..10)],
        3 => rng.gen_range('\u{0400}'..='\u{04FF}'),
        _ => loop {
            if let Some(c) = char::from_u32(rng.gen_range(0..=0x10FFFF)) {
                break c;
            }
        },
    }
}

fn random_text(rng: &mut StdRng) -> String {
    let mut text = String::new();
    for _ in 0..rng.gen_range(0..40) {
        if rng.gen_bool(0.5) {
            text.push_str(PIECES[rng.gen_range(0..PIECES.len())]);
            text.push(' ');
        } else {
            text.push(random_char(rng));
        }
    }
    text
}

#[test]
fn stripping_is_idempotent_and_leaves_no_invisible_character() {
    let mut rng = StdRng::seed_from_u64(17);
    for _ in 0..5_000 {
        let text = random_text(&mut rng);
        let once = strip_invisible(&text);
        assert_eq!(strip_invisible(&once), once, "{text:?}");
        assert!(!once.chars().any(is_invisible), "{text:?} → {once:?}");
        if let Ok(message) = MessageText::parse(&text) {
            assert_eq!(MessageText::parse(message.as_str()).as_ref(), Ok(&message), "{text:?}");
        }
    }
}

#[test]
fn parsing_arbitrary_text_never_panics_and_keeps_the_invariants() {
    let mut rng = StdRng::seed_from_u64(1717);
    let rooms = ["general", "api", "web", "dm"];
    for round in 0..5_000 {
        let text = if round % 5 == 0 {
            let bytes: Vec<u8> = (0..rng.gen_range(0..200)).map(|_| rng.r#gen()).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            random_text(&mut rng)
        };
        let Ok(message) = MessageText::parse(&text) else {
            continue;
        };
        let parsed = parse(&message, &context(rooms[round % rooms.len()]));
        let allowed = [
            "intent",
            "project",
            "definition",
            "run",
            "version",
            "environment",
            "window",
        ];
        assert!(
            parsed.missing.iter().all(|m| allowed.contains(&m.param.as_str())),
            "{text:?}: {parsed:?}"
        );
        if parsed.intent == Intent::None {
            assert_eq!(
                (parsed.risk, parsed.params.clone()),
                (Risk::Read, Default::default()),
                "{text:?}"
            );
        }
        if parsed.intent.mutates() {
            assert!(parsed.risk >= Risk::Medium, "{text:?}: {parsed:?}");
        }
        if parsed.negated {
            assert_eq!(parsed.intent, Intent::None, "{text:?}");
        }
    }
}

#[test]
fn invisible_characters_never_change_what_a_message_means() {
    let mut rng = StdRng::seed_from_u64(2000);
    for row in rows() {
        let ctx = context(&row.room);
        let plain = parse(&MessageText::parse(&row.text).unwrap(), &ctx);
        for _ in 0..5 {
            let mut sneaky = String::new();
            for c in row.text.chars() {
                if rng.gen_bool(0.3) {
                    sneaky.push(INVISIBLE[rng.gen_range(0..INVISIBLE.len())]);
                }
                sneaky.push(c);
            }
            let got = parse(&MessageText::parse(&sneaky).unwrap(), &ctx);
            assert_eq!(got, plain, "line {}: {sneaky:?}", row.line);
        }
    }
}
