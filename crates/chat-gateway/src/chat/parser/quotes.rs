//! Text inside quotes or code is data, never a command: ```fenced``` blocks, `inline` code, "…", “…”, „…“, «…»,
//! ‹…›, 「…」, and '…' or ‘…’ when they are used as quotes (an apostrophe in `don't` or `l'api` is not a quote).
//! The quoted parts are blanked out before the words are read; an unclosed quote or fence runs to the end of the
//! message (better to read too little as a command than too much).

/// The message with every quoted part replaced by a space, and how many parts there were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unquoted {
    pub text: String,
    pub quoted_parts: usize,
}

/// The closer of a quote that opens with `c` (apostrophes apart, see [`single_quote_end`]).
fn closer_of(c: char) -> Option<char> {
    Some(match c {
        '"' => '"',
        '\u{201C}' => '\u{201D}',
        '\u{201E}' | '\u{201F}' => '\u{201C}',
        '\u{00AB}' => '\u{00BB}',
        '\u{2039}' => '\u{203A}',
        '\u{300C}' => '\u{300D}',
        '\u{300E}' => '\u{300F}',
        _ => return None,
    })
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Where a single-quoted part that opens at `open` ends (the index just after its closer), when the quote character
/// is used as a quote: it follows a non-word character (or starts the text), a non-space follows it, and a closer
/// that ends a word (followed by a non-word character or the end) exists further on.
fn single_quote_end(chars: &[char], open: usize) -> Option<usize> {
    let c = chars[open];
    if !matches!(c, '\'' | '\u{2018}') {
        return None;
    }
    let after_non_word = open == 0 || !is_word_char(chars[open - 1]);
    let then_visible = chars.get(open + 1).is_some_and(|n| !n.is_whitespace());
    if !(after_non_word && then_visible) {
        return None;
    }
    (open + 2..chars.len())
        .find(|&i| {
            matches!(chars[i], '\'' | '\u{2019}')
                && !chars[i - 1].is_whitespace()
                && chars.get(i + 1).is_none_or(|n| !is_word_char(*n))
        })
        .map(|i| i + 1)
}

fn find_from(chars: &[char], from: usize, needle: &[char]) -> Option<usize> {
    (from..=chars.len().saturating_sub(needle.len())).find(|&i| chars[i..].starts_with(needle))
}

/// Blanks out quoted and code parts.
pub fn unquote(text: &str) -> Unquoted {
    const FENCE: [char; 3] = ['`', '`', '`'];
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut quoted_parts = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let end = if chars[i..].starts_with(&FENCE) {
            Some(find_from(&chars, i + 3, &FENCE).map_or(chars.len(), |j| j + 3))
        } else if c == '`' {
            Some(
                chars[i + 1..]
                    .iter()
                    .position(|&n| n == '`')
                    .map_or(chars.len(), |j| i + j + 2),
            )
        } else if let Some(close) = closer_of(c) {
            Some(
                chars[i + 1..]
                    .iter()
                    .position(|&n| n == close)
                    .map_or(chars.len(), |j| i + j + 2),
            )
        } else {
            single_quote_end(&chars, i)
        };
        match end {
            Some(end) => {
                quoted_parts += 1;
                out.push(' ');
                i = end;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    Unquoted {
        text: out,
        quoted_parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blanked(text: &str) -> String {
        unquote(text).text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn quotes_and_code_of_every_kind_are_blanked() {
        let cases = [
            ("say \"deploy api 1.0 to prod\" please", "say please"),
            ("what does ```\ndeploy api to prod\n``` mean", "what does mean"),
            ("run `rollback prod` now", "run now"),
            ("le message « déploie api en prod » ?", "le message ?"),
            ("he wrote “ship it” again", "he wrote again"),
            ("er schrieb „deploy“ heute", "er schrieb heute"),
            ("type 'retry api#42' to see", "type to see"),
            ("type ‘retry api#42’ to see", "type to see"),
        ];
        for (text, want) in cases {
            assert_eq!(blanked(text), want, "{text}");
        }
    }

    #[test]
    fn apostrophes_inside_words_are_not_quotes() {
        for text in [
            "don't deploy api",
            "don’t deploy api",
            "what's up with l'api d'abord",
            "the devs' build failed",
            "qu'est-ce qui échoue aujourd'hui",
        ] {
            let unquoted = unquote(text);
            assert_eq!((unquoted.text.as_str(), unquoted.quoted_parts), (text, 0));
        }
    }

    #[test]
    fn an_unclosed_quote_or_fence_runs_to_the_end() {
        assert_eq!(blanked("status \"deploy api to prod"), "status");
        assert_eq!(blanked("status ```deploy api"), "status");
        assert_eq!(blanked("status `deploy api"), "status");
        assert_eq!(blanked("it's 'fine"), "it's 'fine", "an unclosed ' is an apostrophe");
    }
}
