//! Forged, tampered and stale access tokens against `GET /api/v1/auth/me` (verified at the edge, no round trip):
//! each is a 401 `unauthenticated` with `WWW-Authenticate: Bearer`. Tokens signed with the real key and the right
//! claims pass, so the refusals are about what each case changes.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, sign_eddsa, spawn_app, unix_now, valid_claims};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hs256(kid: &str, claims: &Value, secret: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).expect("sign HS256")
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

/// (what the case forges, the `Authorization` header or none, a fragment of the expected message).
fn forgeries(app: &TestApp) -> Vec<(&'static str, Option<String>, &'static str)> {
    let claims = valid_claims("admin");
    let now = unix_now();
    let bearer = |token: String| Some(format!("Bearer {token}"));
    let none_header = b64(json!({"alg": "none", "typ": "JWT", "kid": app.kid})
        .to_string()
        .as_bytes());
    let alg_none = format!("{none_header}.{}.", b64(claims.to_string().as_bytes()));
    let public_key = app.signing_key.verifying_key().to_bytes();
    let mut missing_exp = claims.clone();
    missing_exp.as_object_mut().unwrap().remove("exp");
    let genuine = app.sign(&with(claims.clone(), "role", json!("viewer")));
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let edited_payload = b64(with(claims.clone(), "role", json!("admin")).to_string().as_bytes());
    parts[1] = &edited_payload;
    let edited = parts.join(".");
    let impostor = SigningKey::generate(&mut rand::rngs::OsRng);
    vec![
        ("no Authorization header", None, "missing bearer token"),
        (
            "an empty bearer",
            Some("Bearer ".into()),
            "expected Authorization: Bearer",
        ),
        (
            "Basic credentials",
            Some(format!("Basic {}", STANDARD.encode("admin@example.com:pw"))),
            "Bearer",
        ),
        ("something that is not a JWT", bearer("not.a.jwt".into()), "malformed"),
        ("alg none", bearer(alg_none), "malformed"),
        (
            "HS256 keyed with the public key's bytes",
            bearer(hs256(&app.kid, &claims, &public_key)),
            "algorithm",
        ),
        (
            "HS256 keyed with the JWK's x",
            bearer(hs256(&app.kid, &claims, app.jwk_x.as_bytes())),
            "algorithm",
        ),
        (
            "an expired token",
            bearer(app.sign(&with(
                with(claims.clone(), "exp", json!(now - 3600)),
                "iat",
                json!(now - 7200),
            ))),
            "expired",
        ),
        (
            "another audience",
            bearer(app.sign(&with(claims.clone(), "aud", json!("someone-else")))),
            "audience",
        ),
        (
            "another issuer",
            bearer(app.sign(&with(claims.clone(), "iss", json!("evil-corp")))),
            "issuer",
        ),
        (
            "issued in the future",
            bearer(app.sign(&with(
                with(claims.clone(), "iat", json!(now + 3600)),
                "exp",
                json!(now + 7200),
            ))),
            "future",
        ),
        ("no exp claim", bearer(app.sign(&missing_exp)), "invalid token"),
        (
            "an unknown kid",
            bearer(sign_eddsa(&app.signing_key, "not-a-published-kid", &claims)),
            "unknown key",
        ),
        (
            "another key under the real kid",
            bearer(sign_eddsa(&impostor, &app.kid, &claims)),
            "signature",
        ),
        ("a payload edited after signing", bearer(edited), "signature"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_tampered_tokens_are_refused_as_unauthenticated() {
    let app = spawn_app().await;

    let mut failures = Vec::new();
    for (forgery, authorization, fragment) in forgeries(&app) {
        let mut request = app.http.get(app.url("/api/v1/auth/me"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let message = body["error"]["message"].as_str().unwrap_or_default();
        let ok = status == 401
            && body["error"]["code"] == "unauthenticated"
            && challenge.as_deref() == Some("Bearer")
            && message.contains(fragment);
        if !ok {
            failures.push(format!(
                "{forgery}: got {status} {body} (WWW-Authenticate {challenge:?}; want {fragment:?})"
            ));
        }
    }

    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_with_the_real_key_and_the_right_claims_is_accepted() {
    let app = spawn_app().await;
    let claims = valid_claims("operator");

    let response = app.get("/api/v1/auth/me", Some(&app.sign(&claims))).await;

    assert_eq!(response.status().as_u16(), 200);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["id"], claims["sub"]);
    assert_eq!(me["role"], "operator");
    assert_eq!(me["name"], "Test Caller");
}
