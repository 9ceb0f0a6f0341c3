//! A job of a tracked run as its source names it ([`ExternalJobRef`], stored as the job's `external` executor), and the
//! checks of the source's ids, names and URLs that it shares with the deliveries (tasks' `domain::external`). A leaf: the
//! executor specs and the tracked-run domain both build on it.

use serde_json::{Map, Value, json};

use crate::field::FieldError;

/// A workflow's or job's name at the source, in characters.
pub const MAX_EXTERNAL_NAME_CHARS: usize = 200;
/// A run's or job's id at the source, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;
/// A run's or job's page at the source, in characters.
pub const MAX_EXTERNAL_URL_CHARS: usize = 2048;

/// What one job of a tracked run is at its source. Stored as the job's executor (`external`), so the job's API view
/// shows it under `params` (`externalId`, `name`, `url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalJobRef {
    pub external_id: String,
    /// The source's name, free text (the DevOpsTrack name is its slug).
    pub name: String,
    /// The job's page at the source; may be empty.
    pub url: String,
}

impl ExternalJobRef {
    pub fn params_json(&self) -> Value {
        json!({"externalId": self.external_id, "name": self.name, "url": self.url})
    }

    /// The stored params back (the codec re-validates every document through here). `path` ends in `.params`.
    pub fn parse(path: &str, map: &Map<String, Value>) -> Result<Self, FieldError> {
        let field = |key: &str| -> Result<String, FieldError> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(FieldError::new(format!("{path}.{key}"), "must be a string")),
            }
        };
        if let Some(k) = map
            .keys()
            .find(|k| !["externalId", "name", "url"].contains(&k.as_str()))
        {
            return Err(FieldError::new(
                format!("{path}.{k}"),
                "unknown parameter: expected one of externalId, name, url",
            ));
        }
        Ok(Self {
            external_id: external_id(&format!("{path}.externalId"), &field("externalId")?)?,
            name: name(&format!("{path}.name"), &field("name")?)?,
            url: url(&format!("{path}.url"), &field("url")?)?,
        })
    }
}

pub fn external_id(path: &str, raw: &str) -> Result<String, FieldError> {
    let n = raw.chars().count();
    if n == 0 || n > MAX_EXTERNAL_ID_CHARS || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(
            path,
            format!("must be 1 to {MAX_EXTERNAL_ID_CHARS} characters without spaces or control characters"),
        ));
    }
    Ok(raw.to_owned())
}

pub fn name(path: &str, raw: &str) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    let n = trimmed.chars().count();
    if n == 0 || n > MAX_EXTERNAL_NAME_CHARS || trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            path,
            format!("must be 1 to {MAX_EXTERNAL_NAME_CHARS} characters without control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

pub fn url(path: &str, raw: &str) -> Result<String, FieldError> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    let rest = raw.strip_prefix("https://").or_else(|| raw.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    let clean = raw.len() <= MAX_EXTERNAL_URL_CHARS && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
    match host {
        Some(h) if clean && !h.is_empty() && !h.contains('@') => Ok(raw.to_owned()),
        _ => Err(FieldError::new(
            path,
            format!("must be empty or an http(s) URL with a host, at most {MAX_EXTERNAL_URL_CHARS} characters"),
        )),
    }
}
