//! The auth store conformance suite. Each test is one generic async function over `Arc<dyn AuthStore>` (or over a
//! database URL), and [`conformance!`] runs it twice: against SQLite in a fresh temp file, and against PostgreSQL in a
//! fresh database from the testkit. Both implementations must answer identically.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use devopstrack_auth::domain::{
    ApiTokenRecord, Email, RefreshTokenRecord, Role, SessionRecord, UserRecord, now_micros,
};
use devopstrack_auth::store::AuthStore;
use tempfile::TempDir;
use uuid::Uuid;

/// For each test function `f`, declares `mod f { fn sqlite(); fn postgres(); }` running `f` against that store.
/// `store:` tests take an `Arc<dyn AuthStore>`; `url:` tests take the database URL and connect themselves.
macro_rules! conformance {
    (store: $($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (url, _dir) = $crate::store::sqlite_url();
                super::$test($crate::store::connect(&url).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(pg) = devopstrack_testkit::postgres().await else { return };
                super::$test($crate::store::connect(&pg.url).await).await;
            }
        }
    )+};
    (url: $($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (url, _dir) = $crate::store::sqlite_url();
                super::$test(&url).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(pg) = devopstrack_testkit::postgres().await else { return };
                super::$test(&pg.url).await;
            }
        }
    )+};
}

mod api_tokens;
mod basics;
mod keys;
mod sessions;
mod throttling;
mod users;

/// A URL for a new SQLite database in a temp dir that lives as long as the returned guard.
pub fn sqlite_url() -> (String, TempDir) {
    let dir = tempfile::tempdir().expect("create a temp dir for the SQLite database");
    let url = format!("sqlite://{}/auth.db", dir.path().display());
    (url, dir)
}

pub async fn connect(url: &str) -> Arc<dyn AuthStore> {
    devopstrack_auth::store::connect(url)
        .await
        .expect("connect to and migrate the test store")
}

/// `now_micros()` shifted by whole seconds (negative: earlier).
pub fn seconds_from_now(seconds: i64) -> DateTime<Utc> {
    now_micros() + TimeDelta::seconds(seconds)
}

pub fn email(raw: &str) -> Email {
    Email::parse(raw).expect("a valid test email")
}

/// A viewer created at `created_at`, with a unique id and the given email.
pub fn user(raw_email: &str, created_at: DateTime<Utc>) -> UserRecord {
    UserRecord {
        id: Uuid::new_v4(),
        email: email(raw_email),
        name: "Ada Lovelace".to_owned(),
        role: Role::Viewer,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".to_owned(),
        disabled: false,
        created_at,
        updated_at: created_at,
        last_login_at: None,
    }
}

/// Inserts a fresh user with a unique email and returns it.
pub async fn seeded_user(store: &dyn AuthStore) -> UserRecord {
    let user = user(&format!("{}@example.com", Uuid::new_v4()), now_micros());
    store.insert_user(&user).await.expect("insert a test user");
    user
}

/// A current refresh token of `session_id` that expires `ttl_seconds` after now.
pub fn refresh_token(hash: &str, session_id: Uuid, ttl_seconds: i64) -> RefreshTokenRecord {
    RefreshTokenRecord {
        token_hash: hash.to_owned(),
        session_id,
        created_at: now_micros(),
        expires_at: seconds_from_now(ttl_seconds),
        rotated_at: None,
    }
}

/// Creates a live session of `user_id` whose first refresh token has `hash` and the given lifetime.
pub async fn seeded_session(store: &dyn AuthStore, user_id: Uuid, hash: &str, ttl_seconds: i64) -> SessionRecord {
    let session = SessionRecord {
        id: Uuid::new_v4(),
        user_id,
        created_at: now_micros(),
        revoked_at: None,
    };
    store
        .create_session(&session, &refresh_token(hash, session.id, ttl_seconds))
        .await
        .expect("create a test session");
    session
}

/// An operator token of `user_id` with the given hash and creation time.
pub fn api_token(user_id: Uuid, hash: &str, created_at: DateTime<Utc>) -> ApiTokenRecord {
    ApiTokenRecord {
        id: Uuid::new_v4(),
        user_id,
        name: format!("ci {hash}"),
        prefix: "dtk_ab12cd".to_owned(),
        token_hash: hash.to_owned(),
        role: Role::Operator,
        created_at,
        expires_at: Some(created_at + TimeDelta::days(90)),
        last_used_at: None,
        revoked_at: None,
        parent_id: None,
    }
}
