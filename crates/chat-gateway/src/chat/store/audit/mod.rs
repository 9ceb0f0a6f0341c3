//! The audit trail's records and its hash chain, the same on both databases.
//!
//! Record `n` stores `hash_n = SHA-256(encoding(record_n) ‖ hash_{n-1})`, with `hash_0` 32 zero bytes, where the
//! encoding is [`RawAuditRow::encode`]: a version tag, then every field as it is stored (times as unix
//! microseconds, details as canonical JSON text: keys sorted, no spaces), each length-prefixed, absent fields marked.
//! Sequence numbers are 1, 2, 3… with no gaps; a head row holds the last one and its hash, so a cut-off tail shows
//! too. Verification recomputes everything from the stored columns, so a row altered by hand (or deleted) is named.

use chrono::{DateTime, Utc};
use devopstrack_platform::auth::Role;
use serde::Serialize;
use sha2::{Digest, Sha256};

mod chain;
mod details;
mod query;

use super::types::check_line;
use super::{StoreError, StoreResult};

pub(crate) use chain::ChainWalk;
pub use chain::{ChainBreak, ChainReport};
#[cfg(test)]
pub(crate) use chain::{check_head, check_link};
pub(crate) use details::canonical_json;
use details::refuse_secrets;
pub use query::{AuditPage, AuditQuery, MAX_AUDIT_PAGE};
pub(crate) use query::{KindFilter, PageKey, QueryPlan};

/// `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Details are at most this many bytes of canonical JSON.
pub const MAX_DETAILS_BYTES: usize = 8 * 1024;

/// Who did it. `role` is `None` for a caller with no valid token (a failed login).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditActor {
    /// The token's subject (a user id, `service:<name>`), `anonymous`, or `system` for the store's own changes.
    pub subject: String,
    pub name: String,
    pub role: Option<Role>,
}

impl AuditActor {
    /// The chat itself, for changes nobody made directly (an expiry).
    pub fn system() -> Self {
        Self {
            subject: "system".into(),
            name: "ChatOps".into(),
            role: None,
        }
    }
}

impl From<&super::Person> for AuditActor {
    fn from(person: &super::Person) -> Self {
        Self {
            subject: person.id().to_owned(),
            name: person.name().to_owned(),
            role: Some(person.role()),
        }
    }
}

/// A record to append. The store gives it its sequence number and hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditRecord {
    pub at: DateTime<Utc>,
    pub actor: AuditActor,
    /// What was done: `http.POST /api/v1/pipelines`, `chat.action.confirm`, … (1–120 characters).
    pub kind: String,
    /// What it was done to: a path, `action:<id>`, … (1–300 characters).
    pub target: String,
    /// How it ended: an HTTP status, an action state (1–64 characters).
    pub result: String,
    /// The client address.
    pub source: Option<String>,
    pub request_id: Option<String>,
    /// A JSON object without secrets (fields named like a password, token or secret are refused).
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: AuditActor,
    pub kind: String,
    pub target: String,
    pub result: String,
    pub source: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// A record's columns exactly as stored: what the hash covers and verification reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawAuditRow {
    pub seq: i64,
    pub at_micros: i64,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_role: Option<String>,
    pub kind: String,
    pub target: String,
    pub result: String,
    pub source: Option<String>,
    pub request_id: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl NewAuditRecord {
    /// Checks every field and turns the record into the row that follows `(prev_seq, prev_hash)`.
    pub(crate) fn into_row(self, prev_seq: i64, prev_hash: &str) -> StoreResult<RawAuditRow> {
        check_line("actor.subject", &self.actor.subject, 128).map_err(StoreError::InvalidInput)?;
        check_line("actor.name", &self.actor.name, 200).map_err(StoreError::InvalidInput)?;
        check_line("kind", &self.kind, 120).map_err(StoreError::InvalidInput)?;
        check_line("target", &self.target, 300).map_err(StoreError::InvalidInput)?;
        check_line("result", &self.result, 64).map_err(StoreError::InvalidInput)?;
        if let Some(source) = &self.source {
            check_line("source", source, 64).map_err(StoreError::InvalidInput)?;
        }
        if let Some(request_id) = &self.request_id {
            check_line("requestId", request_id, 128).map_err(StoreError::InvalidInput)?;
        }
        if !self.details.is_object() {
            return Err(StoreError::invalid("details", "must be a JSON object"));
        }
        refuse_secrets("details", &self.details)?;
        let details = canonical_json(&self.details);
        if details.len() > MAX_DETAILS_BYTES {
            return Err(StoreError::invalid(
                "details",
                format!("{} bytes of JSON, at most {MAX_DETAILS_BYTES} allowed", details.len()),
            ));
        }
        let mut row = RawAuditRow {
            seq: prev_seq + 1,
            at_micros: self.at.timestamp_micros(),
            actor_id: self.actor.subject,
            actor_name: self.actor.name,
            actor_role: self.actor.role.map(|r| r.as_str().to_owned()),
            kind: self.kind,
            target: self.target,
            result: self.result,
            source: self.source,
            request_id: self.request_id,
            details,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        row.hash = row.computed_hash();
        Ok(row)
    }
}

impl RawAuditRow {
    /// The bytes the hash covers besides the previous hash.
    fn encode(&self) -> Vec<u8> {
        fn field(out: &mut Vec<u8>, value: &[u8]) {
            out.extend_from_slice(&u32::try_from(value.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(value);
        }
        fn optional(out: &mut Vec<u8>, value: Option<&str>) {
            match value {
                Some(value) => {
                    out.push(1);
                    field(out, value.as_bytes());
                }
                None => out.push(0),
            }
        }
        let mut out = b"devopstrack.audit.v1\0".to_vec();
        field(&mut out, self.seq.to_string().as_bytes());
        field(&mut out, self.at_micros.to_string().as_bytes());
        field(&mut out, self.actor_id.as_bytes());
        field(&mut out, self.actor_name.as_bytes());
        optional(&mut out, self.actor_role.as_deref());
        field(&mut out, self.kind.as_bytes());
        field(&mut out, self.target.as_bytes());
        field(&mut out, self.result.as_bytes());
        optional(&mut out, self.source.as_deref());
        optional(&mut out, self.request_id.as_deref());
        field(&mut out, self.details.as_bytes());
        out
    }

    /// `SHA-256(encoding ‖ prev_hash)` in lower-case hex (`prev_hash` as its 32 bytes; as text if it is not hex).
    pub(crate) fn computed_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.encode());
        match hex::decode(&self.prev_hash) {
            Ok(bytes) => hasher.update(bytes),
            Err(_) => hasher.update(self.prev_hash.as_bytes()),
        }
        hex::encode(hasher.finalize())
    }

    pub(crate) fn into_record(self) -> StoreResult<AuditRecord> {
        let corrupt = |what: String| StoreError::Corrupt(format!("audit record {}: {what}", self.seq));
        let seq = u64::try_from(self.seq).map_err(|_| corrupt("negative sequence number".into()))?;
        let at = DateTime::from_timestamp_micros(self.at_micros).ok_or_else(|| corrupt("time out of range".into()))?;
        let role = match &self.actor_role {
            Some(role) => Some(role.parse::<Role>().map_err(|e| corrupt(e.to_string()))?),
            None => None,
        };
        let details = serde_json::from_str(&self.details).map_err(|e| corrupt(format!("details: {e}")))?;
        Ok(AuditRecord {
            seq,
            at,
            actor: AuditActor {
                subject: self.actor_id,
                name: self.actor_name,
                role,
            },
            kind: self.kind,
            target: self.target,
            result: self.result,
            source: self.source,
            request_id: self.request_id,
            details,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

#[cfg(test)]
mod tests;
