//! What the bot's notices and the edge's audit need of the store: a keyed bot message is stored once however many
//! replicas post it at once, a follower's cursor is kept, and a batch of audit records joins the chain whole.

use devopstrack_gateway::chat::store::{AuditActor, ClientMsgId, NewAuditRecord, NewMessage, StoreError};
use devopstrack_platform::auth::Role;
use futures::future::join_all;

use super::{at, open, person, room, said, text};

conformance!(
    a_keyed_notice_posted_by_two_replicas_at_once_is_stored_once,
    a_feed_cursor_is_kept_and_replaced,
    an_audit_batch_joins_the_chain_whole_or_not_at_all,
);

fn notice(key: &str, body: &str, seconds: i64) -> NewMessage {
    NewMessage::from_bot(room("project:api"), true, text(body), at(seconds)).keyed(ClientMsgId::parse(key).unwrap())
}

async fn a_keyed_notice_posted_by_two_replicas_at_once_is_stored_once(url: &str) {
    let (a, b) = (open(url).await, open(url).await);
    let posts = (0..8).map(|n| {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        async move {
            store
                .append_message(&notice("notice:run_failed:1", "api#1 failed.", n))
                .await
        }
    });
    let answers: Vec<_> = join_all(posts).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(answers.iter().filter(|a| a.created).count(), 1, "{answers:?}");
    let stored = &answers.iter().find(|a| a.created).unwrap().message;
    assert!(answers.iter().all(|a| a.message.event_id == stored.event_id));

    // Another key is another notice; a person's clientMsgId equal to a key is theirs, not the bot's.
    let next = a
        .append_message(&notice("notice:run_failed:2", "api#2 failed.", 9))
        .await
        .unwrap();
    assert!(next.created);
    let alice = person("alice", Role::Operator);
    let hers = a
        .append_message(&said("project:api", &alice, "notice:run_failed:1", "api#1 failed.", 10))
        .await
        .unwrap();
    assert!(hers.created, "a person's message never answers as the bot's notice");
    let room = a.room(&room("project:api")).await.unwrap().unwrap();
    assert_eq!(room.last_event_id.get(), 3, "one notice, another, and alice's message");
}

async fn a_feed_cursor_is_kept_and_replaced(url: &str) {
    let (a, b) = (open(url).await, open(url).await);
    assert_eq!(a.feed_cursor("tasks.events").await.unwrap(), None);
    a.save_feed_cursor("tasks.events", "17", at(0)).await.unwrap();
    assert_eq!(b.feed_cursor("tasks.events").await.unwrap().as_deref(), Some("17"));
    b.save_feed_cursor("tasks.events", "1733600000000-3", at(1))
        .await
        .unwrap();
    assert_eq!(
        a.feed_cursor("tasks.events").await.unwrap().as_deref(),
        Some("1733600000000-3")
    );
    assert_eq!(a.feed_cursor("other").await.unwrap(), None);
}

fn http(kind: &str, seconds: i64) -> NewAuditRecord {
    NewAuditRecord {
        at: at(seconds),
        actor: AuditActor {
            subject: "anonymous".into(),
            name: "anonymous".into(),
            role: None,
        },
        kind: kind.into(),
        target: "/api/v1/pipelines".into(),
        result: "201".into(),
        source: Some("127.0.0.1".into()),
        request_id: Some(format!("r-{seconds}")),
        details: serde_json::json!({}),
    }
}

async fn an_audit_batch_joins_the_chain_whole_or_not_at_all(url: &str) {
    let (a, b) = (open(url).await, open(url).await);
    let batch = |from: i64| {
        (from..from + 50)
            .map(|s| http("http.POST /api/v1/pipelines", s))
            .collect::<Vec<_>>()
    };
    let (ours, theirs) = (batch(0), batch(100));
    let (first, second) = tokio::join!(a.append_audit_batch(&ours), b.append_audit_batch(&theirs));
    first.unwrap();
    second.unwrap();
    let mut refused = batch(200);
    refused[10].kind = String::new();
    let err = a.append_audit_batch(&refused).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::InvalidInput(m) if m.contains("kind")),
        "{err:?}"
    );
    let report = b.verify_audit_chain().await.unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.records, 100, "two whole batches, none of the refused one");
}
