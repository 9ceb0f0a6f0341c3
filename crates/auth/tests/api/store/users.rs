//! Users: unique emails, keyset pages, partial updates, exact timestamps, name lookups.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use devopstrack_auth::domain::{Cursor, Role, UserName, UserPatch, UserRecord, now_micros};
use devopstrack_auth::store::{AuthStore, StoreError};

use super::{email, seconds_from_now, user};

conformance!(store:
    inserting_a_duplicate_email_conflicts,
    users_paginate_without_gaps_or_duplicates,
    update_user_applies_only_given_fields,
    timestamps_round_trip_exactly,
    user_names_answer_known_ids_once_in_id_order,
);

async fn inserting_a_duplicate_email_conflicts(store: Arc<dyn AuthStore>) {
    // Arrange
    let first = user("ada@example.com", now_micros());
    store.insert_user(&first).await.expect("insert the first user");
    // Email::parse lower-cases, so a differently cased address is the same account.
    let second = user("ADA@Example.com", now_micros());

    // Act
    let result = store.insert_user(&second).await;

    // Assert
    assert!(matches!(result, Err(StoreError::Conflict("email"))), "got {result:?}");
    assert_eq!(store.count_users().await.expect("count"), 1);
    let found = store
        .user_by_email(&email("ada@example.com"))
        .await
        .expect("lookup")
        .expect("the first user");
    assert_eq!(found, first);
    assert_eq!(store.user_by_id(second.id).await.expect("lookup"), None);
}

async fn users_paginate_without_gaps_or_duplicates(store: Arc<dyn AuthStore>) {
    // Arrange: 25 users in groups of four sharing one created_at, inserted newest first.
    let base = now_micros();
    let mut users: Vec<_> = (0..25i64)
        .map(|i| {
            let mut u = user(&format!("user{i}@example.com"), base + TimeDelta::seconds(i / 4));
            u.role = Role::USER_ROLES[(i % 3) as usize];
            u
        })
        .collect();
    for u in users.iter().rev() {
        store.insert_user(u).await.expect("insert a user");
    }
    users.sort_by_key(|u| (u.created_at, u.id));

    // Act: walk pages of 7.
    let mut pages = Vec::new();
    let mut after = None;
    for _ in 0..10 {
        let page = store.list_users(after, 7).await.expect("list a page");
        let Some(last) = page.last() else { break };
        after = Some(Cursor {
            created_at: last.created_at,
            id: last.id,
        });
        pages.push(page);
    }

    // Assert
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 7, 4]);
    assert_eq!(
        pages.concat(),
        users,
        "pages are (created_at, id) ascending with no gap or duplicate"
    );
    assert_eq!(store.count_users().await.expect("count"), 25);
    let tail = store
        .list_users(
            Some(Cursor {
                created_at: users[22].created_at,
                id: users[22].id,
            }),
            7,
        )
        .await;
    assert_eq!(tail.expect("list the tail"), users[23..]);
}

async fn update_user_applies_only_given_fields(store: Arc<dyn AuthStore>) {
    // Arrange
    let created = seconds_from_now(-3600);
    let original = user("grace@example.com", created);
    store.insert_user(&original).await.expect("insert");
    let renamed_at = seconds_from_now(-60);
    let promoted_at = now_micros();

    // Act
    let renamed = UserPatch {
        name: Some("Grace Hopper".to_owned()),
        ..UserPatch::default()
    };
    let after_rename = store
        .update_user(original.id, &renamed, renamed_at)
        .await
        .expect("rename");
    let promoted = UserPatch {
        role: Some(Role::Admin),
        disabled: Some(true),
        ..UserPatch::default()
    };
    let after_promotion = store
        .update_user(original.id, &promoted, promoted_at)
        .await
        .expect("promote");
    let rehashed = store
        .set_password_hash(original.id, "$argon2id$new", promoted_at)
        .await
        .expect("rehash");

    // Assert
    let expected_rename = UserRecord {
        name: "Grace Hopper".to_owned(),
        updated_at: renamed_at,
        ..original.clone()
    };
    assert_eq!(after_rename, Some(expected_rename.clone()));
    let expected_promotion = UserRecord {
        role: Role::Admin,
        disabled: true,
        updated_at: promoted_at,
        ..expected_rename
    };
    assert_eq!(after_promotion, Some(expected_promotion.clone()));
    assert!(rehashed);
    let stored = store.user_by_id(original.id).await.expect("lookup");
    assert_eq!(
        stored,
        Some(UserRecord {
            password_hash: "$argon2id$new".to_owned(),
            ..expected_promotion
        })
    );
}

async fn timestamps_round_trip_exactly(store: Arc<dyn AuthStore>) {
    // Arrange: microsecond values on both sides of the epoch and far in the future.
    let at = |micros: i64| DateTime::<Utc>::from_timestamp_micros(micros).expect("a representable instant");
    let mut original = user("kate@example.com", at(1_700_000_000_123_457));
    original.updated_at = at(1_700_000_000_123_458);
    original.last_login_at = Some(at(253_402_300_799_999_999)); // 9999-12-31T23:59:59.999999Z
    let mut token = super::api_token(original.id, "hash-kate", at(1));
    token.expires_at = Some(at(4_102_444_800_000_001));
    token.last_used_at = Some(at(1_700_000_000_000_001));
    token.revoked_at = Some(at(-62_135_596_800_000_000)); // 0001-01-01T00:00:00Z

    // Act
    store.insert_user(&original).await.expect("insert the user");
    store.insert_api_token(&token).await.expect("insert the token");
    let user_back = store.user_by_id(original.id).await.expect("lookup the user");
    let token_back = store.api_token_by_id(token.id).await.expect("lookup the token");

    // Assert
    assert_eq!(user_back, Some(original));
    assert_eq!(token_back, Some(token));
}

async fn user_names_answer_known_ids_once_in_id_order(store: Arc<dyn AuthStore>) {
    // Arrange: three users, one of them disabled, and one id nobody has.
    let mut ada = user("ada@example.com", now_micros());
    ada.name = "Ada Lovelace".to_owned();
    let mut grace = user("grace@example.com", now_micros());
    grace.name = "Grace Hopper".to_owned();
    let mut zoe = user("zoe@example.com", now_micros());
    zoe.name = "Zoë Ö'Brien 🚀".to_owned();
    zoe.disabled = true;
    for u in [&ada, &grace, &zoe] {
        store.insert_user(u).await.expect("insert a user");
    }
    let unknown = uuid::Uuid::new_v4();

    // Act
    let found = store
        .user_names(&[zoe.id, unknown, ada.id, zoe.id, ada.id])
        .await
        .expect("look up names");
    let none = store.user_names(&[]).await.expect("look up no names");
    let only_unknown = store.user_names(&[unknown]).await.expect("look up an unknown id");

    // Assert: the disabled user is named too (people still want to see who did something); grace was not asked.
    let mut expected = vec![
        UserName {
            id: ada.id,
            name: ada.name.clone(),
        },
        UserName {
            id: zoe.id,
            name: zoe.name.clone(),
        },
    ];
    expected.sort_by_key(|u| u.id);
    assert_eq!(found, expected);
    assert_eq!(none, []);
    assert_eq!(only_unknown, []);
}
