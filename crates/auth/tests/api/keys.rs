//! Signing keys at rest: sealed under the key-encryption key, a plaintext store from before sealed at first start,
//! and a start refused (one line) without a KEK or with another one than the keys were sealed under.

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use secrecy::SecretString;

use devopstrack_auth::domain::{SigningKeyRecord, now_micros};
use devopstrack_auth::startup::Application;

use crate::helpers::test_settings;

const OTHER_KEK: &str = "//////////////////////////////////////////8=";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_signing_key_from_before_is_sealed_at_first_start_and_kept() {
    // Arrange: a store as an earlier version left it, with its key as a plaintext PEM
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/auth.db", dir.path().display());
    let store = devopstrack_auth::store::connect(&url).await.expect("store");
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = signing.to_pkcs8_pem(Default::default()).unwrap().to_string();
    let kid = devopstrack_auth::keys::thumbprint(&signing);
    let plaintext = SigningKeyRecord {
        kid: kid.clone(),
        private_key: pem.clone(),
        created_at: now_micros(),
    };
    store.insert_signing_key(&plaintext).await.expect("a plaintext key");

    // Act
    let application = Application::build(&test_settings(&url))
        .await
        .expect("start with a KEK");

    // Assert: the same key signs and is published, and the store holds it sealed
    let app = application.app();
    assert_eq!(app.keys().active_kid(), kid);
    assert_eq!(
        app.jwks().iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        [kid.as_str()]
    );
    let stored = store.signing_keys().await.expect("keys");
    assert_eq!(stored.len(), 1);
    assert!(stored[0].private_key.starts_with("kek1."), "sealed");
    assert!(!stored[0].private_key.contains("PRIVATE KEY"));
    let pem_body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!stored[0].private_key.contains(&pem_body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_sealed_under_another_kek_stop_the_start_with_one_line() {
    // Arrange: a store whose keys were sealed under the test KEK
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/auth.db", dir.path().display());
    drop(Application::build(&test_settings(&url)).await.expect("first start"));
    let mut other = test_settings(&url);
    other.signing_key_kek = Some(SecretString::from(OTHER_KEK));

    // Act
    let error = Application::build(&other).await.err().expect("refused");

    // Assert
    let message = format!("{error:#}");
    assert!(message.contains("another key-encryption key"), "{message}");
    assert!(message.contains("DEVOPSTRACK_AUTH__SIGNING_KEY_KEK"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_without_a_kek_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&format!("sqlite://{}/auth.db", dir.path().display()));
    settings.signing_key_kek = None;

    let error = Application::build(&settings).await.err().expect("refused");

    let message = error.to_string();
    assert!(
        message.contains("DEVOPSTRACK_AUTH__SIGNING_KEY_KEK: must be set"),
        "{message}"
    );
}
