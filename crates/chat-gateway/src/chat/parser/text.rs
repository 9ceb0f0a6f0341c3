//! Message text before any parsing: invisible characters removed, length bounded, and the folded form (lower case,
//! French accents off) the parser and the LLM grounding check compare words in.

use std::fmt;

/// Whether `c` is removed from every message before it is parsed or stored: zero-width characters, BiDi controls
/// (the "Trojan Source" set), Unicode tag characters (used to smuggle text past a reader), other invisible format
/// characters, and control characters other than tab and line feed.
pub(super) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                      // soft hyphen
            | '\u{034F}'                // combining grapheme joiner
            | '\u{061C}'                // Arabic letter mark (BiDi)
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'   // Khmer invisible vowels
            | '\u{180E}'                // Mongolian vowel separator
            | '\u{200B}'..='\u{200F}'   // zero-width space/non-joiner/joiner, LRM, RLM
            | '\u{202A}'..='\u{202E}'   // BiDi embeddings and overrides
            | '\u{2060}'..='\u{2064}'   // word joiner, invisible operators
            | '\u{2066}'..='\u{206F}'   // BiDi isolates, deprecated format characters
            | '\u{FEFF}'                // byte order mark
            | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotation
            | '\u{1D173}'..='\u{1D17A}' // musical format characters
            | '\u{E0000}'..='\u{E007F}' // tags
            | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    ) || (c.is_control() && c != '\n' && c != '\t')
}

/// Removes zero-width, BiDi-control, tag and other invisible characters (and control characters but tab and line
/// feed; U+2028/U+2029 become line feeds). Idempotent. The chat routes (the next step of issue 17) are to store
/// [`MessageText::as_str`], so what is stored is what was parsed: the store's own `MessageText` only bounds the
/// length and refuses NUL, it does not strip.
pub fn strip_invisible(text: &str) -> String {
    text.chars()
        .filter(|&c| !is_invisible(c))
        .map(|c| if matches!(c, '\u{2028}' | '\u{2029}') { '\n' } else { c })
        .collect()
}

/// Why a message text was refused (the caller answers 400 naming the `text` field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageTextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters (got {chars})", max = MessageText::MAX_CHARS)]
    TooLong { chars: usize },
}

/// A chat message's text as stored and parsed: invisible characters removed, trimmed, 1..=2,000 characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MessageText(String);

impl MessageText {
    pub const MAX_CHARS: usize = 2_000;

    pub fn parse(raw: &str) -> Result<Self, MessageTextError> {
        let text = strip_invisible(raw);
        let text = text.trim();
        if text.is_empty() {
            return Err(MessageTextError::Empty);
        }
        let chars = text.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(MessageTextError::TooLong { chars });
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for MessageText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for MessageText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One character folded for comparison: lower case, French (and common Latin) accents removed, typographic
/// apostrophes made straight. Letters of other scripts stay what they are, so a Cyrillic `а` never becomes an `a`.
fn fold_char(c: char, out: &mut String) {
    let base = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' => 'a',
        'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ė' | 'Ę' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => 'i',
        'ñ' | 'ń' | 'Ñ' | 'Ń' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' => 'u',
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => 'y',
        'œ' | 'Œ' => return out.push_str("oe"),
        'æ' | 'Æ' => return out.push_str("ae"),
        'ß' => return out.push_str("ss"),
        '\u{2019}' | '\u{2018}' | '\u{02BC}' => '\'',
        '\u{2010}' | '\u{2011}' => '-',
        _ => return out.extend(c.to_lowercase()),
    };
    out.push(base);
}

/// The folded form of a text: lower case, accents off (`Déploie` → `deploie`), `’` → `'`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        fold_char(c, &mut out);
    }
    out
}

/// The look-alike skeleton used only to *suggest* a project: full-width forms and common Cyrillic and Greek
/// homoglyphs mapped to the Latin letters they imitate. Never used to accept a name.
pub fn skeleton(text: &str) -> String {
    fold(text)
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            'а' => 'a',
            'в' => 'b',
            'с' | 'ϲ' => 'c',
            'ԁ' => 'd',
            'е' | 'ё' | 'є' => 'e',
            'һ' => 'h',
            'і' | 'ї' | 'ι' | 'ӏ' => 'i',
            'ј' => 'j',
            'к' | 'κ' => 'k',
            'м' => 'm',
            'п' | 'η' => 'n',
            'о' | 'ο' | 'σ' => 'o',
            'р' | 'ρ' => 'p',
            'ԛ' => 'q',
            'г' => 'r',
            'ѕ' => 's',
            'т' | 'τ' => 't',
            'υ' | 'ц' => 'u',
            'ν' | 'ѵ' => 'v',
            'ԝ' | 'ω' => 'w',
            'х' | 'χ' => 'x',
            'у' | 'γ' => 'y',
            'α' => 'a',
            'ε' => 'e',
            _ => c,
        })
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_width_bidi_and_tag_characters_are_removed_and_visible_text_is_kept() {
        let sneaky = "dep\u{200B}loy\u{202E} api\u{2066} 1.2\u{E0041}\u{FEFF} to\u{00AD} prod\r\n";
        assert_eq!(strip_invisible(sneaky), "deploy api 1.2 to prod\n");
        assert_eq!(strip_invisible("déploie « api »\tsvp 🚀"), "déploie « api »\tsvp 🚀");
        assert_eq!(strip_invisible("a\u{2028}b"), "a\nb");
    }

    #[test]
    fn a_message_is_one_to_two_thousand_visible_characters() {
        assert_eq!(MessageText::parse("  \u{200B}\n "), Err(MessageTextError::Empty));
        assert_eq!(MessageText::parse(" help ").unwrap().as_str(), "help");
        let longest = "é".repeat(MessageText::MAX_CHARS);
        assert!(MessageText::parse(&longest).is_ok());
        let padded = format!("{longest}\u{200B}\u{200B}");
        assert!(MessageText::parse(&padded).is_ok(), "invisible characters do not count");
        assert_eq!(
            MessageText::parse(&format!("{longest}x")),
            Err(MessageTextError::TooLong { chars: 2_001 })
        );
    }

    #[test]
    fn folding_removes_french_accents_but_keeps_other_scripts() {
        assert_eq!(fold("Déploie ÇA à l’Été, Œuvre"), "deploie ca a l'ete, oeuvre");
        assert_eq!(fold("аpi"), "аpi", "a Cyrillic а stays Cyrillic");
        assert_eq!(skeleton("аpi"), "api");
        assert_eq!(skeleton("ＡＰＩ"), "api");
    }
}
