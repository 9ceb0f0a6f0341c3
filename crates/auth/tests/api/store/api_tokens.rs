//! API tokens: round trip by hash and id, unique hashes, per-user keyset pages, revoke and touch.

use std::sync::Arc;

use chrono::TimeDelta;
use devopstrack_auth::domain::{ApiTokenRecord, Cursor, now_micros};
use devopstrack_auth::store::{AuthStore, StoreError};

use super::{api_token, seconds_from_now, seeded_user};

conformance!(store:
    api_tokens_roundtrip_list_revoke_touch,
    api_tokens_paginate_per_user_without_gaps_or_duplicates,
    revoking_a_token_revokes_the_tokens_made_with_it,
);

async fn api_tokens_roundtrip_list_revoke_touch(store: Arc<dyn AuthStore>) {
    // Arrange
    let user = seeded_user(store.as_ref()).await;
    let token = api_token(user.id, "hash-ci", seconds_from_now(-60));
    store.insert_api_token(&token).await.expect("insert");
    let copycat = api_token(user.id, "hash-ci", now_micros());
    let (revoked_at, later, used_at) = (seconds_from_now(-5), now_micros(), seconds_from_now(-10));

    // Act
    let duplicate = store.insert_api_token(&copycat).await;
    let by_hash = store.api_token_by_hash("hash-ci").await.expect("by hash");
    let by_id = store.api_token_by_id(token.id).await.expect("by id");
    let listed = store.list_api_tokens(Some(user.id), None, 10).await.expect("list");
    store.touch_api_token(token.id, used_at).await.expect("touch");
    let revoked = store.revoke_api_token(token.id, revoked_at).await.expect("revoke");
    let revoked_again = store.revoke_api_token(token.id, later).await.expect("revoke again");

    // Assert
    assert!(
        matches!(duplicate, Err(StoreError::Conflict("api token"))),
        "got {duplicate:?}"
    );
    assert_eq!(by_hash, Some(token.clone()));
    assert_eq!(by_id, Some(token.clone()));
    assert_eq!(listed, std::slice::from_ref(&token), "the duplicate was not stored");
    assert!(
        revoked && revoked_again,
        "revoking an existing token answers true, even twice"
    );
    let stored = store.api_token_by_id(token.id).await.expect("by id");
    let expected = ApiTokenRecord {
        last_used_at: Some(used_at),
        revoked_at: Some(revoked_at),
        ..token
    };
    assert_eq!(stored, Some(expected), "the first revocation time sticks");
}

async fn api_tokens_paginate_per_user_without_gaps_or_duplicates(store: Arc<dyn AuthStore>) {
    // Arrange: 7 tokens for alice and 4 for bob, interleaved, three at a time sharing a created_at.
    let (alice, bob) = (seeded_user(store.as_ref()).await, seeded_user(store.as_ref()).await);
    let base = now_micros();
    let mut all = Vec::new();
    for i in 0..11i64 {
        let owner = if i % 3 == 1 { bob.id } else { alice.id };
        all.push(api_token(owner, &format!("hash-{i}"), base + TimeDelta::seconds(i / 3)));
    }
    for t in all.iter().rev() {
        store.insert_api_token(t).await.expect("insert");
    }
    all.sort_by_key(|t| (t.created_at, t.id));
    let of = |user_id| all.iter().filter(|t| t.user_id == user_id).cloned().collect::<Vec<_>>();

    // Act
    let everything = walk(store.as_ref(), None).await;
    let alices = walk(store.as_ref(), Some(alice.id)).await;
    let bobs = walk(store.as_ref(), Some(bob.id)).await;

    // Assert
    assert_eq!(everything, all);
    assert_eq!(alices, of(alice.id));
    assert_eq!(bobs, of(bob.id));
    assert_eq!((alices.len(), bobs.len()), (7, 4));
}

/// Lists every page of 2 and concatenates them; gives up after 20 pages (a cursor that does not advance).
async fn walk(store: &dyn AuthStore, user_id: Option<uuid::Uuid>) -> Vec<ApiTokenRecord> {
    let mut out: Vec<ApiTokenRecord> = Vec::new();
    for _ in 0..20 {
        let after = out.last().map(|t| Cursor {
            created_at: t.created_at,
            id: t.id,
        });
        let page = store.list_api_tokens(user_id, after, 2).await.expect("list a page");
        assert!(page.len() <= 2, "a page holds at most the limit");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
    panic!("pagination did not end after 20 pages: {} tokens so far", out.len());
}

async fn revoking_a_token_revokes_the_tokens_made_with_it(store: Arc<dyn AuthStore>) {
    // Arrange: parent → child → grandchild, and an unrelated token
    let user = seeded_user(store.as_ref()).await;
    let parent = api_token(user.id, "hash-parent", seconds_from_now(-30));
    let child = ApiTokenRecord {
        parent_id: Some(parent.id),
        ..api_token(user.id, "hash-child", seconds_from_now(-20))
    };
    let grandchild = ApiTokenRecord {
        parent_id: Some(child.id),
        ..api_token(user.id, "hash-grandchild", seconds_from_now(-10))
    };
    let unrelated = api_token(user.id, "hash-unrelated", seconds_from_now(-5));
    for token in [&parent, &child, &grandchild, &unrelated] {
        store.insert_api_token(token).await.expect("insert");
    }
    let now = now_micros();

    // Act
    let revoked = store.revoke_api_token(parent.id, now).await.expect("revoke");
    let missing = store
        .revoke_api_token(uuid::Uuid::new_v4(), now)
        .await
        .expect("revoke nothing");

    // Assert
    assert!(revoked && !missing);
    for (token, want) in [
        (&parent, Some(now)),
        (&child, Some(now)),
        (&grandchild, Some(now)),
        (&unrelated, None),
    ] {
        let stored = store
            .api_token_by_id(token.id)
            .await
            .expect("by id")
            .expect("the token");
        assert_eq!(stored.revoked_at, want, "{}", token.name);
        assert_eq!(stored.parent_id, token.parent_id);
    }
}
