//! The cache against a counting stand-in for auth's `IssueServiceToken`.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::DeliveryError;

/// Issues `token-<n>` valid for `expires_in` seconds to the client `tasks` with the right secret; counts the calls.
struct FakeAuth {
    expires_in: i64,
    calls: AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

const SECRET: &str = "0123456789abcdef0123456789abcdef";

impl FakeAuth {
    fn new(expires_in: i64) -> Arc<Self> {
        Arc::new(Self {
            expires_in,
            calls: AtomicUsize::new(0),
            down: false.into(),
        })
    }

    fn tokens(self: &Arc<Self>, secret: Option<&str>) -> ServiceTokens {
        let auth = self.clone();
        let issue: TokenIssuer = Arc::new(move |request| {
            let auth = auth.clone();
            Box::pin(async move {
                let n = auth.calls.fetch_add(1, Ordering::SeqCst) + 1;
                if auth.down.load(Ordering::SeqCst) {
                    return Err(tonic::Status::unavailable("connection refused"));
                }
                if (request.client_id.as_str(), request.client_secret.as_str()) != ("tasks", SECRET) {
                    return Err(tonic::Status::unauthenticated("bad client credentials"));
                }
                Ok(auth_pb::TokenResponse {
                    access_token: format!("token-{n}"),
                    expires_in: auth.expires_in,
                    ..Default::default()
                })
            })
        });
        ServiceTokens::with_issuer(issue, "tasks", "tasks", secret.map(SecretString::from))
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_token_is_reused_until_it_comes_within_the_margin_of_its_expiry() {
    let auth = FakeAuth::new(900);
    let tokens = auth.tokens(Some(SECRET));

    let first = tokens.token().await.unwrap();
    let again = tokens.token().await.unwrap();

    assert_eq!(
        (first.as_str(), again.as_str(), auth.calls()),
        ("token-1", "token-1", 1)
    );
}

#[tokio::test]
async fn a_token_expiring_within_the_margin_is_never_reused() {
    // 60 s of life is all margin: each call asks for a new token.
    let auth = FakeAuth::new(MARGIN.as_secs() as i64);
    let tokens = auth.tokens(Some(SECRET));

    let first = tokens.token().await.unwrap();
    let second = tokens.token().await.unwrap();

    assert_eq!(
        (first.as_str(), second.as_str(), auth.calls()),
        ("token-1", "token-2", 2)
    );
}

#[tokio::test]
async fn a_cached_token_expires_once_its_life_minus_the_margin_has_passed() {
    let auth = FakeAuth::new(MARGIN.as_secs() as i64 + 1);
    let tokens = auth.tokens(Some(SECRET));
    assert_eq!(tokens.token().await.unwrap(), "token-1");
    assert_eq!(tokens.token().await.unwrap(), "token-1", "cached for one second");

    tokio::time::sleep(Duration::from_millis(1_050)).await;

    assert_eq!(tokens.token().await.unwrap(), "token-2");
    assert_eq!(auth.calls(), 2);
}

#[tokio::test]
async fn a_forgotten_token_is_fetched_again_and_sent_as_bearer_metadata() {
    let auth = FakeAuth::new(900);
    let tokens = auth.tokens(Some(SECRET));
    tokens.token().await.unwrap();

    tokens.forget().await;
    let request = tokens.request(()).await.unwrap();

    assert_eq!(request.metadata().get("authorization").unwrap(), "Bearer token-2");
}

#[tokio::test]
async fn without_a_secret_no_call_is_made_and_the_error_names_both_variables() {
    let auth = FakeAuth::new(900);
    let tokens = auth.tokens(None);

    let error = tokens.token().await.unwrap_err();

    assert!(!tokens.configured());
    assert_eq!(auth.calls(), 0);
    assert_eq!(
        error.to_string(),
        "no client secret configured: set DEVOPSTRACK_TASKS__CLIENT_SECRET (auth's \
         DEVOPSTRACK_AUTH__SERVICE_CLIENTS__TASKS)"
    );
}

#[tokio::test]
async fn auth_down_is_unavailable_and_nothing_is_cached() {
    let auth = FakeAuth::new(900);
    let tokens = auth.tokens(Some(SECRET));
    auth.down.store(true, Ordering::SeqCst);

    let error = tokens.token().await.unwrap_err();
    auth.down.store(false, Ordering::SeqCst);

    assert_eq!(
        error,
        ServiceTokenError::Unavailable("Unavailable connection refused".into())
    );
    assert_eq!(tokens.token().await.unwrap(), "token-2");
}

#[tokio::test]
async fn a_peer_refusing_the_token_makes_the_next_call_fetch_a_new_one() {
    let auth = FakeAuth::new(900);
    let tokens = auth.tokens(Some(SECRET));
    tokens.token().await.unwrap();
    let final_codes = [tonic::Code::InvalidArgument];

    let refused = DeliveryError::from_status(
        "metrics",
        &tonic::Status::unauthenticated("token signed by an unknown key"),
        &final_codes,
        &tokens,
    )
    .await;
    let invalid = DeliveryError::from_status(
        "metrics",
        &tonic::Status::invalid_argument("bad"),
        &final_codes,
        &tokens,
    )
    .await;
    let down = DeliveryError::from_status("metrics", &tonic::Status::unavailable("down"), &final_codes, &tokens).await;

    assert_eq!(
        refused,
        DeliveryError::Retry("metrics: Unauthenticated token signed by an unknown key".into())
    );
    assert_eq!(invalid, DeliveryError::Rejected("metrics: InvalidArgument bad".into()));
    assert_eq!(down, DeliveryError::Retry("metrics: Unavailable down".into()));
    assert_eq!(
        tokens.token().await.unwrap(),
        "token-2",
        "the refused token was forgotten"
    );
}
