//! Every documented rule against the code that enforces it, over a table of inputs: a string the document calls valid
//! is one the service takes, and one it calls invalid is one the service refuses. The services' own parsers are used
//! where they are public (dev-dependencies); a rule written inline in a use-case is restated here from it, named.
//! The tables are by owner: `catalog` (projects and metrics), `people` (auth), `pipelines` (tasks).

mod catalog;
mod people;
mod pipelines;

use regex::Regex;

use super::*;

/// A JSON Schema string check: `pattern` (unanchored, as JSON Schema reads it) and the character-count bounds.
pub(super) struct Documented {
    pattern: Regex,
    min: usize,
    max: usize,
}

impl Documented {
    pub(super) fn of<T: PartialSchema>() -> Self {
        let RefOr::T(Schema::Object(object)) = T::schema() else {
            panic!("a string schema is an object schema");
        };
        let pattern = object.pattern.expect("every contract schema has a pattern");
        Self {
            pattern: Regex::new(&pattern).unwrap_or_else(|e| panic!("{pattern}: {e}")),
            min: object.min_length.unwrap_or(0),
            max: object.max_length.unwrap_or(usize::MAX),
        }
    }

    pub(super) fn admits(&self, value: &str) -> bool {
        let chars = value.chars().count();
        (self.min..=self.max).contains(&chars) && self.pattern.is_match(value)
    }
}

/// Asserts the document and `code` agree on every input.
pub(super) fn agree<T: PartialSchema + ToSchema>(code: impl Fn(&str) -> bool, inputs: &[&str]) {
    let documented = Documented::of::<T>();
    for input in inputs {
        assert_eq!(
            documented.admits(input),
            code(input),
            "{}: the document {} {input:?}, the code {}",
            T::name(),
            if documented.admits(input) { "admits" } else { "refuses" },
            if code(input) { "takes it" } else { "refuses it" },
        );
    }
}

pub(super) fn long(c: &str, n: usize) -> String {
    c.repeat(n)
}

#[test]
fn every_pattern_in_the_document_compiles() {
    let document: serde_json::Value = serde_json::from_str(&crate::openapi::DOCUMENT).unwrap();
    fn patterns<'a>(value: &'a serde_json::Value, found: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(pattern)) = map.get("pattern") {
                    found.push(pattern);
                }
                map.values().for_each(|v| patterns(v, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| patterns(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    patterns(&document, &mut found);
    assert!(
        found.len() >= 20,
        "expected the contract's patterns, found {}",
        found.len()
    );
    for pattern in found {
        assert!(Regex::new(pattern).is_ok(), "{pattern} does not compile");
    }
}
