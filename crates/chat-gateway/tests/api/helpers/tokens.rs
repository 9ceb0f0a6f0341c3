//! Tokens as auth would sign them (or as a forger would): EdDSA signing with a known key, and valid claims to vary.

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::{AUDIENCE, ISSUER, TestApp};

impl TestApp {
    /// Signs `claims` with the real key and `kid`, as auth would.
    pub fn sign(&self, claims: &Value) -> String {
        sign_eddsa(&self.signing_key, &self.kid, claims)
    }
}

/// EdDSA-signs `claims` with `key` under `kid`.
pub fn sign_eddsa(key: &SigningKey, kid: &str, claims: &Value) -> String {
    let pem = key.to_pkcs8_pem(Default::default()).expect("encode a key as PEM");
    let encoding = EncodingKey::from_ed_pem(pem.as_bytes()).expect("an EdDSA encoding key");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &encoding).expect("sign a token")
}

/// Claims auth would issue for `role`, valid now for 15 minutes.
pub fn valid_claims(role: &str) -> Value {
    let now = unix_now();
    json!({
        "sub": uuid::Uuid::new_v4().to_string(),
        "role": role,
        "name": "Test Caller",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 900,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs() as i64
}
