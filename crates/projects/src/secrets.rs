//! Encryption at rest of the secrets the projects service keeps (GitHub webhook secrets): XChaCha20-Poly1305 under the
//! 32-byte key of `DEVOPSTRACK_PROJECTS__SECRETS_KEY` (base64), a random 192-bit nonce per encryption stored beside
//! the ciphertext, and the project id as associated data, so a sealed secret copied onto another project does not
//! open. A wrong key, a tampered blob or another project's blob fails to open: callers fail closed.
//!
//! Sealed layout: `[format = 1][nonce: 24 bytes][ciphertext ‖ 16-byte tag]`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use uuid::Uuid;

/// The only sealed format so far.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The key that seals and opens secrets. Its `Debug` never shows the key.
pub struct SecretsKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(..)")
    }
}

/// A sealed value that does not open with this key for this project (or is not a sealed value at all).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the sealed secret does not open with the configured key")]
pub struct OpenError;

impl SecretsKey {
    /// From the base64 (standard or URL-safe, padded) of exactly 32 bytes.
    pub fn from_base64(encoded: &SecretString) -> Result<Self, String> {
        let text = encoded.expose_secret().trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .map_err(|_| "must be base64 (e.g. the output of `openssl rand -base64 32`)".to_owned())?;
        let bytes = SecretSlice::from(bytes);
        if bytes.expose_secret().len() != 32 {
            return Err(format!(
                "must decode to exactly 32 bytes, not {} (e.g. `openssl rand -base64 32`)",
                bytes.expose_secret().len()
            ));
        }
        let cipher = XChaCha20Poly1305::new_from_slice(bytes.expose_secret())
            .map_err(|_| "must decode to exactly 32 bytes".to_owned())?;
        Ok(Self { cipher })
    }

    /// A new random key, base64-encoded as [`from_base64`](Self::from_base64) reads it (for `devopstrack up`).
    pub fn generate_base64() -> SecretString {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        SecretString::from(STANDARD.encode(key))
    }

    /// Encrypts `plaintext` for `project_id` under a fresh random nonce.
    pub fn seal(&self, project_id: Uuid, plaintext: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plaintext,
            aad: project_id.as_bytes(),
        };
        // Encryption fails only for messages longer than the cipher's 256 GiB limit; secrets are ≤ 256 characters.
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload)
            .unwrap_or_else(|_| unreachable!("a secret of at most 1 KiB always encrypts"));
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts what [`seal`](Self::seal) made for the same project with the same key.
    pub fn open(&self, project_id: Uuid, sealed: &[u8]) -> Result<SecretSlice<u8>, OpenError> {
        let Some((&FORMAT_V1, rest)) = sealed.split_first() else {
            return Err(OpenError);
        };
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError)?;
        let payload = Payload {
            msg: ciphertext,
            aad: project_id.as_bytes(),
        };
        self.cipher
            .decrypt(&XNonce::from(nonce), payload)
            .map(SecretSlice::from)
            .map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretsKey {
        SecretsKey::from_base64(&SecretString::from(STANDARD.encode([byte; 32]))).expect("a valid key")
    }

    #[test]
    fn a_sealed_secret_opens_for_its_project_only() {
        let (key, project, other) = (key(7), Uuid::new_v4(), Uuid::new_v4());
        let sealed = key.seal(project, b"It's a Secret to Everybody");

        assert_eq!(
            key.open(project, &sealed).unwrap().expose_secret(),
            b"It's a Secret to Everybody"
        );
        assert_eq!(key.open(other, &sealed).unwrap_err(), OpenError);
        assert!(
            !sealed.windows(6).any(|w| w == b"Secret"),
            "the plaintext is not in the sealed bytes"
        );
    }

    #[test]
    fn a_wrong_key_or_a_flipped_bit_fails_closed() {
        let project = Uuid::new_v4();
        let sealed = key(1).seal(project, b"0123456789abcdef");

        assert_eq!(key(2).open(project, &sealed).unwrap_err(), OpenError);
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(key(1).open(project, &tampered).unwrap_err(), OpenError, "byte {i}");
        }
        assert_eq!(key(1).open(project, &sealed[..20]).unwrap_err(), OpenError);
        assert_eq!(key(1).open(project, &[]).unwrap_err(), OpenError);
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let (key, project) = (key(3), Uuid::new_v4());
        let (a, b) = (key.seal(project, b"same"), key.seal(project, b"same"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 1 + NONCE_LEN + 4 + TAG_LEN);
    }

    #[test]
    fn a_key_must_be_base64_of_32_bytes() {
        let parse = |s: &str| SecretsKey::from_base64(&SecretString::from(s.to_owned()));
        assert!(parse(&STANDARD.encode([0u8; 32])).is_ok());
        let generated = SecretsKey::generate_base64();
        assert!(SecretsKey::from_base64(&generated).is_ok());
        assert_ne!(generated.expose_secret(), SecretsKey::generate_base64().expose_secret());
        assert!(parse(&URL_SAFE.encode([0xffu8; 32])).is_ok(), "URL-safe alphabet");
        assert!(
            parse(&STANDARD.encode([0u8; 16]))
                .unwrap_err()
                .contains("32 bytes, not 16")
        );
        assert!(parse("not base64 at all!").unwrap_err().contains("base64"));
        assert!(!format!("{:?}", key(9)).contains('9'), "Debug hides the key");
    }
}
