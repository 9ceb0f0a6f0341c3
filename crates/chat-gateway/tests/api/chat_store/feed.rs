//! The change feed: a commit on one replica reaches the subscribers of another (PostgreSQL LISTEN/NOTIFY; on
//! SQLite, in-process, every store opened on the same file).

use std::time::Duration;

use devopstrack_gateway::chat::domain::{Intent, Params, Risk};
use devopstrack_gateway::chat::store::{ChangeNotice, NewAction, RequestMeta};
use devopstrack_platform::auth::Role;
use futures::StreamExt;

use super::{at, open, person, room, said};

conformance!(a_commit_on_one_replica_reaches_the_subscribers_of_another);

async fn next(feed: &mut futures::stream::BoxStream<'static, ChangeNotice>) -> ChangeNotice {
    tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await
        .expect("a notice within 10 s")
        .expect("the feed stays open")
}

async fn a_commit_on_one_replica_reaches_the_subscribers_of_another(url: &str) {
    let (writer, reader) = (open(url).await, open(url).await);
    let mut theirs = reader.subscribe();
    let mut ours = writer.subscribe();
    let alice = person("alice", Role::Operator);

    let appended = writer
        .append_message(&said("project:api", &alice, "c-1", "deploy api", 0))
        .await
        .unwrap();
    let want = ChangeNotice::Message {
        room: room("project:api"),
        event_id: appended.message.event_id,
    };
    assert_eq!(next(&mut theirs).await, want, "the other replica hears the message");
    assert_eq!(next(&mut ours).await, want, "and so does the writer's own");

    let resend = writer
        .append_message(&said("project:api", &alice, "c-1", "deploy api", 1))
        .await
        .unwrap();
    assert!(!resend.created);
    let action = writer
        .propose_action(&NewAction {
            room: room("project:api"),
            asker: alice.clone(),
            intent: Intent::Retry,
            params: Params {
                project: Some("api".into()),
                run: Some(44),
                ..Params::default()
            },
            risk: Risk::Medium,
            target: "api#44".into(),
            at: at(2),
            meta: RequestMeta::default(),
        })
        .await
        .unwrap();
    let want = ChangeNotice::Action {
        room: room("project:api"),
        action_id: action.id,
    };
    assert_eq!(
        next(&mut theirs).await,
        want,
        "a resend notifies nothing; the proposal does"
    );
}
