//! The folded form (lower case, French accents off) the parser and the LLM grounding check compare words in, and
//! the look-alike skeleton used only to suggest a project.

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
    fn folding_removes_french_accents_but_keeps_other_scripts() {
        assert_eq!(fold("Déploie ÇA à l’Été, Œuvre"), "deploie ca a l'ete, oeuvre");
        assert_eq!(fold("аpi"), "аpi", "a Cyrillic а stays Cyrillic");
        assert_eq!(skeleton("аpi"), "api");
        assert_eq!(skeleton("ＡＰＩ"), "api");
    }
}
