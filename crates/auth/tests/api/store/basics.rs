//! What every store must do before anything else: migrate idempotently, answer pings, and answer unknown ids with
//! `None`, `false`, `Invalid` or an empty list rather than an error.

use std::sync::Arc;

use devopstrack_auth::domain::{Rotation, UserPatch, now_micros};
use devopstrack_auth::store::AuthStore;
use uuid::Uuid;

use super::{connect, email, refresh_token, user};

conformance!(store: unknown_ids_answer_none_or_false);
conformance!(url: migrations_are_idempotent);

async fn unknown_ids_answer_none_or_false(store: Arc<dyn AuthStore>) {
    // Arrange: an empty store.
    let (id, now) = (Uuid::new_v4(), now_micros());
    let patch = UserPatch {
        name: Some("Nobody".to_owned()),
        ..UserPatch::default()
    };
    let successor = refresh_token("hash-new", id, 60);

    // Act / Assert
    assert_eq!(store.user_by_id(id).await.expect("user_by_id"), None);
    assert_eq!(
        store
            .user_by_email(&email("nobody@example.com"))
            .await
            .expect("user_by_email"),
        None
    );
    assert_eq!(store.update_user(id, &patch, now).await.expect("update_user"), None);
    assert!(
        !store
            .set_password_hash(id, "$argon2id$x", now)
            .await
            .expect("set_password_hash")
    );
    store
        .record_login_success(id, now)
        .await
        .expect("record_login_success on nobody is a no-op");
    assert_eq!(store.list_users(None, 10).await.expect("list_users"), []);
    assert_eq!(store.count_users().await.expect("count_users"), 0);
    assert_eq!(store.session(id).await.expect("session"), None);
    assert_eq!(
        store
            .session_by_refresh_hash("nope")
            .await
            .expect("session_by_refresh_hash"),
        None
    );
    assert_eq!(
        store
            .rotate_refresh_token("nope", &successor, now)
            .await
            .expect("rotate"),
        Rotation::Invalid
    );
    store
        .revoke_session(id, now)
        .await
        .expect("revoke_session on nothing is a no-op");
    assert_eq!(
        store.revoke_user_sessions(id, now).await.expect("revoke_user_sessions"),
        0
    );
    assert_eq!(store.signing_keys().await.expect("signing_keys"), []);
    assert_eq!(store.api_token_by_hash("nope").await.expect("api_token_by_hash"), None);
    assert_eq!(store.api_token_by_id(id).await.expect("api_token_by_id"), None);
    assert_eq!(
        store
            .list_api_tokens(Some(id), None, 10)
            .await
            .expect("list_api_tokens"),
        []
    );
    assert!(!store.revoke_api_token(id, now).await.expect("revoke_api_token"));
    store
        .touch_api_token(id, now)
        .await
        .expect("touch_api_token on nothing is a no-op");
}

async fn migrations_are_idempotent(url: &str) {
    // Arrange: a migrated store holding one user.
    let first = connect(url).await;
    let ada = user("ada@example.com", now_micros());
    first.insert_user(&ada).await.expect("insert");

    // Act: connect (and so migrate) the same database twice more, once while the first pool is still open.
    let second = connect(url).await;
    drop(first);
    let third = connect(url).await;

    // Assert
    second.ping().await.expect("ping the second connection");
    third.ping().await.expect("ping the third connection");
    assert_eq!(
        third.user_by_id(ada.id).await.expect("lookup"),
        Some(ada),
        "migrating again kept the data"
    );
    assert_eq!(second.count_users().await.expect("count"), 1);
}

/// SQLite only: `sqlite::memory:` is a real store for as long as it lives (one connection that is never recycled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_sqlite_store_keeps_its_data() {
    // Arrange
    let store = connect("sqlite::memory:").await;
    let other = connect("sqlite::memory:").await;
    let ada = user("ada@example.com", now_micros());

    // Act
    store.insert_user(&ada).await.expect("insert");

    // Assert
    assert_eq!(
        store.user_by_email(&email("ada@example.com")).await.expect("lookup"),
        Some(ada)
    );
    assert_eq!(
        other.count_users().await.expect("count"),
        0,
        "each in-memory store is its own database"
    );
}
