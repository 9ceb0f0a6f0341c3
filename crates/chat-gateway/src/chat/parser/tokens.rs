//! Splitting the unquoted text into tokens: words (with their folded form), numbers, versions (`2.5.0`,
//! `v1.4.0-rc.1`), run references (`api#42`, `#42`) and the separators that may end a clause (`,` `;` `.` `?` …).
//! French elisions (`l'api`, `n'annule`) and pronouns after a verb (`annule-le`) are split off.

use super::lexicon::{self, Kw, L};
use super::text::fold;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokKind {
    /// A word; `kw` is what the lexicon knows it as (exactly; typos are looked up later, against the context too).
    Word {
        kw: Option<Kw>,
        lang: L,
    },
    Number(u64),
    /// A version label, as written (case kept).
    Version,
    /// `api#42` (project as folded) or `#42`.
    RunRef {
        project: Option<String>,
        number: u64,
    },
    /// A clause separator: `,` `;` `.` `!` `?` `:` `&` `|` or a line break (as `\n`).
    Sep(char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub raw: String,
    pub norm: String,
    pub kind: TokKind,
}

impl Token {
    fn word(raw: &str) -> Token {
        let norm = fold(raw);
        let (kw, lang) = lexicon::exact(&norm).map_or((None, L::N), |(k, l)| (Some(k), l));
        Token {
            raw: raw.to_owned(),
            norm,
            kind: TokKind::Word { kw, lang },
        }
    }
}

fn is_connector(c: char) -> bool {
    matches!(c, '.' | '-' | '_' | '+' | '#' | '\'' | '\u{2019}')
}

fn sep_of(c: char) -> Option<char> {
    match c {
        ',' | ';' | '.' | '!' | '?' | ':' | '&' | '|' => Some(c),
        '\n' => Some('\n'),
        '\u{2014}' | '\u{2013}' => Some(';'),
        '>' => Some(';'),
        '\u{FF1F}' | '\u{00BF}' => Some('?'),
        _ => None,
    }
}

/// Cuts the text into raw pieces: runs of word characters (letters, digits, and connectors between them) and
/// single separators.
fn pieces(text: &str) -> Vec<(String, bool)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let next_alnum = chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        let starts_run_ref = c == '#' && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if c.is_alphanumeric() || (is_connector(c) && next_alnum && (!current.is_empty() || starts_run_ref)) {
            current.push(c);
            continue;
        }
        if !current.is_empty() {
            out.push((std::mem::take(&mut current), false));
        }
        if let Some(sep) = sep_of(c) {
            out.push((sep.to_string(), true));
        }
    }
    if !current.is_empty() {
        out.push((current, false));
    }
    out
}

const ELISIONS: [&str; 12] = [
    "l", "d", "n", "j", "s", "c", "m", "t", "qu", "jusqu", "lorsqu", "puisqu",
];
const PRONOUNS: [&str; 10] = ["le", "la", "les", "moi", "toi", "lui", "leur", "nous", "vous", "y"];

fn is_version(raw: &str) -> bool {
    let body = raw.strip_prefix(['v', 'V']).unwrap_or(raw);
    let core_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let core = &body[..core_end];
    let rest = &body[core_end..];
    let numeric_core = !core.is_empty()
        && core
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    let dotted = core.contains('.') || (raw.len() > body.len() && rest.is_empty());
    let tail_ok = rest.is_empty()
        || (rest.starts_with(['-', '+', '_', '.'])
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-+_.".contains(&b)));
    raw.len() <= 64 && numeric_core && dotted && tail_ok
}

fn classify(raw: &str, out: &mut Vec<Token>) {
    let norm = fold(raw);
    // French elision: l'api → l' + api.
    if let Some((head, tail)) = norm.split_once('\'')
        && ELISIONS.contains(&head)
        && !tail.is_empty()
        && lexicon::exact(&norm).is_none()
    {
        let cut = raw
            .char_indices()
            .find(|(_, c)| matches!(c, '\'' | '\u{2019}'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        out.push(Token::word(&format!("{head}'")));
        return classify(&raw[cut..], out);
    }
    // A pronoun after a verb: annule-le → annule (+ le).
    if let Some((head, tail)) = norm.rsplit_once('-')
        && PRONOUNS.contains(&tail)
        && lexicon::exact(&norm).is_none()
        && lexicon::exact(head).is_some()
    {
        let cut = raw.rfind('-').unwrap_or(raw.len());
        classify(&raw[..cut], out);
        if tail != "y" {
            out.push(Token::word(tail));
        }
        return;
    }
    if let Some((project, number)) = raw.rsplit_once('#')
        && let Ok(number) = number.parse::<u64>()
        && number.to_string().len() <= 12
    {
        let project = (!project.is_empty()).then(|| fold(project));
        out.push(Token {
            raw: raw.to_owned(),
            norm,
            kind: TokKind::RunRef { project, number },
        });
        return;
    }
    if raw.len() <= 12
        && let Ok(n) = raw.parse::<u64>()
    {
        out.push(Token {
            raw: raw.to_owned(),
            norm,
            kind: TokKind::Number(n),
        });
        return;
    }
    // 7d, 30j, 24h, 2w: a number glued to its unit.
    let digits = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    if (1..=4).contains(&digits) && matches!(&norm[digits..], "d" | "j" | "h" | "w" | "days" | "jours") {
        classify(&raw[..digits], out);
        let unit = if &norm[digits..] == "w" {
            "week"
        } else {
            &norm[digits..]
        };
        out.push(Token::word(unit));
        return;
    }
    if is_version(raw) {
        out.push(Token {
            raw: raw.to_owned(),
            norm,
            kind: TokKind::Version,
        });
        return;
    }
    out.push(Token::word(raw));
}

/// The tokens of an (unquoted) text.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for (piece, is_sep) in pieces(text) {
        if is_sep {
            let c = piece.chars().next().unwrap_or(';');
            out.push(Token {
                raw: piece.clone(),
                norm: piece,
                kind: TokKind::Sep(c),
            });
        } else {
            classify(&piece, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes(text: &str) -> Vec<String> {
        tokenize(text)
            .into_iter()
            .map(|t| match t.kind {
                TokKind::Word { .. } => t.norm,
                TokKind::Number(n) => format!("N{n}"),
                TokKind::Version => format!("V{}", t.raw),
                TokKind::RunRef { project, number } => format!("R{}#{number}", project.unwrap_or_default()),
                TokKind::Sep(c) => format!("S{c}"),
            })
            .collect()
    }

    #[test]
    fn versions_runs_numbers_and_separators_are_told_apart() {
        assert_eq!(
            shapes("Deploy api 2.5.0, then v1.4.0-RC.1 and api#42 / #7 in 7d."),
            [
                "deploy",
                "api",
                "V2.5.0",
                "S,",
                "then",
                "Vv1.4.0-RC.1",
                "and",
                "Rapi#42",
                "R#7",
                "in",
                "N7",
                "d",
                "S."
            ]
        );
        assert_eq!(
            shapes("web-app#3 2024.06.01+abc 42 v2"),
            ["Rweb-app#3", "V2024.06.01+abc", "N42", "Vv2"]
        );
        assert_eq!(
            shapes("prod. version 2.5.0."),
            ["prod", "S.", "version", "V2.5.0", "S."]
        );
    }

    #[test]
    fn elisions_and_pronouns_are_split_off_and_contractions_kept() {
        assert_eq!(shapes("n'annule pas l'api"), ["n'", "annule", "pas", "l'", "api"]);
        assert_eq!(shapes("annule-le, vas-y"), ["annule", "le", "S,", "vas-y"]);
        assert_eq!(
            shapes("don’t ship what's failing aujourd'hui"),
            ["don't", "ship", "what's", "failing", "aujourd'hui"]
        );
        assert_eq!(
            shapes("Pourquoi le Déploiement a planté ?"),
            ["pourquoi", "le", "deploiement", "a", "plante", "S?"]
        );
    }
}
