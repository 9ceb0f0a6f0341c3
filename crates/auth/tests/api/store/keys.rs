//! JWT signing keys: newest first, unique kids.

use std::sync::Arc;

use chrono::TimeDelta;
use devopstrack_auth::domain::{SigningKeyRecord, now_micros};
use devopstrack_auth::store::{AuthStore, StoreError};

conformance!(store: signing_keys_come_newest_first_and_kids_are_unique);

async fn signing_keys_come_newest_first_and_kids_are_unique(store: Arc<dyn AuthStore>) {
    // Arrange: inserted out of order.
    let t0 = now_micros();
    let key = |kid: &str, age_days: i64| SigningKeyRecord {
        kid: kid.to_owned(),
        private_key: format!("kek1.fingerprint.{kid}"),
        created_at: t0 - TimeDelta::days(age_days),
    };
    let (oldest, middle, newest) = (key("k-2024", 60), key("k-2025a", 30), key("k-2025b", 0));
    for k in [&middle, &oldest, &newest] {
        store.insert_signing_key(k).await.expect("insert a key");
    }
    let impostor = SigningKeyRecord {
        private_key: "another key".to_owned(),
        ..middle.clone()
    };

    // Act
    let duplicate = store.insert_signing_key(&impostor).await;
    let keys = store.signing_keys().await.expect("list keys");

    // Assert
    assert!(
        matches!(duplicate, Err(StoreError::Conflict("kid"))),
        "got {duplicate:?}"
    );
    assert_eq!(
        keys,
        [newest, middle, oldest],
        "newest first, and the duplicate changed nothing"
    );
}

conformance!(store: a_key_can_be_resealed_and_deleted);

async fn a_key_can_be_resealed_and_deleted(store: Arc<dyn AuthStore>) {
    // Arrange: a plaintext key from before encryption, and a newer one
    let t0 = now_micros();
    let old = SigningKeyRecord {
        kid: "k-old".into(),
        private_key: "-----BEGIN PRIVATE KEY-----\nold\n-----END PRIVATE KEY-----\n".into(),
        created_at: t0 - TimeDelta::days(1),
    };
    let new = SigningKeyRecord {
        kid: "k-new".into(),
        private_key: "kek1.f.new".into(),
        created_at: t0,
    };
    store.insert_signing_key(&old).await.expect("insert");
    store.insert_signing_key(&new).await.expect("insert");

    // Act
    let resealed = store.update_signing_key("k-old", "kek1.f.old").await.expect("update");
    let resealed_nothing = store.update_signing_key("k-none", "kek1.f.x").await.expect("update");
    let after_reseal = store.signing_keys().await.expect("list");
    let deleted = store.delete_signing_key("k-old").await.expect("delete");
    let deleted_again = store.delete_signing_key("k-old").await.expect("delete");
    let after_delete = store.signing_keys().await.expect("list");

    // Assert
    assert!(resealed && !resealed_nothing);
    assert_eq!(
        after_reseal.iter().map(|k| k.private_key.as_str()).collect::<Vec<_>>(),
        ["kek1.f.new", "kek1.f.old"]
    );
    assert_eq!(
        after_reseal[1].created_at, old.created_at,
        "resealing keeps the key's age"
    );
    assert!(deleted && !deleted_again);
    assert_eq!(after_delete, [new]);
}
