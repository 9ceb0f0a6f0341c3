//! Password policy for new passwords (NIST SP 800-63B: length, not composition rules).

use secrecy::SecretString;

pub const PASSWORD_MIN_LEN: usize = 10;
/// Bounded so a hostile body cannot make us hash megabytes.
pub const PASSWORD_MAX_LEN: usize = 256;

/// A password that satisfies the policy. Invariant: 10..=256 characters, not only white space.
#[derive(Debug)]
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_LEN {
            return Err(format!("password must be at least {PASSWORD_MIN_LEN} characters"));
        }
        if chars > PASSWORD_MAX_LEN {
            return Err(format!("password must be at most {PASSWORD_MAX_LEN} characters"));
        }
        if raw.trim().is_empty() {
            return Err("password must not be only white space".into());
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::NewPassword;

    #[test]
    fn password_length_policy() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("          ").is_err());
        assert!(NewPassword::parse(&"x".repeat(257)).is_err());
        assert!(NewPassword::parse("correct horse battery").is_ok());
    }
}
