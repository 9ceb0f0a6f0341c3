//! A chat message's text, as it is parsed, stored and shown: invisible characters removed, trimmed, 1 to 2,000
//! characters. One type for all three, so what is stored is exactly what was parsed (a bot reply goes through the
//! same door as a person's message).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Whether `c` is removed from every message before it is parsed or stored: zero-width characters, BiDi controls
/// (the "Trojan Source" set), Unicode tag characters (used to smuggle text past a reader), other invisible format
/// characters, and control characters other than tab and line feed.
pub(crate) fn is_invisible(c: char) -> bool {
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
/// feed; U+2028/U+2029 become line feeds). Idempotent. NUL is a control character, so no text ever holds one (no
/// database column could keep it faithfully).
pub fn strip_invisible(text: &str) -> String {
    text.chars()
        .filter(|&c| !is_invisible(c))
        .map(|c| if matches!(c, '\u{2028}' | '\u{2029}') { '\n' } else { c })
        .collect()
}

/// Why a message text was refused (the caller answers 400 naming the `text` field; the store, reading a row back,
/// calls the row corrupt).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageTextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters (got {chars})", max = MessageText::MAX_CHARS)]
    TooLong { chars: usize },
}

/// A chat message's text as parsed, stored and shown: invisible characters removed, trimmed, 1..=2,000 characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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

super::try_from_string!(MessageText => MessageTextError);

impl From<MessageText> for String {
    fn from(text: MessageText) -> String {
        text.0
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
        assert_eq!(
            MessageText::parse("line one\nline two").unwrap().as_str(),
            "line one\nline two"
        );
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
    fn no_text_holds_a_nul_and_serde_goes_through_parse() {
        assert_eq!(MessageText::parse("nul\0here").unwrap().as_str(), "nulhere");
        assert_eq!(MessageText::parse("\0"), Err(MessageTextError::Empty));
        let text: MessageText = serde_json::from_str("\" deploy\\u200b api \"").unwrap();
        assert_eq!(serde_json::to_string(&text).unwrap(), "\"deploy api\"");
        assert!(serde_json::from_str::<MessageText>("\"  \"").is_err());
    }
}
