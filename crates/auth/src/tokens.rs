//! Opaque secrets (refresh tokens, API tokens), their stored hashes, and page tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use uuid::Uuid;

use crate::domain::Cursor;

/// `prefix` + 32 random bytes, base64url.
pub fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub use crate::domain::sha256_hex;

/// An opaque page token for a `(created_at, id)` keyset cursor.
pub fn encode_page_token(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", cursor.created_at.timestamp_micros(), cursor.id))
}

pub fn decode_page_token(token: &str) -> Result<Option<Cursor>, String> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || "pageToken: is not a token this server issued".to_owned();
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let (micros, id) = raw.split_once(':').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let created_at: DateTime<Utc> = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
    let id = Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok(Some(Cursor { created_at, id }))
}

/// The next page's token for `rows`, read with one row more than `limit` to learn whether another page follows:
/// `None` when that row is not there; otherwise it is dropped and the token points after the page's last row.
pub fn next_page_token<T>(rows: &mut Vec<T>, limit: u32, cursor: impl Fn(&T) -> Cursor) -> Option<String> {
    if rows.len() <= limit as usize {
        return None;
    }
    rows.truncate(limit as usize);
    rows.last().map(|row| encode_page_token(&cursor(row)))
}

/// Page size: 0 means the default (50); values above 200 are clamped (AIP-158); negatives are an error.
pub fn page_size(requested: i32) -> Result<u32, String> {
    match requested {
        n if n < 0 => Err("pageSize: must not be negative".into()),
        0 => Ok(50),
        n => Ok(n.min(200) as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            created_at: crate::domain::now_micros(),
            id: Uuid::new_v4(),
        };
        assert_eq!(decode_page_token(&encode_page_token(&cursor)).unwrap(), Some(cursor));
        assert_eq!(decode_page_token("").unwrap(), None);
        for bad in ["%%%", "bm90LWEtY3Vyc29y", &URL_SAFE_NO_PAD.encode("12:not-a-uuid")] {
            assert!(decode_page_token(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_next_page_token_is_given_only_when_the_extra_row_came_back() {
        let rows: Vec<Cursor> = (0..3)
            .map(|_| Cursor {
                created_at: crate::domain::now_micros(),
                id: Uuid::new_v4(),
            })
            .collect();
        let mut full = rows.clone();
        let token = next_page_token(&mut full, 2, |c| *c).expect("a third row follows");
        assert_eq!(full, rows[..2]);
        assert_eq!(decode_page_token(&token).unwrap(), Some(rows[1]));
        let mut last = rows[..2].to_vec();
        assert_eq!(next_page_token(&mut last, 2, |c| *c), None);
        assert_eq!(last, rows[..2]);
    }

    #[test]
    fn page_sizes_default_clamp_and_reject_negatives() {
        assert_eq!(page_size(0).unwrap(), 50);
        assert_eq!(page_size(7).unwrap(), 7);
        assert_eq!(page_size(10_000).unwrap(), 200);
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn secrets_are_prefixed_random_and_hashed() {
        let a = random_secret("dtk_");
        assert!(a.starts_with("dtk_") && a.len() == 4 + 43, "{a}");
        assert_ne!(a, random_secret("dtk_"));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
