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
    let ok = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be 1 to 64 characters of [A-Za-z0-9._:-]".into())
    }
}
