//! An email address as an account identifier: trimmed, lower-cased (so uniqueness is case-insensitive), and shaped
//! like `local@domain`. Deliverability is not our business; obvious garbage is.

use std::fmt;

/// A normalised email address. Invariant: lower-case, 3..=254 bytes, exactly one `@` with non-empty sides, a dot-free
/// or dotted domain without spaces, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("email must not be empty".into());
        }
        if email.len() > 254 {
            return Err("email must be at most 254 characters".into());
        }
        if email.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("email must not contain spaces or control characters".into());
        }
        let mut parts = email.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err("email must look like name@example.com".into());
        };
        if local.is_empty() || local.len() > 64 || domain.is_empty() || domain.starts_with('.') || domain.ends_with('.')
        {
            return Err("email must look like name@example.com".into());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn valid_emails_are_normalised() {
        for (raw, want) in [
            ("Ada@Example.COM", "ada@example.com"),
            ("  ops@localhost ", "ops@localhost"),
            ("a.b+c@sub.example.org", "a.b+c@sub.example.org"),
        ] {
            assert_eq!(Email::parse(raw).unwrap().as_str(), want, "{raw}");
        }
    }

    #[test]
    fn invalid_emails_are_rejected() {
        for raw in [
            "",
            "   ",
            "no-at-sign",
            "@example.com",
            "ada@",
            "a@b@c",
            "a b@c.d",
            "a@.com",
            "a@com.",
            "a\u{0}@b",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be rejected");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
        assert!(Email::parse(&format!("a@{}.com", "b".repeat(260))).is_err());
    }
}
