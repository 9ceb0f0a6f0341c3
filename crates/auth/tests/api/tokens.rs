//! Forged access tokens against an authenticated RPC (WhoAmI): every one is UNAUTHENTICATED, the genuine one is not.
//!
//! The service runs with a signing key the test generated, so the test can sign tokens with the real key and the real
//! `kid` and change one thing at a time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{Value, json};
use tonic::Code;

use devopstrack_auth::domain::Role;

use crate::helpers::{TestApp, TestUser, assert_status, spawn_app_with};

/// A service signing with a key the test knows, and a viewer to impersonate.
struct Forge {
    app: TestApp,
    viewer: TestUser,
    kid: String,
    x: String,
    key: EncodingKey,
}

fn generate_pem() -> String {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    key.to_pkcs8_pem(Default::default())
        .expect("encode a PKCS#8 PEM")
        .to_string()
}

async fn forge() -> Forge {
    let pem = generate_pem();
    let app = spawn_app_with(|settings| settings.signing_key_pem = Some(SecretString::from(pem.clone()))).await;
    let viewer = app.bootstrap("viewer@example.com", "Vic Viewer", Role::Viewer).await;
    let jwks = app.jwks().await;
    assert_eq!(jwks.len(), 1, "one configured key: {jwks:?}");
    let key = EncodingKey::from_ed_pem(pem.as_bytes()).expect("an Ed25519 PEM");
    Forge {
        kid: jwks[0].kid.clone(),
        x: jwks[0].x.clone(),
        app,
        viewer,
        key,
    }
}

impl Forge {
    /// Claims the server would issue for the viewer right now.
    fn claims(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "sub": self.viewer.id, "role": "viewer", "name": self.viewer.name, "iss": "devopstrack",
            "aud": "devopstrack", "iat": now, "exp": now + 900, "jti": uuid::Uuid::new_v4().to_string(),
        })
    }

    /// `claims` with `changes` merged in (a `null` removes the claim).
    fn claims_with(&self, changes: Value) -> Value {
        let mut claims = self.claims();
        for (name, value) in changes.as_object().expect("an object") {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    fn sign_with(&self, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, key).expect("sign")
    }

    /// Signed with the server's real key and kid.
    fn sign(&self, claims: &Value) -> String {
        self.sign_with(Some(&self.kid), claims, &self.key)
    }

    async fn assert_refused(&self, token: &str, why: &str) {
        let result = self.app.who_am_i(token).await;
        assert_status(result, Code::Unauthenticated, why);
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_genuine_token_is_accepted() {
    let forge = forge().await;

    let me = forge
        .app
        .who_am_i(&forge.sign(&forge.claims()))
        .await
        .expect("a genuine token");

    assert_eq!(
        (me.id.as_str(), me.name.as_str()),
        (forge.viewer.id.as_str(), "Vic Viewer")
    );
    let issued = forge.app.login_as(&forge.viewer).await.access_token;
    let header = jsonwebtoken::decode_header(&issued).expect("header");
    assert_eq!(
        header.kid.as_deref(),
        Some(forge.kid.as_str()),
        "the server signs with the configured key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alg_none_is_refused() {
    let forge = forge().await;
    let header = json!({ "alg": "none", "typ": "JWT", "kid": forge.kid });

    for signature in ["", "AAAA"] {
        let token = format!("{}.{}.{signature}", b64(&header), b64(&forge.claims()));

        forge.assert_refused(&token, "").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_signed_with_the_public_key_is_refused() {
    let forge = forge().await;
    let raw_public_key = URL_SAFE_NO_PAD.decode(&forge.x).expect("base64url x");
    assert_eq!(raw_public_key.len(), 32);

    for secret in [raw_public_key.as_slice(), forge.x.as_bytes()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(forge.kid.clone());
        let token = jsonwebtoken::encode(&header, &forge.claims(), &EncodingKey::from_secret(secret)).unwrap();

        forge.assert_refused(&token, "algorithm not allowed").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused() {
    let forge = forge().await;
    let now = chrono::Utc::now().timestamp();
    let claims = forge.claims_with(json!({ "iat": now - 3600, "exp": now - 2700 }));

    forge.assert_refused(&forge.sign(&claims), "token expired").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_issued_in_the_future_is_refused() {
    let forge = forge().await;
    let now = chrono::Utc::now().timestamp();
    let claims = forge.claims_with(json!({ "iat": now + 3600, "exp": now + 4500 }));

    forge.assert_refused(&forge.sign(&claims), "issued in the future").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_another_audience_is_refused() {
    let forge = forge().await;

    let token = forge.sign(&forge.claims_with(json!({ "aud": "someone-else" })));

    forge.assert_refused(&token, "wrong audience").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_another_issuer_is_refused() {
    let forge = forge().await;

    let token = forge.sign(&forge.claims_with(json!({ "iss": "https://evil.example.com" })));

    forge.assert_refused(&token, "wrong issuer").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_missing_a_required_claim_is_refused() {
    let forge = forge().await;

    for claim in ["exp", "iss", "aud", "sub", "role"] {
        let token = forge.sign(&forge.claims_with(json!({ claim: null })));

        forge.assert_refused(&token, "invalid token").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_by_an_unknown_key_is_refused() {
    let forge = forge().await;
    let stranger = EncodingKey::from_ed_pem(generate_pem().as_bytes()).unwrap();

    let token = forge.sign_with(Some("a-kid-nobody-published"), &forge.claims(), &stranger);

    forge.assert_refused(&token, "token signed by an unknown key").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_a_kid_is_refused() {
    let forge = forge().await;

    let token = forge.sign_with(None, &forge.claims(), &forge.key);

    forge.assert_refused(&token, "missing kid").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_key_using_the_servers_kid_is_refused() {
    let forge = forge().await;
    let stranger = EncodingKey::from_ed_pem(generate_pem().as_bytes()).unwrap();

    let token = forge.sign_with(Some(&forge.kid), &forge.claims(), &stranger);

    forge.assert_refused(&token, "bad signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_edited_after_signing_is_refused() {
    // Arrange: a genuine viewer token that works
    let forge = forge().await;
    let genuine = forge.sign(&forge.claims());
    assert!(forge.app.who_am_i(&genuine).await.is_ok());
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["role"] = json!("admin");

    // Act: promote it to admin, keeping the signature
    let edited = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);

    // Assert
    forge.assert_refused(&edited, "bad signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_tokens_are_refused() {
    let forge = forge().await;

    for garbage in ["garbage", "a.b.c", "...", "Bearer"] {
        forge.assert_refused(garbage, "").await;
    }
}
