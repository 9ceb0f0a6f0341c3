//! The auth store: one trait, two implementations chosen by URL (`postgres://…` or `sqlite://path`), one conformance
//! suite (`tests/api/store/`) that both pass.

/// Implements [`AuthStore`] for a SQL store `$store` (with a `pool` field) by handing its pool to the same-named
/// functions of the invoking module's `users`, `throttle`, `sessions`, `signing_keys` and `api_tokens` submodules, where
/// each dialect keeps its SQL. The two SQL stores differ in their SQL only, so the mapping from trait methods to those
/// functions is written once, here.
macro_rules! sql_auth_store {
    ($store:ty) => {
        const _: () = {
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use $crate::domain::{
                Admission, ApiTokenRecord, AttemptRecord, Cursor, Email, RefreshTokenRecord, Rotation, SessionRecord,
                SigningKeyRecord, ThrottlePolicy, UserName, UserPatch, UserRecord,
            };
            use $crate::store::{AuthStore, StoreResult};

            #[async_trait::async_trait]
            impl AuthStore for $store {
                async fn ping(&self) -> StoreResult<()> {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                }

                async fn insert_user(&self, user: &UserRecord) -> StoreResult<()> {
                    users::insert(&self.pool, user).await
                }

                async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<UserRecord>> {
                    users::by_id(&self.pool, id).await
                }

                async fn user_by_email(&self, email: &Email) -> StoreResult<Option<UserRecord>> {
                    users::by_email(&self.pool, email).await
                }

                async fn list_users(&self, after: Option<Cursor>, limit: u32) -> StoreResult<Vec<UserRecord>> {
                    users::list(&self.pool, after, limit).await
                }

                async fn count_users(&self) -> StoreResult<u64> {
                    users::count(&self.pool).await
                }

                async fn user_names(&self, ids: &[Uuid]) -> StoreResult<Vec<UserName>> {
                    users::names(&self.pool, ids).await
                }

                async fn update_user(
                    &self,
                    id: Uuid,
                    patch: &UserPatch,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<UserRecord>> {
                    users::update(&self.pool, id, patch, now).await
                }

                async fn set_password_hash(&self, id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                    users::set_password_hash(&self.pool, id, hash, now).await
                }

                async fn record_login_success(&self, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
                    users::record_login_success(&self.pool, user_id, at).await
                }

                async fn admit_attempt(
                    &self,
                    key: &str,
                    now: DateTime<Utc>,
                    policy: &ThrottlePolicy,
                ) -> StoreResult<Admission> {
                    throttle::admit(&self.pool, key, now, policy).await
                }

                async fn clear_attempts(&self, key: &str) -> StoreResult<()> {
                    throttle::clear(&self.pool, key).await
                }

                async fn prune_attempts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                    throttle::prune(&self.pool, before).await
                }

                async fn attempts(&self, key: &str) -> StoreResult<Option<AttemptRecord>> {
                    throttle::get(&self.pool, key).await
                }

                async fn create_session(&self, session: &SessionRecord, token: &RefreshTokenRecord) -> StoreResult<()> {
                    sessions::create(&self.pool, session, token).await
                }

                async fn session(&self, id: Uuid) -> StoreResult<Option<SessionRecord>> {
                    sessions::get(&self.pool, id).await
                }

                async fn rotate_refresh_token(
                    &self,
                    old_hash: &str,
                    new: &RefreshTokenRecord,
                    now: DateTime<Utc>,
                ) -> StoreResult<Rotation> {
                    sessions::rotate_refresh_token(&self.pool, old_hash, new, now).await
                }

                async fn session_by_refresh_hash(&self, hash: &str) -> StoreResult<Option<SessionRecord>> {
                    sessions::by_refresh_hash(&self.pool, hash).await
                }

                async fn revoke_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                    sessions::revoke(&self.pool, id, now).await
                }

                async fn revoke_user_sessions(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<u64> {
                    sessions::revoke_all_of_user(&self.pool, user_id, now).await
                }

                async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
                    signing_keys::insert(&self.pool, key).await
                }

                async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
                    signing_keys::all(&self.pool).await
                }

                async fn update_signing_key(&self, kid: &str, private_key: &str) -> StoreResult<bool> {
                    signing_keys::update(&self.pool, kid, private_key).await
                }

                async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
                    signing_keys::delete(&self.pool, kid).await
                }

                async fn insert_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()> {
                    api_tokens::insert(&self.pool, token).await
                }

                async fn api_token_by_hash(&self, hash: &str) -> StoreResult<Option<ApiTokenRecord>> {
                    api_tokens::by_hash(&self.pool, hash).await
                }

                async fn api_token_by_id(&self, id: Uuid) -> StoreResult<Option<ApiTokenRecord>> {
                    api_tokens::by_id(&self.pool, id).await
                }

                async fn list_api_tokens(
                    &self,
                    user_id: Option<Uuid>,
                    after: Option<Cursor>,
                    limit: u32,
                ) -> StoreResult<Vec<ApiTokenRecord>> {
                    api_tokens::list(&self.pool, user_id, after, limit).await
                }

                async fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
                    api_tokens::revoke(&self.pool, id, now).await
                }

                async fn touch_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                    api_tokens::touch(&self.pool, id, now).await
                }
            }
        };
    };
}

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{
    Admission, ApiTokenRecord, AttemptRecord, Cursor, Email, RefreshTokenRecord, Rotation, SessionRecord,
    SigningKeyRecord, ThrottlePolicy, UserName, UserPatch, UserRecord,
};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Driver errors enter through `From`, which sorts out those meaning "the store is down or busy"
/// (`devopstrack_platform::store::sqlx_unavailable`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; the payload names what already exists (`"email"`, `"kid"`, …).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The database cannot be reached or cannot take the request right now (down, restarting, out of connections,
    /// busy past its timeout): the same request may succeed later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Backend(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value that no longer parses (e.g. an unknown role string).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if devopstrack_platform::store::sqlx_unavailable(&e) {
            StoreError::Unavailable(devopstrack_platform::store::chain(&e))
        } else {
            StoreError::Backend(e)
        }
    }
}

/// A unique violation becomes `Conflict(what)`; anything else stays a backend error.
fn conflict_on_unique(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::from(err),
    }
}

/// Connects to the store named by `url` and runs its migrations.
pub async fn connect(url: &str) -> StoreResult<std::sync::Arc<dyn AuthStore>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PostgresStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::Backend(sqlx::Error::Configuration(
            format!(
                "unsupported database URL scheme (want postgres:// or sqlite://): {}",
                redact(url)
            )
            .into(),
        )))
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &creds[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[async_trait]
pub trait AuthStore: Send + Sync + 'static {
    /// Cheap round trip for readiness.
    async fn ping(&self) -> StoreResult<()>;

    // ---- users
    /// `Conflict("email")` when the email is taken.
    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<UserRecord>>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<UserRecord>>;
    /// Users ordered by `(created_at, id)`, strictly after `after`, at most `limit`.
    async fn list_users(&self, after: Option<Cursor>, limit: u32) -> StoreResult<Vec<UserRecord>>;
    async fn count_users(&self) -> StoreResult<u64>;
    /// The names of those of `ids` that exist (disabled users included), ordered by id, each once however often it
    /// is given; unknown ids are left out. One statement: callers bound `ids` (the app takes at most 100).
    async fn user_names(&self, ids: &[Uuid]) -> StoreResult<Vec<UserName>>;
    /// Applies the patch and sets `updated_at = now`; `None` when the user does not exist.
    async fn update_user(&self, id: Uuid, patch: &UserPatch, now: DateTime<Utc>) -> StoreResult<Option<UserRecord>>;
    /// `false` when the user does not exist.
    async fn set_password_hash(&self, id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<bool>;

    /// A successful login: sets `last_login_at`.
    async fn record_login_success(&self, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;

    // ---- throttling of password guesses (the policy is `domain::throttle`; the store keeps the counts)
    /// Atomically, with concurrent attempts on `key` serialised: reads its record, asks `policy` whether an attempt
    /// at `now` may go ahead and, when it may, stores the new count with `now` as the last attempt.
    async fn admit_attempt(&self, key: &str, now: DateTime<Utc>, policy: &ThrottlePolicy) -> StoreResult<Admission>;
    /// Forgets `key` (the secret was right).
    async fn clear_attempts(&self, key: &str) -> StoreResult<()>;
    /// Deletes the records whose last attempt is before `before`; returns how many.
    async fn prune_attempts(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// The record of `key`, if it has a count.
    async fn attempts(&self, key: &str) -> StoreResult<Option<AttemptRecord>>;

    // ---- sessions and refresh tokens
    /// Stores a new session with its first refresh token, atomically.
    async fn create_session(&self, session: &SessionRecord, token: &RefreshTokenRecord) -> StoreResult<()>;
    async fn session(&self, id: Uuid) -> StoreResult<Option<SessionRecord>>;
    /// Atomically (compare-and-set): if `old_hash` is a current token (not rotated, not expired at `now`, session not
    /// revoked), marks it rotated at `now`, stores `new` in the same session and answers `Rotated`. If it was already
    /// rotated, answers `Reused` and changes nothing (the caller decides to revoke). Otherwise `Invalid`.
    /// `new.session_id` is ignored and replaced by the old token's session.
    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new: &RefreshTokenRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation>;
    /// The session a refresh token (current or rotated) belongs to.
    async fn session_by_refresh_hash(&self, hash: &str) -> StoreResult<Option<SessionRecord>>;
    /// Idempotent: an already revoked session keeps its first `revoked_at`.
    async fn revoke_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Revokes every live session of the user; returns how many.
    async fn revoke_user_sessions(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<u64>;

    // ---- signing keys
    /// `Conflict("kid")` on a duplicate kid.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// Newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Replaces how `kid`'s private key is stored (sealing a plaintext one); `false` when there is no such key.
    async fn update_signing_key(&self, kid: &str, private_key: &str) -> StoreResult<bool>;
    /// Deletes a retired key; `false` when there was none.
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool>;

    // ---- API tokens
    /// `Conflict("api token")` on a duplicate hash.
    async fn insert_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()>;
    async fn api_token_by_hash(&self, hash: &str) -> StoreResult<Option<ApiTokenRecord>>;
    async fn api_token_by_id(&self, id: Uuid) -> StoreResult<Option<ApiTokenRecord>>;
    /// Ordered by `(created_at, id)` after `after`; only `user_id`'s tokens when given.
    async fn list_api_tokens(
        &self,
        user_id: Option<Uuid>,
        after: Option<Cursor>,
        limit: u32,
    ) -> StoreResult<Vec<ApiTokenRecord>>;
    /// Sets `revoked_at`, where not set yet, on the token and on every token made with it (through `parent_id`, at
    /// any depth); `false` when the token does not exist.
    async fn revoke_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn touch_api_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
}
