//! Identity domain: validated values and the records the store keeps. No I/O here.

mod email;
mod password;
mod records;
pub mod throttle;

pub use devopstrack_platform::auth::Role;
pub use email::Email;
pub use password::{NewPassword, PASSWORD_MAX_LEN, PASSWORD_MIN_LEN};
pub use records::*;
pub use throttle::{Admission, AttemptRecord, ThrottlePolicy, throttle_key};

/// Hex SHA-256: what the store keeps instead of a secret (and of a throttle key). The secrets carry 256 random bits,
/// so a fast hash is enough (unlike passwords).
pub fn sha256_hex(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Parses a user display name: trimmed, 1..=100 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("name must not be empty".into());
    }
    if name.chars().count() > 100 {
        return Err("name must be at most 100 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Err("name must not contain control characters".into());
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::parse_name;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Ada  ").unwrap(), "Ada");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(101)).is_err());
        assert!(parse_name("a\u{0}b").is_err());
        assert_eq!(parse_name(&"é".repeat(100)).unwrap().chars().count(), 100);
    }
}
