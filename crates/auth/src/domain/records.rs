//! What the auth store keeps. Timestamps are UTC with microsecond precision (what PostgreSQL keeps); callers truncate
//! `now` with [`now_micros`] so every store round-trips values exactly.

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use super::{Email, Role};

/// The current time truncated to microseconds.
pub fn now_micros() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: Email,
    pub name: String,
    pub role: Role,
    /// PHC string (`$argon2id$…`).
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// Who a user id is, as anyone signed in may see it: never the email, role or disabled state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName {
    pub id: Uuid,
    pub name: String,
}

/// Fields an admin may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// Keyset position in a list ordered by `(created_at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// A login session: one refresh-token family. Revoking it ends every token of the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One refresh token of a session. Only the SHA-256 of the token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// Hex SHA-256 of the opaque token.
    pub token_hash: String,
    pub session_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set when the token was exchanged for its successor.
    pub rotated_at: Option<DateTime<Utc>>,
}

/// What happened to a refresh token presented for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now rotated and its successor stored. Carries the session's user.
    Rotated { session_id: Uuid, user_id: Uuid },
    /// The token had already been rotated: someone replayed it. The caller revokes the session.
    Reused { session_id: Uuid, user_id: Uuid },
    /// Unknown token, or its session is revoked, or it has expired.
    Invalid,
}

/// An Ed25519 signing key. The private key is sealed under the key-encryption key (`kek1.…`, see [`crate::kek`]), or
/// a plaintext PKCS#8 PEM in a store from before, which the key ring seals at start.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub private_key: String,
    /// When it was stored, which is when it became the signing key: the key before it stops signing then.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// The first characters of the secret, for display (`dtk_ab12cd`).
    pub prefix: String,
    /// Hex SHA-256 of the whole secret. Unique.
    pub token_hash: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The API token the creator was calling with, if any: this one never outlives it and is revoked with it.
    pub parent_id: Option<Uuid>,
}
