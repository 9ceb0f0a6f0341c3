//! The key-encryption key (KEK) that seals the signing keys at rest: XChaCha20-Poly1305 under the 32 bytes of
//! `DEVOPSTRACK_AUTH__SIGNING_KEY_KEK` (base64), kept outside the database (an environment variable from a secret
//! store, or, in `devopstrack up`, a 0600 file in the data directory). A random 192-bit nonce per seal; the key's
//! `kid` is the associated data, so a sealed key copied onto another row does not open.
//!
//! Stored form: `kek1.<fingerprint>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The fingerprint (16 hex digits of a
//! SHA-256 of the KEK) says which KEK sealed a key, so starting with the wrong one is a clear error, not garbage.
//! A stored value starting with `-----BEGIN` is a plaintext PEM from before encryption; [`crate::keys`] seals it.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::{Digest, Sha256};

const PREFIX: &str = "kek1";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The key-encryption key. Its `Debug` shows only the fingerprint.
pub struct Kek {
    cipher: XChaCha20Poly1305,
    fingerprint: String,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kek({})", self.fingerprint)
    }
}

/// How a signing key is stored.
#[derive(Debug, PartialEq, Eq)]
pub enum Stored<'a> {
    /// A plaintext PKCS#8 PEM (a store from before keys were encrypted).
    Plaintext(&'a str),
    /// Sealed under the KEK with this fingerprint.
    Sealed {
        fingerprint: &'a str,
    },
    Unrecognised,
}

/// Why a sealed key did not open.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("it was sealed under another key-encryption key (fingerprint {0})")]
    OtherKek(String),
    #[error("it is damaged or not a sealed key")]
    Corrupt,
}

impl Kek {
    /// From the base64 (standard or URL-safe, padded) of exactly 32 bytes.
    pub fn from_base64(encoded: &SecretString) -> Result<Self, String> {
        let text = encoded.expose_secret().trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .map(SecretSlice::from)
            .map_err(|_| "must be base64 of 32 bytes (e.g. the output of `openssl rand -base64 32`)".to_owned())?;
        let raw = bytes.expose_secret();
        if raw.len() != 32 {
            return Err(format!(
                "must decode to exactly 32 bytes, not {} (e.g. `openssl rand -base64 32`)",
                raw.len()
            ));
        }
        let cipher = XChaCha20Poly1305::new_from_slice(raw).map_err(|_| "must decode to 32 bytes".to_owned())?;
        let digest = Sha256::new_with_prefix(b"devopstrack signing-key KEK\n")
            .chain_update(raw)
            .finalize();
        Ok(Self {
            cipher,
            fingerprint: hex::encode(&digest[..8]),
        })
    }

    /// A new random KEK, base64, as [`from_base64`](Self::from_base64) reads it (for `devopstrack up`).
    pub fn generate_base64() -> SecretString {
        SecretString::from(STANDARD.encode(XChaCha20Poly1305::generate_key(&mut OsRng)))
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Seals the PEM of key `kid`.
    pub fn seal(&self, kid: &str, pem: &SecretString) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: pem.expose_secret().as_bytes(),
            aad: kid.as_bytes(),
        };
        // Encryption fails only past the cipher's 256 GiB message limit; a PEM is a few hundred bytes.
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload)
            .unwrap_or_else(|_| unreachable!("a PEM always encrypts"));
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{PREFIX}.{}.{}", self.fingerprint, URL_SAFE_NO_PAD.encode(sealed))
    }

    /// Opens what [`seal`](Self::seal) made for `kid` with this KEK.
    pub fn open(&self, kid: &str, stored: &str) -> Result<SecretString, OpenError> {
        let mut parts = stored.splitn(3, '.');
        let (Some(PREFIX), Some(fingerprint), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(OpenError::Corrupt);
        };
        if fingerprint != self.fingerprint {
            return Err(OpenError::OtherKek(fingerprint.to_owned()));
        }
        let sealed = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError::Corrupt)?;
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::Corrupt)?;
        let payload = Payload {
            msg: ciphertext,
            aad: kid.as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(&XNonce::from(nonce), payload)
            .map_err(|_| OpenError::Corrupt)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| OpenError::Corrupt)
    }
}

/// What a stored signing key is.
pub fn classify(stored: &str) -> Stored<'_> {
    if stored.starts_with("-----BEGIN") {
        return Stored::Plaintext(stored);
    }
    let mut parts = stored.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(PREFIX), Some(fingerprint), Some(_)) => Stored::Sealed { fingerprint },
        _ => Stored::Unrecognised,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(byte: u8) -> Kek {
        Kek::from_base64(&SecretString::from(STANDARD.encode([byte; 32]))).expect("a valid KEK")
    }

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n";

    #[test]
    fn a_sealed_key_opens_for_its_kid_with_its_kek_only() {
        let sealed = kek(1).seal("kid-a", &SecretString::from(PEM));

        assert_eq!(kek(1).open("kid-a", &sealed).unwrap().expose_secret(), PEM);
        assert!(!sealed.contains("PRIVATE KEY"), "{sealed}");
        assert_eq!(
            classify(&sealed),
            Stored::Sealed {
                fingerprint: kek(1).fingerprint()
            }
        );
        assert_eq!(kek(1).open("kid-b", &sealed).unwrap_err(), OpenError::Corrupt);
        assert_eq!(
            kek(2).open("kid-a", &sealed).unwrap_err(),
            OpenError::OtherKek(kek(1).fingerprint().to_owned())
        );
        assert_ne!(sealed, kek(1).seal("kid-a", &SecretString::from(PEM)), "fresh nonces");
    }

    #[test]
    fn tampering_fails_closed_and_plaintext_is_recognised() {
        let sealed = kek(1).seal("kid-a", &SecretString::from(PEM));
        let (head, body) = sealed.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        bytes[30] ^= 1;
        let tampered = format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes));

        assert_eq!(kek(1).open("kid-a", &tampered).unwrap_err(), OpenError::Corrupt);
        assert_eq!(kek(1).open("kid-a", "kek1.x").unwrap_err(), OpenError::Corrupt);
        assert_eq!(classify(PEM), Stored::Plaintext(PEM));
        assert_eq!(classify("garbage"), Stored::Unrecognised);
    }

    #[test]
    fn a_kek_must_be_base64_of_32_bytes_and_never_shows_itself() {
        let parse = |s: &str| Kek::from_base64(&SecretString::from(s.to_owned()));
        assert!(parse(&URL_SAFE.encode([0xffu8; 32])).is_ok());
        assert!(Kek::from_base64(&Kek::generate_base64()).is_ok());
        assert!(
            parse(&STANDARD.encode([0u8; 16]))
                .unwrap_err()
                .contains("32 bytes, not 16")
        );
        assert!(parse("not base64!").unwrap_err().contains("base64"));
        assert_eq!(kek(7).fingerprint().len(), 16);
        assert_eq!(format!("{:?}", kek(7)), format!("Kek({})", kek(7).fingerprint()));
    }
}
