//! The GitHub integration of a project: its webhook secret (sealed, see `crate::secrets`) and the check of a
//! delivery's `X-Hub-Signature-256`. Deduplicating and keeping deliveries is tasks' webhook inbox's job.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// `X-GitHub-Event` (`push`, `workflow_run`, …): 1..=64 characters of `[a-z_]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GithubEvent(String);

impl GithubEvent {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = (1..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be 1 to 64 characters of [a-z_] (an X-GitHub-Event name)".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for GithubEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A project's GitHub integration as stored: the webhook secret sealed for this project, never the plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubIntegrationRecord {
    pub project_id: Uuid,
    pub sealed_secret: Vec<u8>,
    pub updated_at: DateTime<Utc>,
}

/// The answer to "may this delivery be processed?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookVerdict {
    /// Signed with the project's secret.
    Valid,
    /// Missing, malformed or wrong signature.
    InvalidSignature,
    /// No such project, or no secret set for it.
    NotConfigured,
}

/// A webhook secret as an admin sets it: 16..=256 characters without control characters.
pub fn check_webhook_secret(raw: &str) -> Result<(), String> {
    let length = raw.chars().count();
    if !(16..=256).contains(&length) {
        return Err(format!("must be 16 to 256 characters, not {length}"));
    }
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// `X-GitHub-Delivery` (a GUID at GitHub): 1..=128 characters of `[A-Za-z0-9._:-]`.
pub fn parse_delivery_id(raw: &str) -> Result<String, String> {
    super::parse_opaque_id(raw, 128)
}

/// Whether `header` (`sha256=<64 hex digits>`) is the HMAC-SHA256 of `payload` under `secret`. The digest comparison
/// is constant-time (`hmac`'s `verify_slice` compares with `subtle`); the early answers for a malformed header depend
/// only on the header, never on the secret.
pub fn signature_matches(secret: &[u8], header: &str, payload: &[u8]) -> bool {
    let Some(digits) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    if digits.len() != 64 {
        return false;
    }
    let Ok(expected) = hex::decode(digits) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(payload);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of GitHub's "Validating webhook deliveries" guide.
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const PAYLOAD: &[u8] = b"Hello, World!";
    const SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_documented_example_verifies() {
        assert!(signature_matches(SECRET, SIGNATURE, PAYLOAD));
        assert!(signature_matches(
            SECRET,
            &SIGNATURE.to_uppercase().replace("SHA256", "sha256"),
            PAYLOAD
        ));
    }

    #[test]
    fn anything_else_does_not() {
        let flipped = SIGNATURE.replace("e17", "e18");
        let cases: [(&[u8], &str, &[u8]); 8] = [
            (SECRET, &flipped, PAYLOAD),
            (b"another secret entirely", SIGNATURE, PAYLOAD),
            (SECRET, SIGNATURE, b"Hello, World?"),
            (SECRET, "", PAYLOAD),
            (SECRET, "sha1=757107ea0eb2509fc211221cce984b8a37570b6d", PAYLOAD),
            (SECRET, &SIGNATURE[..70], PAYLOAD),
            (
                SECRET,
                "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
                PAYLOAD,
            ),
            (
                SECRET,
                "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
                PAYLOAD,
            ),
        ];
        for (secret, header, payload) in cases {
            assert!(!signature_matches(secret, header, payload), "{header:?}");
        }
    }

    #[test]
    fn secrets_and_delivery_ids_are_checked() {
        assert!(check_webhook_secret(&"s".repeat(16)).is_ok());
        assert!(check_webhook_secret(&"é".repeat(256)).is_ok());
        assert!(check_webhook_secret(&"s".repeat(15)).unwrap_err().contains("not 15"));
        assert!(check_webhook_secret(&"s".repeat(257)).is_err());
        assert!(
            check_webhook_secret("sixteen chars\nxx")
                .unwrap_err()
                .contains("control")
        );

        for good in ["push", "workflow_run", "x", &"a".repeat(64)] {
            assert_eq!(GithubEvent::parse(good).map(|e| e.to_string()), Ok(good.to_owned()));
        }
        for bad in [
            "",
            "Push",
            "workflow-run",
            "check run",
            "push1",
            "pùsh",
            &"a".repeat(65),
        ] {
            assert!(GithubEvent::parse(bad).is_err(), "{bad:?}");
        }

        assert!(parse_delivery_id("72d3162e-cc78-11e3-81ab-4c9367dc0958").is_ok());
        for bad in ["", "has space", "semi;colon", &"a".repeat(129)] {
            assert!(parse_delivery_id(bad).is_err(), "{bad:?}");
        }
    }
}
