//! The connection rules, driven without a network: a channel plays the client's frames, the outbox's receiving end
//! is what the client would read, and the closer says how the socket ended. Tokens are signed with a key the verifier
//! trusts, as auth would; the tasks service is absent (subscriptions keep retrying, which these tests do not need).

use std::sync::Arc;
use std::time::Duration;

use actix_ws::{AggregatedMessage, ProtocolError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use prometheus_client::metrics::counter::Counter;
use serde_json::{Value, json};

use devopstrack_platform::auth::{Jwk, JwtVerifier};
use devopstrack_platform::grpc::{ClientSettings, TracePropagation, lazy_channel};
use devopstrack_proto::tasks::v1::task_service_client::TaskServiceClient;

use super::connection::{self, Context, Limits};
use super::outbox::{Closer, Inbox, Outgoing, outbox};
use super::protocol::close;
use super::watch::MAX_TOPICS;

const KID: &str = "test-key";

type Frame = Result<AggregatedMessage, ProtocolError>;

struct Client {
    frames: UnboundedSender<Frame>,
    inbox: Inbox,
    closer: Closer,
    key: SigningKey,
}

fn limits() -> Limits {
    Limits {
        auth_timeout: Duration::from_millis(300),
        ping_interval: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
    }
}

/// A connection running on this (actix test) thread with these limits.
fn connect(limits: Limits) -> Client {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
    let jwks = vec![Jwk::ed25519(KID, x)];
    let verifier = JwtVerifier::new(
        "devopstrack",
        "devopstrack",
        Arc::new(move || {
            let jwks = jwks.clone();
            Box::pin(async move { Ok(jwks) })
        }),
    );
    // Nothing listens there: a subscription keeps retrying quietly.
    let channel = lazy_channel(&ClientSettings::new("http://127.0.0.1:9")).expect("a lazy channel");
    let context = Context {
        verifier: Arc::new(verifier),
        tasks: TaskServiceClient::with_interceptor(channel, TracePropagation),
        request_id: Arc::from("test"),
        limits,
        per_user: super::caps::Cap::new(20),
        chat: None,
    };
    let (frames, incoming) = unbounded();
    let closer = Closer::default();
    let (outbox, inbox) = outbox(64, closer.clone(), Counter::default());
    actix_web::rt::spawn(connection::run(context, incoming, outbox, closer.clone()));
    Client {
        frames,
        inbox,
        closer,
        key,
    }
}

impl Client {
    fn token(&self, sub: &str, exp_in_secs: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "sub": sub, "role": "viewer", "name": "Vi Viewer", "iss": "devopstrack", "aud": "devopstrack",
            "iat": now, "exp": now + exp_in_secs, "jti": uuid::Uuid::new_v4().to_string(),
        });
        let pem = self.key.to_pkcs8_pem(Default::default()).unwrap();
        let encoding = jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).unwrap();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(KID.into());
        jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
    }

    fn frame(&self, frame: Frame) {
        self.frames.unbounded_send(frame).expect("the connection reads");
    }

    fn send(&self, message: Value) {
        self.frame(Ok(AggregatedMessage::Text(message.to_string().into())));
    }

    /// The next frame for the client.
    async fn next(&mut self) -> Outgoing {
        tokio::time::timeout(Duration::from_secs(2), self.inbox.recv())
            .await
            .expect("a frame within 2 s")
            .expect("the outbox is open")
    }

    /// The next JSON message for the client (skipping heartbeat pings).
    async fn message(&mut self) -> Value {
        loop {
            if let Outgoing::Text(text) = self.next().await {
                return serde_json::from_str(&text).expect("JSON");
            }
        }
    }

    async fn authenticate(&mut self, sub: &str) -> Value {
        self.send(json!({"type": "auth", "token": self.token(sub, 900)}));
        let answer = self.message().await;
        assert_eq!(answer["type"], "authenticated", "{answer}");
        answer
    }

    /// How the socket ended (code, reason), waiting up to 2 s.
    async fn closed(&self) -> (u16, String) {
        tokio::time::timeout(Duration::from_secs(2), self.closer.closed())
            .await
            .expect("the socket closes within 2 s");
        self.closer.reason().expect("a reason")
    }
}

#[actix_web::test]
async fn a_valid_token_first_authenticates_the_socket() {
    let mut client = connect(limits());

    let answer = client.authenticate("user-1").await;

    assert_eq!(
        answer["user"],
        json!({"id": "user-1", "name": "Vi Viewer", "role": "viewer"})
    );
    assert!(
        answer["expiresAt"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{answer}"
    );
    assert!(!client.closer.is_closed());
}

#[actix_web::test]
async fn anything_but_auth_first_closes_with_4401() {
    let firsts = [
        json!({"type": "ping"}),
        json!({"type": "subscribe", "topics": ["project:api"]}),
        json!({"type": "auth"}),
        json!({"type": "auth", "token": "not.a.jwt"}),
        json!({"type": "auth", "token": 42}),
    ];
    for first in firsts {
        let mut client = connect(limits());

        client.send(first.clone());

        assert_eq!(client.closed().await.0, close::UNAUTHENTICATED, "{first}");
        assert!(
            client.inbox.recv().await.is_none(),
            "{first}: nothing is sent before auth"
        );
    }
}

#[actix_web::test]
async fn a_non_json_first_message_or_an_expired_token_closes_with_4401() {
    let client = connect(limits());
    client.frame(Ok(AggregatedMessage::Text("hello".into())));
    assert_eq!(client.closed().await.0, close::UNAUTHENTICATED);

    let client = connect(limits());
    client.send(json!({"type": "auth", "token": client.token("user-1", -3600)}));
    let (code, reason) = client.closed().await;
    assert_eq!((code, reason.as_str()), (close::UNAUTHENTICATED, "token expired"));
}

#[actix_web::test]
async fn silence_before_auth_closes_with_4401_at_the_deadline() {
    let client = connect(limits());
    let started = tokio::time::Instant::now();

    let (code, reason) = client.closed().await;

    assert_eq!(code, close::UNAUTHENTICATED);
    assert!(reason.contains(r#""type":"auth""#), "{reason}");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}

#[actix_web::test]
async fn websocket_pings_before_auth_are_answered_but_do_not_authenticate() {
    let mut client = connect(limits());

    client.frame(Ok(AggregatedMessage::Ping("hb".into())));

    assert_eq!(client.next().await, Outgoing::Pong(b"hb".to_vec()));
    assert_eq!(client.closed().await.0, close::UNAUTHENTICATED);
}

#[actix_web::test]
async fn ping_is_answered_and_bad_messages_get_an_error_without_closing() {
    let mut client = connect(limits());
    client.authenticate("user-1").await;

    client.send(json!({"type": "ping"}));
    assert_eq!(client.message().await, json!({"type": "pong"}));
    client.send(json!({"type": "chat.typing", "text": "deploy"}));
    let unknown = client.message().await;
    client.send(json!({"type": "subscribe", "topics": "project:api"}));
    let wrong_type = client.message().await;
    client.send(json!({"type": "subscribe", "topics": ["job:1", "project:API"]}));
    let bad_topics = [client.message().await, client.message().await];

    assert_eq!(unknown["type"], "error");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains(r#"unknown type "chat.typing""#),
        "{unknown}"
    );
    assert!(
        wrong_type["message"]
            .as_str()
            .unwrap()
            .starts_with("topics: invalid type"),
        "{wrong_type}"
    );
    assert_eq!(
        bad_topics.map(|m| m["topic"].clone()),
        [json!("job:1"), json!("project:API")]
    );
    client.send(json!({"type": "ping"}));
    assert_eq!(client.message().await, json!({"type": "pong"}), "still open");
    assert!(!client.closer.is_closed());
}

#[actix_web::test]
async fn at_most_twenty_topics_are_followed() {
    let mut client = connect(limits());
    client.authenticate("user-1").await;
    let topics: Vec<String> = (0..MAX_TOPICS + 2)
        .map(|i| format!("pipeline:00000000-0000-4000-8000-{i:012}"))
        .collect();
    let many: Vec<String> = (0..1000).map(|i| format!("project:p{i}")).collect();

    client.send(json!({"type": "subscribe", "topics": many}));
    let too_many = client.message().await;
    assert_eq!(
        too_many,
        json!({"type": "error", "message": "topics: at most 20 per connection, got 1000"}),
        "one answer for the whole list, which is refused"
    );
    client.send(json!({"type": "subscribe", "topics": topics[..MAX_TOPICS]}));
    client.send(json!({"type": "subscribe", "topics": topics[MAX_TOPICS..]}));

    // The tasks service is absent: the first twenty keep connecting and only the refusals answer.
    let refused = [client.message().await, client.message().await];
    assert_eq!(
        refused.clone().map(|m| m["topic"].clone()),
        [json!(topics[20]), json!(topics[21])]
    );
    assert!(
        refused[0]["message"].as_str().unwrap().contains("at most 20"),
        "{}",
        refused[0]
    );

    client.send(json!({"type": "unsubscribe", "topics": [topics[0], "project:never"]}));
    assert_eq!(
        client.message().await,
        json!({"type": "unsubscribed", "topics": [topics[0]]})
    );
    client.send(json!({"type": "subscribe", "topics": [topics[0], topics[1]]}));
    client.send(json!({"type": "ping"}));
    assert_eq!(
        client.message().await,
        json!({"type": "pong"}),
        "topics still connecting are acknowledged once, when they open"
    );
}

#[actix_web::test]
async fn frames_that_are_not_json_text_close_the_socket_with_the_matching_code() {
    let cases: [(Frame, u16); 4] = [
        (Ok(AggregatedMessage::Text("{not json".into())), close::UNSUPPORTED_DATA),
        (
            Ok(AggregatedMessage::Binary(vec![1, 2, 3].into())),
            close::UNSUPPORTED_DATA,
        ),
        (Err(ProtocolError::Overflow), close::TOO_BIG),
        (
            Err(ProtocolError::Io(std::io::Error::other(
                "Exceeded maximum continuation size",
            ))),
            close::TOO_BIG,
        ),
    ];
    for (frame, code) in cases {
        let mut client = connect(limits());
        client.authenticate("user-1").await;
        let description = format!("{frame:?}");

        client.frame(frame);

        assert_eq!(client.closed().await.0, code, "{description}");
    }
}

#[actix_web::test]
async fn a_client_close_or_a_dropped_connection_ends_the_socket_normally() {
    let mut client = connect(limits());
    client.authenticate("user-1").await;
    client.frame(Ok(AggregatedMessage::Close(None)));
    assert_eq!(client.closed().await.0, close::NORMAL);

    let mut client = connect(limits());
    client.authenticate("user-1").await;
    client.frames.close_channel();
    assert_eq!(client.closed().await.0, close::NORMAL);
}

#[actix_web::test]
async fn the_server_pings_and_closes_a_silent_client() {
    let mut client = connect(Limits {
        ping_interval: Duration::from_millis(50),
        idle_timeout: Duration::from_millis(200),
        ..limits()
    });
    client.authenticate("user-1").await;

    assert_eq!(client.next().await, Outgoing::Ping);
    let (code, _) = client.closed().await;

    assert_eq!(code, close::GOING_AWAY);
}

#[actix_web::test]
async fn a_client_that_answers_pings_stays_open() {
    let mut client = connect(Limits {
        ping_interval: Duration::from_millis(50),
        idle_timeout: Duration::from_millis(200),
        ..limits()
    });
    client.authenticate("user-1").await;

    for _ in 0..8 {
        assert_eq!(client.next().await, Outgoing::Ping);
        client.frame(Ok(AggregatedMessage::Pong(Default::default())));
    }

    assert!(!client.closer.is_closed(), "{:?}", client.closer.reason());
}

#[actix_web::test]
async fn a_fresh_token_extends_the_socket_and_one_of_another_user_closes_it() {
    let mut client = connect(limits());
    client.send(json!({"type": "auth", "token": client.token("user-1", 2)}));
    assert_eq!(client.message().await["type"], "authenticated");

    client.send(json!({"type": "auth", "token": client.token("user-1", 900)}));
    assert_eq!(client.message().await["type"], "authenticated");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        !client.closer.is_closed(),
        "the first token expired, the second one holds"
    );

    client.send(json!({"type": "auth", "token": client.token("user-2", 900)}));
    let (code, reason) = client.closed().await;
    assert_eq!(code, close::UNAUTHENTICATED);
    assert!(reason.contains("same user"), "{reason}");
}

#[actix_web::test]
async fn the_socket_closes_with_4401_when_its_token_expires() {
    let mut client = connect(limits());
    client.send(json!({"type": "auth", "token": client.token("user-1", 1)}));
    assert_eq!(client.message().await["type"], "authenticated");

    let (code, reason) = client.closed().await;

    assert_eq!(code, close::UNAUTHENTICATED);
    assert!(reason.starts_with("token expired"), "{reason}");
}
