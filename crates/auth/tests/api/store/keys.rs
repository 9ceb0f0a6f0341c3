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
        private_key_pem: format!("-----BEGIN PRIVATE KEY-----\n{kid}\n-----END PRIVATE KEY-----\n"),
        created_at: t0 - TimeDelta::days(age_days),
    };
    let (oldest, middle, newest) = (key("k-2024", 60), key("k-2025a", 30), key("k-2025b", 0));
    for k in [&middle, &oldest, &newest] {
        store.insert_signing_key(k).await.expect("insert a key");
    }
    let impostor = SigningKeyRecord {
        private_key_pem: "another key".to_owned(),
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
