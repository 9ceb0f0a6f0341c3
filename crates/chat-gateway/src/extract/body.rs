//! Request bodies: `application/json` only, at most [`MAX_BODY_BYTES`], a JSON object, and errors that name the
//! field at fault.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures::future::LocalBoxFuture;

use crate::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body: `application/json` only, at most [`MAX_BODY_BYTES`], and errors that name the offending field
/// (`role: unknown variant "root", expected one of …`).
pub struct Json<T>(pub T);

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = req.content_type().to_ascii_lowercase();
        let is_json = content_type == "application/json" || content_type.ends_with("+json");
        let length = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as Content-Type: application/json".into(),
                ));
            }
            if length.is_some_and(|n| n > MAX_BODY_BYTES) {
                return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
            }
            let bytes = body
                .await
                .map_err(|e| match e.as_response_error().status_code().as_u16() {
                    413 => ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES },
                    _ => ApiError::InvalidInput {
                        code: "invalid_body",
                        message: format!("cannot read the body: {e}"),
                    },
                })?;
            parse_body(&bytes).map(Json)
        })
    }
}

/// A request body: a JSON object (what every body of this API is), deserialized by [`parse_json`]. serde would also
/// read a struct from an array (`[null, null]`), which the document does not allow.
pub fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let valid_json = || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
    if first.is_some_and(|b| *b != b'{') && valid_json() {
        return Err(ApiError::invalid("body: must be a JSON object"));
    }
    let refused = match parse_json(bytes) {
        Ok(parsed) => return Ok(parsed),
        Err(refused) => refused,
    };
    // `15856.0` (or `3e2`) is a whole number, an `integer` to JSON Schema (and JavaScript writes some numbers so),
    // which serde refuses for an integer field: read again with whole numbers rewritten, when there are any.
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Err(refused);
    };
    if !integral_numbers_as_integers(&mut value) {
        return Err(refused);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ApiError::invalid(inner.to_string())
        } else {
            ApiError::invalid(format!("{path}: {inner}"))
        }
    })
}

/// Rewrites every whole number an integer type can hold (`3.0`, `3e0`) as an integer; whether there was one.
fn integral_numbers_as_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::{Number, Value};
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                *n = Number::from(f as u64);
                true
            } else if f.fract() == 0.0 && (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
                *n = Number::from(f as i64);
                true
            } else {
                false
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .map(integral_numbers_as_integers)
            .fold(false, |a, b| a | b),
        Value::Object(map) => map
            .values_mut()
            .map(integral_numbers_as_integers)
            .fold(false, |a, b| a | b),
        _ => false,
    }
}

/// Deserializes `bytes`, naming the field at fault.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let code = if inner.is_syntax() || inner.is_eof() {
            "invalid_json"
        } else {
            "invalid_argument"
        };
        let message = if path == "." || path.is_empty() {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        };
        ApiError::InvalidInput { code, message }
    })?;
    deserializer.end().map_err(|e| ApiError::InvalidInput {
        code: "invalid_json",
        message: e.to_string(),
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Demo {
        email: String,
        page_size: u32,
    }

    #[test]
    fn json_errors_name_the_field() {
        let cases: [(&[u8], &str, &str); 5] = [
            (
                br#"{"email":123,"pageSize":1}"#,
                "invalid_argument",
                "email: invalid type: integer",
            ),
            (
                br#"{"email":"a","pageSize":-1}"#,
                "invalid_argument",
                "pageSize: invalid value",
            ),
            (br#"{"pageSize":1}"#, "invalid_argument", "missing field `email`"),
            (br#"{"email":"a""#, "invalid_json", "EOF"),
            (br#"{"email":"a","pageSize":1} trailing"#, "invalid_json", "trailing"),
        ];
        for (body, want_code, want_message) in cases {
            match parse_json::<Demo>(body) {
                Err(ApiError::InvalidInput { code, message }) => {
                    assert_eq!(code, want_code, "{message}");
                    assert!(
                        message.contains(want_message),
                        "{message:?} should contain {want_message:?}"
                    );
                }
                other => panic!(
                    "expected InvalidInput for {:?}, got {other:?}",
                    String::from_utf8_lossy(body)
                ),
            }
        }
    }

    #[test]
    fn a_body_must_be_a_json_object_not_an_array_serde_would_read_as_one() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Optional {
            tier: Option<String>,
            url: Option<String>,
        }
        for body in [&b"[null, null]"[..], b"[]", b" 1", b"\"text\"", b"null", b"true"] {
            match parse_body::<Optional>(body) {
                Err(ApiError::InvalidInput { code, message }) => {
                    assert_eq!(code, "invalid_argument", "{message}");
                    assert!(message.contains("must be a JSON object"), "{message}");
                }
                other => panic!(
                    "{:?}: expected InvalidInput, got {other:?}",
                    String::from_utf8_lossy(body)
                ),
            }
        }
        assert!(parse_body::<Optional>(br#" {"tier": "staging"}"#).is_ok());
        match parse_body::<Optional>(br#"["staging", "#) {
            Err(ApiError::InvalidInput { code, .. }) => assert_eq!(code, "invalid_json", "not JSON says so"),
            other => panic!("expected invalid_json, got {other:?}"),
        }
    }

    #[test]
    fn whole_numbers_written_with_a_fraction_are_integers_but_fractions_are_not() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Update {
            expected_version: i64,
            timeout_s: Option<u32>,
        }
        let parsed = parse_body::<Update>(br#"{"expectedVersion": 15856.0, "timeoutS": 3e2}"#).unwrap();
        assert_eq!((parsed.expected_version, parsed.timeout_s), (15856, Some(300)));
        assert_eq!(
            parse_body::<Update>(br#"{"expectedVersion": -2.0}"#)
                .unwrap()
                .expected_version,
            -2
        );
        for body in [
            &br#"{"expectedVersion": 1.5}"#[..],
            br#"{"expectedVersion": 1, "timeoutS": -1.0}"#,
        ] {
            match parse_body::<Update>(body) {
                Err(ApiError::InvalidInput { code, message }) => {
                    assert_eq!(code, "invalid_argument", "{message}");
                    assert!(
                        message.contains("expectedVersion") || message.contains("timeoutS"),
                        "{message}"
                    );
                }
                other => panic!(
                    "{:?}: expected InvalidInput, got {other:?}",
                    String::from_utf8_lossy(body)
                ),
            }
        }
    }

    #[test]
    fn deeply_nested_json_is_refused_not_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_json::<serde_json::Value>(deep.as_bytes()).is_err());
    }
}
