//! The fetcher against a counting stand-in for `GetJwks`, through platform's verifier: keys arrive converted, an
//! unknown `kid` refreshes them at most once per rate-limit window, and auth blinking is retried.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devopstrack_platform::auth::{Claims, MIN_REFRESH_INTERVAL, Role, TokenError};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::*;

/// A signing key of auth's, named `kid`.
struct Key(&'static str, SigningKey);

impl Key {
    fn generate(kid: &'static str) -> Self {
        Key(kid, SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// The key as auth's `GetJwks` publishes it.
    fn published(&self) -> auth_pb::Jwk {
        let Key(kid, signing) = self;
        auth_pb::Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes()),
            kid: (*kid).into(),
            alg: "EdDSA".into(),
            r#use: "sig".into(),
        }
    }

    /// A service token of `tasks`, valid for 15 minutes, signed with this key.
    fn token(&self) -> String {
        let Key(kid, signing) = self;
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let claims = Claims {
            sub: "service:tasks".into(),
            role: Role::Service,
            name: "tasks".into(),
            iss: "devopstrack".into(),
            aud: "devopstrack".into(),
            iat: now,
            exp: now + 900,
            jti: format!("jti-{kid}"),
            api_token_id: None,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some((*kid).into());
        let pem = signing.to_pkcs8_pem(Default::default()).unwrap();
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_pem(pem.as_bytes()).unwrap()).unwrap()
    }
}

/// A stand-in for auth: publishes `keys`, counts the calls, fails the first `failures` with UNAVAILABLE.
struct FakeAuth {
    keys: Mutex<Vec<auth_pb::Jwk>>,
    calls: AtomicUsize,
    failures: AtomicUsize,
}

impl FakeAuth {
    fn new(keys: Vec<auth_pb::Jwk>) -> Arc<Self> {
        Arc::new(Self {
            keys: Mutex::new(keys),
            calls: AtomicUsize::new(0),
            failures: AtomicUsize::new(0),
        })
    }

    fn fetcher(self: &Arc<Self>) -> JwksFetcher {
        let auth = self.clone();
        fetcher(move || {
            let auth = auth.clone();
            async move {
                auth.calls.fetch_add(1, Ordering::SeqCst);
                let failing = auth.failures.load(Ordering::SeqCst);
                if failing > 0 {
                    auth.failures.store(failing - 1, Ordering::SeqCst);
                    return Err(tonic::Status::unavailable("auth is restarting"));
                }
                Ok(auth.keys.lock().unwrap().clone())
            }
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn verifier_of(auth: &Arc<FakeAuth>) -> JwtVerifier {
    JwtVerifier::with_refresh_interval("devopstrack", "devopstrack", auth.fetcher(), Duration::from_secs(3600))
}

#[tokio::test]
async fn published_keys_are_converted_and_verify_tokens() {
    let key = Key::generate("k1");
    let auth = FakeAuth::new(vec![key.published()]);

    let keys = (auth.fetcher())().await.unwrap();
    let principal = verifier_of(&auth).verify(&key.token()).await.unwrap();

    assert_eq!(keys, [Jwk::ed25519("k1", key.published().x)]);
    assert_eq!(principal.service_client(), Some("tasks"));
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_keys_and_a_flood_of_them_costs_one_fetch_per_window() {
    let key = Key::generate("k1");
    let auth = FakeAuth::new(vec![key.published()]);
    let verifier = verifier_of(&auth);

    // Nothing cached yet: the first token's kid is unknown, so the keys are fetched.
    verifier
        .verify(&key.token())
        .await
        .expect("an unknown kid fetches the keys");
    assert_eq!(auth.calls(), 1);

    // A flood of tokens of a key auth never published costs no more fetches inside the window.
    let stranger = Key::generate("stranger");
    for _ in 0..5 {
        assert_eq!(
            verifier.verify(&stranger.token()).await.unwrap_err(),
            TokenError::UnknownKey
        );
    }
    // Even a key auth publishes now waits for the window to pass (platform's MIN_REFRESH_INTERVAL).
    let rotated = Key::generate("rotated");
    auth.keys.lock().unwrap().push(rotated.published());
    assert_eq!(
        verifier.verify(&rotated.token()).await.unwrap_err(),
        TokenError::UnknownKey
    );
    assert_eq!(
        auth.calls(),
        1,
        "rate limited to one fetch per {MIN_REFRESH_INTERVAL:?}"
    );

    // A forced refresh (what a service does at start-up) ignores the window and picks the new key up.
    verifier.refresh(true).await.unwrap();
    assert!(verifier.verify(&rotated.token()).await.is_ok());
    assert_eq!(auth.calls(), 2);
}

#[tokio::test]
async fn auth_blinking_is_retried_and_auth_down_says_keys_unavailable() {
    let key = Key::generate("k1");
    let auth = FakeAuth::new(vec![key.published()]);
    auth.failures.store(2, Ordering::SeqCst);

    let keys = (auth.fetcher())().await;

    assert_eq!(keys.unwrap().len(), 1, "two UNAVAILABLE answers are retried");
    assert_eq!(auth.calls(), 3);

    auth.failures.store(3, Ordering::SeqCst);
    let error = verifier_of(&auth).verify(&key.token()).await.unwrap_err();
    assert!(
        matches!(&error, TokenError::KeysUnavailable(reason) if reason.contains("auth GetJwks: Unavailable")),
        "{error:?}"
    );
}

#[tokio::test]
async fn failed_key_fetches_are_counted() {
    let failures = prometheus_client::metrics::counter::Counter::<u64>::default();
    let failing =
        fetcher(|| async { Err::<Vec<devopstrack_proto::auth::v1::Jwk>, _>(tonic::Status::permission_denied("no")) });
    let counted = super::counted(failing, failures.clone());
    assert!(counted().await.is_err());
    assert!(counted().await.is_err());
    assert_eq!(failures.get(), 2);
    let working = super::counted(fetcher(|| async { Ok(Vec::new()) }), failures.clone());
    assert!(working().await.is_ok());
    assert_eq!(failures.get(), 2, "a successful fetch is not a failure");
}
