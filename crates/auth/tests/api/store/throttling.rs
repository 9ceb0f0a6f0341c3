//! Login throttling: the store counts failures in a window and forgets them on success.

use std::sync::Arc;

use chrono::TimeDelta;
use devopstrack_auth::domain::now_micros;
use devopstrack_auth::store::AuthStore;

use super::seeded_user;

conformance!(store:
    login_failures_count_within_the_window,
    success_clears_failures_and_lock,
    a_lock_can_be_set_and_cleared,
);

async fn login_failures_count_within_the_window(store: Arc<dyn AuthStore>) {
    // Arrange
    let user = seeded_user(store.as_ref()).await;
    let other = seeded_user(store.as_ref()).await;
    let t0 = now_micros();
    let secs = |s: i64| t0 + TimeDelta::seconds(s);

    // Act: three failures inside a 60 s window, then one whose window starts exactly at the second failure.
    let mut counts = Vec::new();
    for at in [secs(0), secs(10), secs(20)] {
        counts.push(
            store
                .add_login_failure(user.id, at, at - TimeDelta::seconds(60))
                .await
                .expect("add"),
        );
    }
    let from_boundary = store.add_login_failure(user.id, secs(30), secs(10)).await.expect("add");
    let after_everything = store.add_login_failure(user.id, secs(40), secs(35)).await.expect("add");
    let someone_else = store
        .add_login_failure(other.id, secs(40), secs(-60))
        .await
        .expect("add");

    // Assert
    assert_eq!(
        counts,
        [1, 2, 3],
        "each failure counts the earlier ones in its window and itself"
    );
    assert_eq!(
        from_boundary, 3,
        "failures at or after `since` count (10 s, 20 s, 30 s); the one at 0 s does not"
    );
    assert_eq!(after_everything, 1, "only the failure itself is at or after 35 s");
    assert_eq!(someone_else, 1, "failures are counted per user");
}

async fn success_clears_failures_and_lock(store: Arc<dyn AuthStore>) {
    // Arrange: a user locked out after three failures.
    let user = seeded_user(store.as_ref()).await;
    let t0 = now_micros();
    let window_start = t0 - TimeDelta::minutes(15);
    for s in 0..3 {
        store
            .add_login_failure(user.id, t0 + TimeDelta::seconds(s), window_start)
            .await
            .expect("add");
    }
    let locked_until = t0 + TimeDelta::minutes(15);
    store.set_locked_until(user.id, Some(locked_until)).await.expect("lock");
    let locked = store.user_by_id(user.id).await.expect("lookup").expect("the user");
    let login_at = t0 + TimeDelta::seconds(5);

    // Act
    store
        .record_login_success(user.id, login_at)
        .await
        .expect("record success");

    // Assert
    assert_eq!(locked.locked_until, Some(locked_until));
    let after = store.user_by_id(user.id).await.expect("lookup").expect("the user");
    assert_eq!(after.locked_until, None);
    assert_eq!(after.last_login_at, Some(login_at));
    assert_eq!(after.updated_at, user.updated_at, "a login is not a profile change");
    let next = store
        .add_login_failure(user.id, t0 + TimeDelta::seconds(6), window_start)
        .await
        .expect("add");
    assert_eq!(next, 1, "the earlier failures were forgotten");
}

async fn a_lock_can_be_set_and_cleared(store: Arc<dyn AuthStore>) {
    // Arrange
    let user = seeded_user(store.as_ref()).await;
    let until = now_micros() + TimeDelta::minutes(15);

    // Act
    store.set_locked_until(user.id, Some(until)).await.expect("lock");
    let locked = store.user_by_id(user.id).await.expect("lookup").expect("the user");
    store.set_locked_until(user.id, None).await.expect("unlock");
    let unlocked = store.user_by_id(user.id).await.expect("lookup").expect("the user");

    // Assert
    assert_eq!(locked.locked_until, Some(until));
    assert_eq!(unlocked.locked_until, None);
    assert_eq!(unlocked.last_login_at, None, "unlocking is not a login");
}
