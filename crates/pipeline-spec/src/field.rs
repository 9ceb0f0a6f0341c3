//! The error every parser of the domain answers: which field of the request is wrong, and why. A leaf: the parsers
//! (spec, executor params, commit refs, tracked runs) all use it, and it uses none of them.

/// A problem with one field of a request. `path` is what the caller sent, e.g. `stages[1].jobs[0].timeout_s`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}
