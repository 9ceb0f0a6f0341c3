//! The catalog's domain: validated values and the records the store keeps. No I/O here.

mod definitions;
mod github;
mod records;
mod values;

pub use definitions::*;
pub use devopstrack_platform::auth::Role;
pub use github::*;
pub use records::*;
pub use values::*;

/// A deployment id (the idempotency key): 1..=64 characters of `[A-Za-z0-9._:-]`.
pub fn parse_deployment_id(raw: &str) -> Result<String, String> {
    parse_opaque_id(raw, 64)
}

/// An id another system chose and we only store and compare (a deployment id, a GitHub delivery id): 1..=`max`
/// characters of `[A-Za-z0-9._:-]`.
fn parse_opaque_id(raw: &str, max: usize) -> Result<String, String> {
    let ok = (1..=max).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(format!("must be 1 to {max} characters of [A-Za-z0-9._:-]"))
    }
}
