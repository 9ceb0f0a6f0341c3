//! Access-token verification (`JwtVerifier::verify_claims`, which every service runs on every call): the header and
//! claims parsing behind it and the checks on what they say.
//!
//! One verifier knows one Ed25519 key (`kid` "k1"). Cases: any string; a header and claims of any bytes, properly
//! signed with that key (so parsing past the signature is reached); a good token with one byte changed; and claims
//! of chosen values, signed. Invariants: no input panics; a token is accepted only when its signature is the key's
//! over exactly its header and claims, its header says EdDSA and "k1", and its issuer, audience, expiry and issue time
//! check out; a token signed over valid claims is accepted (away from the expiry and issue-time boundaries).
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devopstrack_platform::auth::{Claims, Jwk, JwksFetcher, JwtVerifier};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const ISSUER: &str = "devopstrack";
const AUDIENCE: &str = "devopstrack-api";
const KID: &str = "k1";
/// `auth::LEEWAY_SECS`.
const LEEWAY: i64 = 30;
/// How far from a boundary a time must be for the outcome to be certain while the fuzzer runs.
const MARGIN: i64 = 600;

struct Setup {
    runtime: tokio::runtime::Runtime,
    verifier: JwtVerifier,
    key: SigningKey,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let key = SigningKey::from_bytes(&[7; 32]);
        let jwk = Jwk::ed25519(KID, URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()));
        let fetcher: JwksFetcher = Arc::new(move || {
            let keys = vec![jwk.clone()];
            Box::pin(async move { Ok(keys) })
        });
        let verifier = JwtVerifier::with_refresh_interval(ISSUER, AUDIENCE, fetcher, Duration::from_secs(3600));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(verifier.refresh(true)).expect("the keys load");
        Setup { runtime, verifier, key }
    })
}

#[derive(Arbitrary, Debug)]
enum Case {
    Any(String),
    Signed { header: Vec<u8>, claims: Vec<u8> },
    Changed { position: usize, byte: u8 },
    Chosen(Chosen),
}

#[derive(Arbitrary, Debug)]
struct Chosen {
    alg: u8,
    kid: Option<String>,
    sub: String,
    role: u8,
    name: String,
    right_issuer: bool,
    right_audience: bool,
    iat_offset: i32,
    exp_offset: i32,
    jti: String,
    api_token_id: Option<String>,
}

fuzz_target!(|case: Case| {
    let s = setup();
    match case {
        Case::Any(token) => {
            verify(s, &token);
        }
        Case::Signed { header, claims } => {
            verify(s, &sign(&s.key, &header, &claims));
        }
        Case::Changed { position, byte } => {
            let good = sign_json(
                &s.key,
                &json!({"alg": "EdDSA", "typ": "JWT", "kid": KID}),
                &claims_json(None),
            );
            assert!(verify(s, &good).is_some(), "a good token is accepted");
            let mut bytes = good.clone().into_bytes();
            let position = position % bytes.len();
            bytes[position] = byte;
            if let Ok(changed) = String::from_utf8(bytes)
                && changed != good
            {
                assert!(verify(s, &changed).is_none(), "a changed token was accepted: {changed}");
            }
        }
        Case::Chosen(c) => chosen(s, c),
    }
});

fn chosen(s: &Setup, c: Chosen) {
    let alg = ["EdDSA", "HS256", "none", "RS256", "eddsa"][usize::from(c.alg) % 5];
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if let Some(kid) = &c.kid {
        header["kid"] = json!(kid);
    }
    let role = ["viewer", "operator", "admin", "service", "root", ""][usize::from(c.role) % 6];
    let now = now();
    let (iat, exp) = (now + i64::from(c.iat_offset), now + i64::from(c.exp_offset));
    let claims = json!({
        "sub": c.sub, "role": role, "name": c.name,
        "iss": if c.right_issuer { ISSUER } else { "someone-else" },
        "aud": if c.right_audience { AUDIENCE } else { "another-api" },
        "iat": iat, "exp": exp, "jti": c.jti, "api_token_id": c.api_token_id,
    });
    let accepted = verify(s, &sign_json(&s.key, &header, &claims));
    let certain = (exp + LEEWAY - now).abs() > MARGIN && (iat - LEEWAY - now).abs() > MARGIN;
    let valid = alg == "EdDSA"
        && c.kid.as_deref() == Some(KID)
        && role != "root"
        && !role.is_empty()
        && c.right_issuer
        && c.right_audience
        && exp + LEEWAY > now
        && iat <= now + LEEWAY;
    if certain {
        assert_eq!(accepted.is_some(), valid, "{header} {claims}");
    }
    if let Some(got) = accepted {
        assert_eq!(
            (got.sub, got.name, got.jti, got.iat, got.exp),
            (c.sub, c.name, c.jti, iat, exp)
        );
        assert_eq!(got.api_token_id, c.api_token_id);
        assert_eq!(got.role.as_str(), role);
    }
}

/// The claims of an accepted token, after checking what acceptance promises.
fn verify(s: &Setup, token: &str) -> Option<Claims> {
    let claims = s.runtime.block_on(s.verifier.verify_claims(token)).ok()?;
    let (signed, signature) = token.rsplit_once('.').expect("three segments");
    let (header, _) = signed.split_once('.').expect("three segments");
    let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url signature");
    let signature = Signature::from_slice(&signature).expect("an Ed25519 signature");
    assert!(
        s.key.verifying_key().verify(signed.as_bytes(), &signature).is_ok(),
        "accepted a token the key did not sign: {token}"
    );
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], KID);
    assert_eq!((claims.iss.as_str(), claims.aud.as_str()), (ISSUER, AUDIENCE));
    let now = now();
    assert!(claims.exp + LEEWAY > now - 5, "expired: {}", claims.exp);
    assert!(claims.iat <= now + LEEWAY + 5, "issued in the future: {}", claims.iat);
    Some(claims)
}

fn claims_json(api_token_id: Option<&str>) -> serde_json::Value {
    let now = now();
    json!({
        "sub": "0190a6e4-0000-7000-8000-000000000001", "role": "admin", "name": "Ada",
        "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 900, "jti": "j1", "api_token_id": api_token_id,
    })
}

fn sign_json(key: &SigningKey, header: &serde_json::Value, claims: &serde_json::Value) -> String {
    sign(key, header.to_string().as_bytes(), claims.to_string().as_bytes())
}

/// `base64url(header).base64url(claims).base64url(signature)`, signed with `key`.
fn sign(key: &SigningKey, header: &[u8], claims: &[u8]) -> String {
    let signed = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = key.sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
