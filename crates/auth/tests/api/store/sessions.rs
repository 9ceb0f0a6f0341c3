//! Sessions and refresh tokens: compare-and-set rotation, reuse detection, idempotent revocation.

use std::sync::Arc;

use devopstrack_auth::domain::{Rotation, SessionRecord, now_micros};
use devopstrack_auth::store::AuthStore;
use uuid::Uuid;

use super::{refresh_token, seconds_from_now, seeded_session, seeded_user};

const WEEK: i64 = 7 * 24 * 3600;

conformance!(store:
    refresh_rotation_is_compare_and_set,
    expired_or_revoked_or_unknown_refresh_tokens_are_invalid,
    concurrent_rotations_of_one_token_rotate_it_once,
    revoking_a_session_is_idempotent,
    revoke_user_sessions_revokes_only_live_ones,
);

async fn refresh_rotation_is_compare_and_set(store: Arc<dyn AuthStore>) {
    // Arrange
    let user = seeded_user(store.as_ref()).await;
    let session = seeded_session(store.as_ref(), user.id, "hash-a", WEEK).await;
    // The successor's session_id is ignored: it joins the old token's session.
    let b = refresh_token("hash-b", Uuid::new_v4(), WEEK);
    let c = refresh_token("hash-c", Uuid::new_v4(), WEEK);
    let replayed = refresh_token("hash-replayed", Uuid::new_v4(), WEEK);
    let ids = (session.id, user.id);

    // Act
    let first = store
        .rotate_refresh_token("hash-a", &b, now_micros())
        .await
        .expect("rotate a");
    let replay = store
        .rotate_refresh_token("hash-a", &replayed, now_micros())
        .await
        .expect("replay a");
    let second = store
        .rotate_refresh_token("hash-b", &c, now_micros())
        .await
        .expect("rotate b");

    // Assert
    assert_eq!(
        first,
        Rotation::Rotated {
            session_id: ids.0,
            user_id: ids.1
        }
    );
    assert_eq!(
        replay,
        Rotation::Reused {
            session_id: ids.0,
            user_id: ids.1
        }
    );
    assert_eq!(
        second,
        Rotation::Rotated {
            session_id: ids.0,
            user_id: ids.1
        }
    );
    for hash in ["hash-a", "hash-b", "hash-c"] {
        let found = store.session_by_refresh_hash(hash).await.expect("lookup");
        assert_eq!(found, Some(session.clone()), "{hash} belongs to the session");
    }
    let stored_replay = store.session_by_refresh_hash("hash-replayed").await.expect("lookup");
    assert_eq!(stored_replay, None, "a reused token stores no successor");
}

async fn expired_or_revoked_or_unknown_refresh_tokens_are_invalid(store: Arc<dyn AuthStore>) {
    // Arrange
    let user = seeded_user(store.as_ref()).await;
    let expired = seeded_session(store.as_ref(), user.id, "hash-expired", -1).await;
    let revoked = seeded_session(store.as_ref(), user.id, "hash-revoked", WEEK).await;
    store.revoke_session(revoked.id, now_micros()).await.expect("revoke");
    let next = |hash: &str| refresh_token(hash, Uuid::new_v4(), WEEK);

    // Act
    let after_expiry = store
        .rotate_refresh_token("hash-expired", &next("n1"), now_micros())
        .await
        .expect("rotate");
    let after_revoke = store
        .rotate_refresh_token("hash-revoked", &next("n2"), now_micros())
        .await
        .expect("rotate");
    let unknown = store
        .rotate_refresh_token("hash-unknown", &next("n3"), now_micros())
        .await
        .expect("rotate");

    // Assert
    assert_eq!(after_expiry, Rotation::Invalid);
    assert_eq!(after_revoke, Rotation::Invalid);
    assert_eq!(unknown, Rotation::Invalid);
    for hash in ["n1", "n2", "n3"] {
        assert_eq!(
            store.session_by_refresh_hash(hash).await.expect("lookup"),
            None,
            "{hash} was not stored"
        );
    }
    // An invalid presentation does not mark the token rotated: presenting it again is still Invalid, not Reused.
    let again = store
        .rotate_refresh_token("hash-expired", &next("n4"), now_micros())
        .await
        .expect("rotate");
    assert_eq!(again, Rotation::Invalid);
    assert_eq!(
        store.session(expired.id).await.expect("lookup").map(|s| s.revoked_at),
        Some(None)
    );
}

async fn concurrent_rotations_of_one_token_rotate_it_once(store: Arc<dyn AuthStore>) {
    let user = seeded_user(store.as_ref()).await;
    for round in 0..20 {
        // Arrange
        let old = format!("hash-{round}");
        let session = seeded_session(store.as_ref(), user.id, &old, WEEK).await;
        let left = refresh_token(&format!("left-{round}"), session.id, WEEK);
        let right = refresh_token(&format!("right-{round}"), session.id, WEEK);

        // Act
        let (l, r) = tokio::join!(
            store.rotate_refresh_token(&old, &left, now_micros()),
            store.rotate_refresh_token(&old, &right, now_micros()),
        );

        // Assert
        let (l, r) = (l.expect("left rotation"), r.expect("right rotation"));
        let rotated = Rotation::Rotated {
            session_id: session.id,
            user_id: user.id,
        };
        let reused = Rotation::Reused {
            session_id: session.id,
            user_id: user.id,
        };
        assert!(
            (l == rotated && r == reused) || (l == reused && r == rotated),
            "round {round}: exactly one rotation wins, got {l:?} and {r:?}"
        );
        let winner = if l == rotated { &left } else { &right };
        let loser = if l == rotated { &right } else { &left };
        assert!(
            store
                .session_by_refresh_hash(&winner.token_hash)
                .await
                .expect("lookup")
                .is_some()
        );
        assert!(
            store
                .session_by_refresh_hash(&loser.token_hash)
                .await
                .expect("lookup")
                .is_none()
        );
    }
}

async fn revoking_a_session_is_idempotent(store: Arc<dyn AuthStore>) {
    // Arrange
    let user = seeded_user(store.as_ref()).await;
    let session = seeded_session(store.as_ref(), user.id, "hash-a", WEEK).await;
    let first = seconds_from_now(-10);
    let second = now_micros();

    // Act
    store.revoke_session(session.id, first).await.expect("revoke");
    store.revoke_session(session.id, second).await.expect("revoke again");
    store
        .revoke_session(Uuid::new_v4(), second)
        .await
        .expect("revoking an unknown session is a no-op");

    // Assert
    let stored = store.session(session.id).await.expect("lookup");
    assert_eq!(
        stored,
        Some(SessionRecord {
            revoked_at: Some(first),
            ..session
        }),
        "the first revocation sticks"
    );
}

async fn revoke_user_sessions_revokes_only_live_ones(store: Arc<dyn AuthStore>) {
    // Arrange
    let user = seeded_user(store.as_ref()).await;
    let other = seeded_user(store.as_ref()).await;
    let live_1 = seeded_session(store.as_ref(), user.id, "hash-1", WEEK).await;
    let live_2 = seeded_session(store.as_ref(), user.id, "hash-2", WEEK).await;
    let old = seeded_session(store.as_ref(), user.id, "hash-3", WEEK).await;
    let others = seeded_session(store.as_ref(), other.id, "hash-4", WEEK).await;
    let earlier = seconds_from_now(-3600);
    store
        .revoke_session(old.id, earlier)
        .await
        .expect("revoke the old session");
    let now = now_micros();

    // Act
    let revoked = store.revoke_user_sessions(user.id, now).await.expect("revoke all");
    let again = store
        .revoke_user_sessions(user.id, seconds_from_now(1))
        .await
        .expect("revoke all again");

    // Assert
    assert_eq!(revoked, 2);
    assert_eq!(again, 0);
    let revoked_at = |id| {
        let store = Arc::clone(&store);
        async move {
            store
                .session(id)
                .await
                .expect("lookup")
                .expect("the session")
                .revoked_at
        }
    };
    assert_eq!(revoked_at(live_1.id).await, Some(now));
    assert_eq!(revoked_at(live_2.id).await, Some(now));
    assert_eq!(
        revoked_at(old.id).await,
        Some(earlier),
        "an already revoked session keeps its time"
    );
    assert_eq!(revoked_at(others.id).await, None, "another user's session is untouched");
}
