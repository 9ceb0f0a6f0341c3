//! Use-case tests that need a controllable clock (token expiry, throttle delays, key retirement), on the embedded
//! store.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;
use secrecy::SecretString;

use super::*;
use crate::app::NewUser;
use crate::kek::Kek;
use crate::keys::KeyPolicy;
use crate::passwords::HashCost;

const TASKS_SECRET: &str = "tasks-secret-0123456789abcdefghijklmnop";
const PASSWORD: &str = "correct horse battery";

fn kek() -> Kek {
    Kek::from_base64(&SecretString::from("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")).expect("a KEK")
}

fn source(ip: &str) -> Source {
    Some(ip.parse().expect("an IP"))
}

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
        let now = Arc::new(Mutex::new(crate::domain::now_micros()));
        let clock_now = now.clone();
        let clock: Clock = Arc::new(move || *clock_now.lock());
        let key_policy = KeyPolicy {
            rotation: Some(Duration::days(30)),
            grace: Duration::minutes(17),
        };
        let keys = KeyRing::load(store.clone(), kek(), None, key_policy, clock())
            .await
            .expect("keys");
        let policy = Policy {
            issuer: "devopstrack".into(),
            audience: "devopstrack".into(),
            access_ttl: Duration::minutes(15),
            refresh_ttl: Duration::days(7),
            throttle: ThrottlePolicy {
                free_failures: 5,
                window: Duration::minutes(15),
                max_delay: Duration::minutes(15),
            },
            rotate_keys: true,
        };
        let hasher = PasswordHasher::new(HashCost {
            memory_kib: 8 * 1024,
            iterations: 1,
            parallelism: 1,
            memory_budget_kib: 64 * 1024,
            queue_timeout: std::time::Duration::from_secs(60),
        })
        .expect("hasher");
        let clients = ServiceClients::new(&[("tasks".to_owned(), SecretString::from(TASKS_SECRET))].into());
        let app = AuthApp::new(store, keys, hasher, policy, clients, clock);
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
                password: SecretString::from(PASSWORD),
            })
            .await
            .expect("user");
    }
}

#[tokio::test]
async fn failed_logins_slow_down_one_address_progressively_and_never_the_others() {
    // Arrange
    let h = Harness::new().await;
    h.user("ada@example.com", Role::Operator).await;
    let (wrong, right) = (SecretString::from("wrong password!"), SecretString::from(PASSWORD));
    let (stranger, ada) = (source("203.0.113.9"), source("198.51.100.7"));

    // Act: five free failures from the stranger's address, then one too soon, then one after the 1 s delay
    for _ in 0..5 {
        assert!(matches!(
            h.app.login("ada@example.com", &wrong, stranger).await,
            Err(Error::Unauthenticated(_))
        ));
    }
    let too_soon = h.app.login("ada@example.com", &right, stranger).await;
    let from_ada = h.app.login("ada@example.com", &right, ada).await;
    h.advance(Duration::seconds(1));
    let after_one_second = h.app.login("ada@example.com", &wrong, stranger).await;
    let then_too_soon = h.app.login("ada@example.com", &wrong, stranger).await;

    // Assert
    assert!(
        matches!(too_soon, Err(Error::Locked { retry_after_secs: 1 })),
        "{too_soon:?}"
    );
    assert!(
        from_ada.is_ok(),
        "the user's own address is not slowed down: {from_ada:?}"
    );
    assert!(matches!(after_one_second, Err(Error::Unauthenticated(_))));
    assert!(
        matches!(then_too_soon, Err(Error::Locked { retry_after_secs: 2 })),
        "the delay doubles: {then_too_soon:?}"
    );
}

#[tokio::test]
async fn an_unknown_email_is_throttled_and_hashed_like_a_known_one() {
    // Arrange
    let h = Harness::new().await;
    h.user("ada@example.com", Role::Operator).await;
    let wrong = SecretString::from("wrong password!");
    let from = source("203.0.113.9");
    let mut answers = Vec::new();

    // Act: the same six attempts against a real and an unknown email
    for email in ["ada@example.com", "nobody@example.com"] {
        let before = h.app.hasher().verifications();
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(match h.app.login(email, &wrong, from).await {
                Err(e) => e.to_string(),
                Ok(_) => "ok".to_owned(),
            });
        }
        answers.push((seen, h.app.hasher().verifications() - before));
    }

    // Assert: identical answers, and one Argon2 verification per admitted attempt either way
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].1, 5, "{answers:?}");
    assert!(answers[0].0[5].starts_with("account_locked"), "{answers:?}");
}

#[tokio::test]
async fn a_quiet_address_is_forgotten_after_the_window() {
    let h = Harness::new().await;
    h.user("bob@example.com", Role::Viewer).await;
    let wrong = SecretString::from("wrong password!");
    let from = source("203.0.113.9");
    for _ in 0..5 {
        assert!(h.app.login("bob@example.com", &wrong, from).await.is_err());
    }
    h.advance(Duration::seconds(1) + Duration::minutes(15));
    for _ in 0..5 {
        assert!(matches!(
            h.app.login("bob@example.com", &wrong, from).await,
            Err(Error::Unauthenticated(_))
        ));
    }
}

#[tokio::test]
async fn a_successful_check_of_the_current_password_forgets_earlier_failures() {
    let h = Harness::new().await;
    h.user("cy@example.com", Role::Viewer).await;
    let grant = h
        .app
        .login("cy@example.com", &SecretString::from(PASSWORD), None)
        .await
        .unwrap();
    let principal = h.app.verifier().verify(&grant.access_token).await.unwrap();
    let from = source("192.0.2.1");
    let (wrong, right) = (SecretString::from("not it at all"), SecretString::from(PASSWORD));
    let new = SecretString::from("a brand new password");
    for _ in 0..5 {
        let failed = h.app.change_password(&principal, "", &wrong, &new, from).await;
        assert!(matches!(failed, Err(Error::InvalidInput(_))), "{failed:?}");
    }
    let throttled = h.app.change_password(&principal, "", &right, &new, from).await;
    assert!(matches!(throttled, Err(Error::Locked { .. })), "{throttled:?}");
    h.advance(Duration::seconds(1));
    h.app
        .change_password(&principal, "", &right, &new, from)
        .await
        .expect("the right password after the delay");
}

#[tokio::test]
async fn access_tokens_expire_after_fifteen_minutes() {
    let h = Harness::new().await;
    h.user("eve@example.com", Role::Admin).await;
    let grant = h
        .app
        .login("eve@example.com", &SecretString::from(PASSWORD), None)
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
        .login("ops@example.com", &SecretString::from(PASSWORD), None)
        .await
        .unwrap();
    h.advance(Duration::days(7) + Duration::seconds(1));
    let refresh = grant.refresh_token.unwrap();
    assert!(matches!(h.app.refresh(&refresh).await, Err(Error::Unauthenticated(_))));
}

#[tokio::test]
async fn service_tokens_need_a_known_client_and_its_secret_and_guesses_are_throttled() {
    let h = Harness::new().await;
    let grant = h.app.issue_service_token("tasks", TASKS_SECRET, None).await.unwrap();
    let principal = h.app.verifier().verify(&grant.access_token).await.unwrap();
    assert_eq!(
        (principal.role, principal.subject.as_str(), principal.service_client()),
        (Role::Service, "service:tasks", Some("tasks"))
    );
    let from = source("10.0.0.9");
    for _ in 0..5 {
        assert!(matches!(
            h.app.issue_service_token("tasks", "a guess", from).await,
            Err(Error::Unauthenticated(_))
        ));
    }
    assert!(matches!(
        h.app.issue_service_token("tasks", TASKS_SECRET, from).await,
        Err(Error::Locked { .. })
    ));
    assert!(h.app.issue_service_token("intruder", TASKS_SECRET, None).await.is_err());
    assert!(
        h.app.issue_service_token("tasks", TASKS_SECRET, None).await.is_ok(),
        "another source"
    );
}

#[tokio::test]
async fn a_rotated_out_key_stays_published_while_its_tokens_live_then_is_retired() {
    // Arrange: a token of the first key, then a rotation
    let h = Harness::new().await;
    let before = h
        .app
        .issue_service_token("tasks", TASKS_SECRET, None)
        .await
        .unwrap()
        .access_token;
    let first = h.app.keys().active_kid();
    h.advance(Duration::seconds(1));
    h.app.rotate_keys(false).await.unwrap();
    let after = h
        .app
        .issue_service_token("tasks", TASKS_SECRET, None)
        .await
        .unwrap()
        .access_token;

    // Act / Assert: both verify during the grace (17 minutes here)
    assert_eq!(h.app.jwks().len(), 2);
    assert!(h.app.verifier().verify(&before).await.is_ok());
    assert!(h.app.verifier().verify(&after).await.is_ok());
    h.advance(Duration::minutes(16));
    h.app.maintain().await.unwrap();
    assert_eq!(h.app.jwks().len(), 2, "still within the grace");

    // Act / Assert: after it, the first key is gone from the JWKS and the store, and its token is refused
    h.advance(Duration::minutes(2));
    h.app.maintain().await.unwrap();
    let kids: Vec<String> = h.app.jwks().into_iter().map(|k| k.kid).collect();
    assert_eq!(kids, [h.app.keys().active_kid()]);
    assert!(!kids.contains(&first));
    assert!(
        h.app.verifier().verify(&before).await.is_err(),
        "the retired key's token"
    );
    assert!(h.app.verifier().verify(&after).await.is_ok());
}

#[tokio::test]
async fn keys_rotate_on_schedule() {
    let h = Harness::new().await;
    let first = h.app.keys().active_kid();
    h.advance(Duration::days(29));
    h.app.maintain().await.unwrap();
    assert_eq!(h.app.keys().active_kid(), first, "not due yet");

    h.advance(Duration::days(1));
    h.app.maintain().await.unwrap();

    assert_ne!(h.app.keys().active_kid(), first, "30 days: rotated");
    assert_eq!(h.app.jwks().len(), 2, "the old key is still published");
}
