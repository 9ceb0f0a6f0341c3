//! Audit queries: filters, page size, and the opaque page token that carries the cursor.
//!
//! A page token is `base64url(1 ‖ seq ‖ tag)`: the sequence number the next page starts below, and the first 16
//! bytes of an HMAC-SHA256, keyed per database, over the version, the sequence number and the query's filters. So a
//! token is only good for the query that issued it (on any replica), and anything else — edited, truncated,
//! random, from another filter — is refused with `pageToken: …` before it reaches SQL.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::AuditRecord;
use crate::chat::store::types::check_line;
use crate::chat::store::{StoreError, StoreResult};

/// An audit page holds 1 to this many records.
pub const MAX_AUDIT_PAGE: u32 = 100;

const TOKEN_VERSION: u8 = 1;
const TAG_LEN: usize = 16;
const TOKEN_LEN: usize = 1 + 8 + TAG_LEN;
/// Longer input is refused before decoding.
const MAX_TOKEN_CHARS: usize = 64;

/// Which records a page holds: every filter is optional; `kind` ending in `*` matches as a prefix
/// (`chat.action.*`); `from` is inclusive, `to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// An actor's subject, exactly.
    pub actor: Option<String>,
    pub kind: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The `nextPageToken` of the previous page of the same query.
    pub page_token: Option<String>,
    /// 1 to [`MAX_AUDIT_PAGE`].
    pub limit: u32,
}

/// A page of records, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    /// Present when older records match.
    pub next_page_token: Option<String>,
}

/// The key page tokens are signed with: random, made once per database and shared by every replica on it.
#[derive(Clone)]
pub(crate) struct PageKey([u8; 32]);

impl PageKey {
    pub const LEN: usize = 32;

    pub fn generate() -> [u8; 32] {
        rand::random()
    }

    pub fn from_stored(bytes: &[u8]) -> StoreResult<Self> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| StoreError::Corrupt(format!("page token key: {} bytes, want {}", bytes.len(), Self::LEN)))
    }

    fn mac(&self, seq: u64, fingerprint: &[u8; 32]) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC accepts a 32-byte key");
        mac.update(&[TOKEN_VERSION]);
        mac.update(&seq.to_be_bytes());
        mac.update(fingerprint);
        mac
    }
}

impl std::fmt::Debug for PageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageKey(..)")
    }
}

/// A checked query, ready for SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryPlan {
    pub actor: Option<String>,
    pub kind: Option<KindFilter>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only records with a smaller sequence number (from the page token).
    pub before_seq: Option<i64>,
    pub limit: u32,
    fingerprint: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KindFilter {
    Exact(String),
    Prefix(String),
}

impl QueryPlan {
    pub fn new(query: &AuditQuery, key: &PageKey) -> StoreResult<Self> {
        if !(1..=MAX_AUDIT_PAGE).contains(&query.limit) {
            return Err(StoreError::invalid(
                "limit",
                format!("must be between 1 and {MAX_AUDIT_PAGE}"),
            ));
        }
        if let Some(actor) = &query.actor {
            check_line("actor", actor, 128).map_err(StoreError::InvalidInput)?;
        }
        let kind = match &query.kind {
            None => None,
            Some(kind) => {
                check_line("kind", kind, 120).map_err(StoreError::InvalidInput)?;
                match kind.strip_suffix('*') {
                    Some(prefix) if prefix.contains('*') => {
                        return Err(StoreError::invalid("kind", "`*` is allowed only at the end"));
                    }
                    Some(prefix) => Some(KindFilter::Prefix(prefix.to_owned())),
                    None if kind.contains('*') => {
                        return Err(StoreError::invalid("kind", "`*` is allowed only at the end"));
                    }
                    None => Some(KindFilter::Exact(kind.clone())),
                }
            }
        };
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from >= to
        {
            return Err(StoreError::invalid("from", "must be before to"));
        }
        let fingerprint = fingerprint(query);
        let before_seq = match &query.page_token {
            None => None,
            Some(token) => Some(decode(token, key, &fingerprint)?),
        };
        Ok(Self {
            actor: query.actor.clone(),
            kind,
            from: query.from.map(crate::chat::store::micros),
            to: query.to.map(crate::chat::store::micros),
            before_seq,
            limit: query.limit,
            fingerprint,
        })
    }

    /// The token for the page after one whose last (oldest) record is `last_seq`.
    pub fn next_token(&self, key: &PageKey, last_seq: u64) -> String {
        let tag = key.mac(last_seq, &self.fingerprint).finalize().into_bytes();
        let mut bytes = Vec::with_capacity(TOKEN_LEN);
        bytes.push(TOKEN_VERSION);
        bytes.extend_from_slice(&last_seq.to_be_bytes());
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The page from the rows a store fetched for this plan, newest first: `limit + 1` of them at most, the extra one
    /// only saying that older records match (then the page carries the token for them).
    pub(crate) fn page(&self, key: &PageKey, mut records: Vec<AuditRecord>) -> AuditPage {
        let more = records.len() > self.limit as usize;
        records.truncate(self.limit as usize);
        let next_page_token = match records.last() {
            Some(last) if more => Some(self.next_token(key, last.seq)),
            _ => None,
        };
        AuditPage {
            records,
            next_page_token,
        }
    }
}

/// The filters of a query, hashed: what binds a token to its query.
fn fingerprint(query: &AuditQuery) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [
        query.actor.as_deref(),
        query.kind.as_deref(),
        query.from.map(|t| t.timestamp_micros().to_string()).as_deref(),
        query.to.map(|t| t.timestamp_micros().to_string()).as_deref(),
    ] {
        match part {
            Some(value) => {
                hasher.update([1]);
                hasher.update(u32::try_from(value.len()).unwrap_or(u32::MAX).to_be_bytes());
                hasher.update(value.as_bytes());
            }
            None => hasher.update([0]),
        }
    }
    hasher.finalize().into()
}

fn decode(token: &str, key: &PageKey, fingerprint: &[u8; 32]) -> StoreResult<i64> {
    let refuse = || StoreError::invalid("pageToken", "not a page token of this query; start again without it");
    if token.len() > MAX_TOKEN_CHARS {
        return Err(refuse());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| refuse())?;
    if bytes.len() != TOKEN_LEN || bytes[0] != TOKEN_VERSION {
        return Err(refuse());
    }
    let seq = u64::from_be_bytes(bytes[1..9].try_into().map_err(|_| refuse())?);
    key.mac(seq, fingerprint)
        .verify_truncated_left(&bytes[9..])
        .map_err(|_| refuse())?;
    i64::try_from(seq).map_err(|_| refuse())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PageKey {
        PageKey::from_stored(&[7; 32]).unwrap()
    }

    fn query(actor: &str) -> AuditQuery {
        AuditQuery {
            actor: Some(actor.into()),
            limit: 10,
            ..AuditQuery::default()
        }
    }

    #[test]
    fn a_token_resumes_the_query_that_issued_it() {
        let plan = QueryPlan::new(&query("ann"), &key()).unwrap();
        let token = plan.next_token(&key(), 42);
        let next = AuditQuery {
            page_token: Some(token),
            ..query("ann")
        };
        assert_eq!(QueryPlan::new(&next, &key()).unwrap().before_seq, Some(42));
    }

    #[test]
    fn a_token_is_refused_by_another_query_or_key() {
        let token = QueryPlan::new(&query("ann"), &key()).unwrap().next_token(&key(), 42);
        let other_filter = AuditQuery {
            page_token: Some(token.clone()),
            ..query("bob")
        };
        let other_key = PageKey::from_stored(&[8; 32]).unwrap();
        let same = AuditQuery {
            page_token: Some(token),
            ..query("ann")
        };
        for (q, k) in [(&other_filter, key()), (&same, other_key)] {
            let error = QueryPlan::new(q, &k).unwrap_err().to_string();
            assert!(error.starts_with("pageToken:"), "{error}");
        }
    }

    #[test]
    fn every_altered_or_random_token_is_refused_without_panicking() {
        let token = QueryPlan::new(&query("ann"), &key()).unwrap().next_token(&key(), 42);
        let mut candidates: Vec<String> = (0..token.len())
            .map(|i| {
                let mut bytes = token.clone().into_bytes();
                bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                String::from_utf8(bytes).unwrap()
            })
            .collect();
        candidates.extend(
            [
                "",
                "=",
                "%%%",
                "AAAA",
                &"A".repeat(34),
                &"A".repeat(10_000),
                "é😀",
                "\0",
            ]
            .map(String::from),
        );
        for _ in 0..2_000 {
            let len = rand::random::<usize>() % 48;
            let bytes: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
            candidates.push(String::from_utf8_lossy(&bytes).into_owned());
            candidates.push(URL_SAFE_NO_PAD.encode(&bytes));
        }
        for candidate in candidates {
            let q = AuditQuery {
                page_token: Some(candidate.clone()),
                ..query("ann")
            };
            assert!(
                matches!(QueryPlan::new(&q, &key()), Err(StoreError::InvalidInput(m)) if m.starts_with("pageToken:")),
                "{candidate:?}"
            );
        }
    }

    #[test]
    fn filters_and_limits_are_checked_and_name_their_field() {
        let cases = [
            (
                AuditQuery {
                    limit: 0,
                    ..AuditQuery::default()
                },
                "limit:",
            ),
            (
                AuditQuery {
                    limit: 101,
                    ..AuditQuery::default()
                },
                "limit:",
            ),
            (
                AuditQuery {
                    kind: Some("chat.*.x".into()),
                    ..query("a")
                },
                "kind:",
            ),
            (
                AuditQuery {
                    kind: Some("a**".into()),
                    ..query("a")
                },
                "kind:",
            ),
            (
                AuditQuery {
                    actor: Some("a\nb".into()),
                    ..query("a")
                },
                "actor:",
            ),
            (
                AuditQuery {
                    from: Some(DateTime::from_timestamp(10, 0).unwrap()),
                    to: Some(DateTime::from_timestamp(10, 0).unwrap()),
                    ..query("a")
                },
                "from:",
            ),
        ];
        for (q, field) in cases {
            let error = QueryPlan::new(&q, &key()).unwrap_err().to_string();
            assert!(error.starts_with(field), "{q:?}: {error}");
        }
        let prefix = AuditQuery {
            kind: Some("chat.action.*".into()),
            ..query("a")
        };
        assert_eq!(
            QueryPlan::new(&prefix, &key()).unwrap().kind,
            Some(KindFilter::Prefix("chat.action.".into()))
        );
    }
}
