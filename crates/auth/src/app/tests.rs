//! Use-case tests that need a controllable clock (token expiry, lock expiry), on the embedded store.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;
use secrecy::SecretString;

use super::*;
use crate::app::NewUser;

struct Harness {
    app: AuthApp,
    now: Arc<Mutex<DateTime<Utc>>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/auth.db", dir.path().display());
        let store = crate::store::connect(&url).await.expect("sqlite store");
        let keys = KeyRing::load(store.clone(), None).await.expect("keys");
        let now = Arc::new(Mutex::new(crate::domain::now_micros()));
        let clock_now = now.clone();
        let clock: Clock = Arc::new(move || *clock_now.lock());
        let policy = Policy {
            issuer: "devopstrack".into(),
            audience: "devopstrack".into(),
            access_ttl: Duration::minutes(15),
            refresh_ttl: Duration::days(7),
            lockout_max_failures: 5,
            lockout_window: Duration::minutes(15),
            lockout_duration: Duration::minutes(15),
            service_clients: vec!["tasks".into()],
        };
        let hasher = PasswordHasher::new(19 * 1024, 2, 1).expect("hasher");
        let app = AuthApp::new(store, keys, hasher, policy, Some(SecretString::from("s3cret")), clock);
        Self { app, now, _dir: dir }
    }

    fn advance(&self, by: Duration) {
        *self.now.lock() += by;
    }

    async fn user(&self, email: &str, role: Role) {
        self.app
            .bootstrap_user(NewUser {
                email: email.into(),
                name: "Test".into(),
                role: Some(role),
                password: SecretString::from("correct horse battery"),
            })
            .await
            .expect("user");
    }
}

#[tokio::test]
async fn a_lock_ends_after_its_duration() {
    let h = Harness::new().await;
    h.user("ada@example.com", Role::Operator).await;
    let wrong = SecretString::from("wrong password!");
    for _ in 0..4 {
        assert!(matches!(
            h.app.login("ada@example.com", &wrong).await,
            Err(Error::Unauthenticated(_))
        ));
    }
    assert!(matches!(
        h.app.login("ada@example.com", &wrong).await,
        Err(Error::Locked { retry_after_secs: 900 })
    ));
    let right = SecretString::from("correct horse battery");
    assert!(matches!(
        h.app.login("ada@example.com", &right).await,
        Err(Error::Locked { .. })
    ));

    h.advance(Duration::minutes(15) + Duration::seconds(1));
    let grant = h
        .app
        .login("ada@example.com", &right)
        .await
        .expect("login after the lock");
    assert_eq!(grant.user.map(|u| u.role), Some(Role::Operator));
}

#[tokio::test]
async fn failures_outside_the_window_do_not_lock() {
    let h = Harness::new().await;
    h.user("bob@example.com", Role::Viewer).await;
    let wrong = SecretString::from("wrong password!");
    for _ in 0..4 {
        assert!(h.app.login("bob@example.com", &wrong).await.is_err());
    }
    h.advance(Duration::minutes(16));
    assert!(matches!(
        h.app.login("bob@example.com", &wrong).await,
        Err(Error::Unauthenticated(_))
    ));
}

#[tokio::test]
async fn access_tokens_expire_after_fifteen_minutes() {
    let h = Harness::new().await;
    h.user("eve@example.com", Role::Admin).await;
    let grant = h
        .app
        .login("eve@example.com", &SecretString::from("correct horse battery"))
        .await
        .unwrap();
    assert_eq!(grant.expires_in, 900);
    let principal = h.app.verifier().verify(&grant.access_token).await.unwrap();
    assert_eq!(principal.expires_at - h.now.lock().timestamp(), 900);
}

#[tokio::test]
async fn refresh_tokens_expire_after_seven_days() {
    let h = Harness::new().await;
    h.user("ops@example.com", Role::Viewer).await;
    let grant = h
        .app
        .login("ops@example.com", &SecretString::from("correct horse battery"))
        .await
        .unwrap();
    h.advance(Duration::days(7) + Duration::seconds(1));
    let refresh = grant.refresh_token.unwrap();
    assert!(matches!(h.app.refresh(&refresh).await, Err(Error::Unauthenticated(_))));
}

#[tokio::test]
async fn service_tokens_need_a_known_client_and_the_secret() {
    let h = Harness::new().await;
    let grant = h.app.issue_service_token("tasks", "s3cret").await.unwrap();
    let principal = h.app.verifier().verify(&grant.access_token).await.unwrap();
    assert_eq!(
        (principal.role, principal.subject.as_str()),
        (Role::Service, "service:tasks")
    );
    assert!(h.app.issue_service_token("tasks", "wrong").await.is_err());
    assert!(h.app.issue_service_token("intruder", "s3cret").await.is_err());
}

#[tokio::test]
async fn rotated_keys_keep_old_tokens_valid() {
    let h = Harness::new().await;
    let before = h.app.issue_service_token("tasks", "s3cret").await.unwrap().access_token;
    h.app.keys().rotate().await.unwrap();
    let after = h.app.issue_service_token("tasks", "s3cret").await.unwrap().access_token;
    assert_eq!(h.app.jwks().len(), 2);
    h.app.verifier().refresh(true).await.unwrap();
    assert!(h.app.verifier().verify(&before).await.is_ok());
    assert!(h.app.verifier().verify(&after).await.is_ok());
}
