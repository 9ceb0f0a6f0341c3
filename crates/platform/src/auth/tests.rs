//! Forged, stale and misdirected tokens are refused; rotated keys are picked up.

use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{EncodingKey, Header};

use super::*;

struct Key {
    kid: String,
    signing: SigningKey,
}

impl Key {
    fn generate(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            signing: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.verifying_key().to_bytes())
    }

    fn jwk(&self) -> Jwk {
        Jwk::ed25519(&self.kid, self.x())
    }

    fn sign(&self, claims: &Claims) -> String {
        let pem = self.signing.to_pkcs8_pem(Default::default()).unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_pem(pem.as_bytes()).unwrap()).unwrap()
    }
}

fn claims() -> Claims {
    let now = now_secs();
    Claims {
        sub: "0190a6e4-0000-7000-8000-000000000001".into(),
        role: Role::Admin,
        name: "Ada".into(),
        iss: "devopstrack".into(),
        aud: "devopstrack".into(),
        iat: now,
        exp: now + 900,
        jti: "j1".into(),
        api_token_id: None,
    }
}

fn verifier_for(keys: Vec<Jwk>, fetches: Arc<AtomicUsize>) -> JwtVerifier {
    let keys = Arc::new(RwLock::new(keys));
    let fetcher: JwksFetcher = Arc::new(move || {
        fetches.fetch_add(1, Ordering::SeqCst);
        let keys = keys.read().clone();
        Box::pin(async move { Ok(keys) })
    });
    JwtVerifier::new("devopstrack", "devopstrack", fetcher)
}

#[tokio::test]
async fn a_valid_token_verifies_and_is_cached() {
    let key = Key::generate("k1");
    let fetches = Arc::new(AtomicUsize::new(0));
    let verifier = verifier_for(vec![key.jwk()], fetches.clone());
    let token = key.sign(&claims());

    let principal = verifier.verify(&token).await.unwrap();
    assert_eq!(
        (principal.role, principal.name.as_str(), principal.token_id.as_str()),
        (Role::Admin, "Ada", "j1")
    );
    assert_eq!(verifier.verify(&token).await.unwrap(), principal);
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "keys are fetched once");
}

#[tokio::test]
async fn forged_and_misdirected_tokens_are_refused() {
    let key = Key::generate("k1");
    let verifier = verifier_for(vec![key.jwk()], Arc::new(AtomicUsize::new(0)));
    let good = key.sign(&claims());
    let (header_and_claims, _) = good.rsplit_once('.').unwrap();
    let payload = header_and_claims.split('.').nth(1).unwrap();

    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
    let alg_none = format!("{none_header}.{payload}.");

    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("k1".into());
    let hs256_with_public_key = jsonwebtoken::encode(
        &hs_header,
        &claims(),
        &EncodingKey::from_secret(key.signing.verifying_key().as_bytes()),
    )
    .unwrap();
    let hs256_with_x =
        jsonwebtoken::encode(&hs_header, &claims(), &EncodingKey::from_secret(key.x().as_bytes())).unwrap();

    let expired = key.sign(&Claims {
        iat: now_secs() - 3600,
        exp: now_secs() - 1800,
        ..claims()
    });
    let wrong_aud = key.sign(&Claims {
        aud: "someone-else".into(),
        ..claims()
    });
    let wrong_iss = key.sign(&Claims {
        iss: "evil".into(),
        ..claims()
    });
    let future = key.sign(&Claims {
        iat: now_secs() + 3600,
        exp: now_secs() + 7200,
        ..claims()
    });
    let impostor = Key {
        kid: "k1".into(),
        signing: SigningKey::generate(&mut rand::rngs::OsRng),
    }
    .sign(&claims());
    let unknown_kid = Key::generate("k-unknown").sign(&claims());
    let tampered = {
        let forged_claims = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                role: Role::Admin,
                sub: "x".into(),
                ..claims()
            })
            .unwrap(),
        );
        let mut parts: Vec<&str> = good.split('.').collect();
        parts[1] = &forged_claims;
        parts.join(".")
    };

    let cases = [
        ("alg none (not even a JWS algorithm)", alg_none, TokenError::Malformed),
        (
            "HS256 keyed with the public key",
            hs256_with_public_key,
            TokenError::Invalid("algorithm not allowed"),
        ),
        (
            "HS256 keyed with x",
            hs256_with_x,
            TokenError::Invalid("algorithm not allowed"),
        ),
        ("expired", expired, TokenError::Expired),
        ("wrong audience", wrong_aud, TokenError::Invalid("wrong audience")),
        ("wrong issuer", wrong_iss, TokenError::Invalid("wrong issuer")),
        (
            "issued in the future",
            future,
            TokenError::Invalid("issued in the future"),
        ),
        (
            "signed by another key with the same kid",
            impostor,
            TokenError::Invalid("bad signature"),
        ),
        ("unknown kid", unknown_kid, TokenError::UnknownKey),
        ("garbage", "not.a.jwt".to_owned(), TokenError::Malformed),
        ("empty", String::new(), TokenError::Malformed),
    ];
    for (what, token, want) in cases {
        assert_eq!(verifier.verify(&token).await.unwrap_err(), want, "{what}");
    }
    assert!(verifier.verify(&tampered).await.is_err(), "tampered claims");
    assert!(verifier.verify(&good).await.is_ok(), "the genuine token still verifies");
}

#[tokio::test]
async fn a_rotated_key_is_fetched_on_first_sight() {
    let old = Key::generate("old");
    let new = Key::generate("new");
    let keys = Arc::new(RwLock::new(vec![old.jwk()]));
    let published = keys.clone();
    let fetcher: JwksFetcher = Arc::new(move || {
        let keys = published.read().clone();
        Box::pin(async move { Ok(keys) })
    });
    let verifier = JwtVerifier::new("devopstrack", "devopstrack", fetcher);
    verifier.verify(&old.sign(&claims())).await.unwrap();

    keys.write().push(new.jwk());
    *verifier.last_fetch.lock().await = None; // as if MIN_REFRESH_INTERVAL had passed
    let principal = verifier.verify(&new.sign(&claims())).await.unwrap();
    assert_eq!(principal.role, Role::Admin);
    assert!(
        verifier.verify(&old.sign(&claims())).await.is_ok(),
        "the previous key still verifies"
    );
}

#[tokio::test]
async fn unknown_kids_do_not_hammer_the_key_source() {
    let key = Key::generate("k1");
    let fetches = Arc::new(AtomicUsize::new(0));
    let verifier = verifier_for(vec![key.jwk()], fetches.clone());
    for i in 0..20 {
        let stranger = Key::generate(&format!("stranger-{i}"));
        assert_eq!(
            verifier.verify(&stranger.sign(&claims())).await.unwrap_err(),
            TokenError::UnknownKey
        );
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unreachable_key_source_is_unavailable_not_unauthenticated() {
    let fetcher: JwksFetcher = Arc::new(|| Box::pin(async { Err("auth is down".to_owned()) }));
    let verifier = JwtVerifier::new("devopstrack", "devopstrack", fetcher);
    let token = Key::generate("k1").sign(&claims());
    assert!(matches!(
        verifier.verify(&token).await,
        Err(TokenError::KeysUnavailable(_))
    ));
}

#[tokio::test]
async fn a_key_withdrawn_from_the_jwks_stops_verifying_once_the_refresh_interval_passes() {
    // Arrange: a token of `old`, verified (and so cached), then `old` withdrawn in favour of `new`.
    let (old, new) = (Key::generate("old"), Key::generate("new"));
    let published = Arc::new(RwLock::new(vec![old.jwk()]));
    let source = published.clone();
    let fetcher: JwksFetcher = Arc::new(move || {
        let keys = source.read().clone();
        Box::pin(async move { Ok(keys) })
    });
    let bound = Duration::from_millis(100);
    let verifier = JwtVerifier::with_refresh_interval("devopstrack", "devopstrack", fetcher, bound);
    let token = old.sign(&claims());
    verifier.verify(&token).await.expect("the old key verifies");
    *published.write() = vec![new.jwk()];

    // Act: past the bound (a slow machine only makes more time pass)
    tokio::time::sleep(bound * 2).await;
    let after_the_bound = verifier.verify(&token).await;

    // Assert: refused although it was cached, and the new key verifies
    assert_eq!(after_the_bound.unwrap_err(), TokenError::UnknownKey);
    assert!(verifier.verify(&new.sign(&claims())).await.is_ok());
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_keys_it_has() {
    // Arrange: keys fetched once, then the source goes down
    let key = Key::generate("k1");
    let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (source_up, counted) = (up.clone(), fetches.clone());
    let jwks = vec![key.jwk()];
    let fetcher: JwksFetcher = Arc::new(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        let answer = if source_up.load(Ordering::SeqCst) {
            Ok(jwks.clone())
        } else {
            Err("auth is down".to_owned())
        };
        Box::pin(async move { answer })
    });
    let bound = Duration::from_millis(100);
    let verifier = JwtVerifier::with_refresh_interval("devopstrack", "devopstrack", fetcher, bound);
    let token = key.sign(&claims());
    verifier.verify(&token).await.unwrap();
    up.store(false, Ordering::SeqCst);

    // Act
    tokio::time::sleep(bound * 2).await;
    let while_down = verifier.verify(&token).await;

    // Assert: a refresh was tried, failed, and the token still verifies with the keys at hand
    assert!(fetches.load(Ordering::SeqCst) >= 2, "a refresh was attempted");
    assert!(while_down.is_ok(), "{while_down:?}");
}

#[test]
fn the_refresh_interval_is_a_bounded_number_of_seconds() {
    assert_eq!(parse_refresh_interval(None), Ok(DEFAULT_REFRESH_INTERVAL));
    assert_eq!(parse_refresh_interval(Some(" 2 ")), Ok(Duration::from_secs(2)));
    for bad in ["0", "3601", "1m", ""] {
        let error = parse_refresh_interval(Some(bad)).unwrap_err();
        assert!(error.starts_with("DEVOPSTRACK_JWKS_REFRESH_SECS: "), "{error}");
    }
}

#[test]
fn bearer_values_are_parsed_strictly() {
    assert_eq!(bearer("Bearer abc"), Some("abc"));
    assert_eq!(bearer("bearer  abc "), Some("abc"));
    assert_eq!(bearer("Basic abc"), None);
    assert_eq!(bearer("Bearer "), None);
    assert_eq!(bearer("Bearerabc"), None);
}
