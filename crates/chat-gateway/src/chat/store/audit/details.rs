//! What an audit record's details may hold, and the one text they are hashed and stored as.

use super::{StoreError, StoreResult};

/// Field names refused anywhere in `details` (compared lower-cased, as substrings): the caller redacts secrets
/// before auditing; this is the defence in depth.
const SECRET_NAMES: [&str; 8] = [
    "password",
    "passwd",
    "token",
    "secret",
    "authorization",
    "cookie",
    "apikey",
    "privatekey",
];

/// `value` as JSON text with object keys sorted (by their UTF-8 bytes) and no whitespace: one text per value,
/// whatever order the caller built its maps in.
pub(crate) fn canonical_json(value: &serde_json::Value) -> String {
    fn write(out: &mut String, value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                out.push('{');
                for (i, (key, value)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push(':');
                    write(out, value);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(out, item);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(&mut out, value);
    out
}

/// Refuses a field named like a secret anywhere in `value`, and string values that are credentials (a bearer
/// header, a `dtk_` API token, a JWT).
pub(super) fn refuse_secrets(path: &str, value: &serde_json::Value) -> StoreResult<()> {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let here = format!("{path}.{key}");
                let folded: String = key
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .collect();
                if SECRET_NAMES.iter().any(|name| folded.contains(name)) {
                    return Err(StoreError::invalid(
                        &here,
                        "a field named like a secret is refused in the audit trail; redact it",
                    ));
                }
                refuse_secrets(&here, value)?;
            }
            Ok(())
        }
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| refuse_secrets(&format!("{path}[{i}]"), item)),
        serde_json::Value::String(text) if looks_like_a_credential(text) => Err(StoreError::invalid(
            path,
            "a credential is refused in the audit trail; redact it",
        )),
        _ => Ok(()),
    }
}

fn looks_like_a_credential(text: &str) -> bool {
    let text = text.trim();
    let jwt = text.starts_with("eyJ") && text.split('.').count() == 3 && text.len() > 40;
    text.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("bearer ")) || text.starts_with("dtk_") || jwt
}
