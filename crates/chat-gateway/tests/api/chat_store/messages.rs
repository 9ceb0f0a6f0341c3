//! Messages: an idempotent `clientMsgId`, per-room event ids with no gaps under concurrency, history pages.

use devopstrack_gateway::chat::store::{Conflict, EventId, HistoryQuery, MAX_PAGE, REPLAY_CAP, Replay, StoreError};
use devopstrack_platform::auth::Role;
use futures::future::join_all;

use super::{at, open, person, room, said};

conformance!(
    a_resend_answers_the_stored_message_and_the_same_id_with_other_text_conflicts,
    event_ids_are_per_room_and_gapless_when_two_replicas_append_at_once,
    history_pages_before_and_after_a_cursor_with_the_limit_capped,
    a_client_further_behind_than_the_replay_cap_must_resync,
    a_message_resent_to_two_replicas_at_once_is_stored_once,
    everyone_sees_general_and_the_project_rooms_and_only_their_own_private_room,
);

fn ids(messages: &[devopstrack_gateway::chat::store::Message]) -> Vec<u64> {
    messages.iter().map(|m| m.event_id.get()).collect()
}

async fn a_resend_answers_the_stored_message_and_the_same_id_with_other_text_conflicts(url: &str) {
    let store = open(url).await;
    let (alice, bob) = (person("alice", Role::Operator), person("bob", Role::Viewer));

    let first = store
        .append_message(&said("general", &alice, "c-1", "status of api", 0))
        .await
        .unwrap();
    let resent = store
        .append_message(&said("general", &alice, "c-1", "status of api", 9))
        .await
        .unwrap();
    let reused = store
        .append_message(&said("general", &alice, "c-1", "deploy api", 10))
        .await;
    let bobs = store
        .append_message(&said("general", &bob, "c-1", "status of api", 11))
        .await
        .unwrap();
    let elsewhere = store
        .append_message(&said("project:api", &alice, "c-1", "deploy api", 12))
        .await
        .unwrap();

    assert!(first.created && first.message.event_id.get() == 1);
    assert!(!resent.created, "a resend writes nothing");
    assert_eq!(
        resent.message, first.message,
        "a resend answers the stored message, its time included"
    );
    match reused {
        Err(StoreError::Conflict(Conflict::ClientMsgIdReused { event_id })) => assert_eq!(event_id.get(), 1),
        other => panic!("same clientMsgId, other text: want a conflict, got {other:?}"),
    }
    assert!(
        bobs.created && bobs.message.event_id.get() == 2,
        "clientMsgId is unique per sender"
    );
    assert!(
        elsewhere.created && elsewhere.message.event_id.get() == 1,
        "and per room"
    );
    let general = store
        .history(&room("general"), &HistoryQuery::latest(10).unwrap())
        .await
        .unwrap();
    assert_eq!(ids(&general), [1, 2]);
    assert_eq!(general[0].text.as_str(), "status of api");
}

async fn event_ids_are_per_room_and_gapless_when_two_replicas_append_at_once(url: &str) {
    let replicas = [open(url).await, open(url).await];
    let alice = person("alice", Role::Operator);

    let appends = (0..40).map(|n| {
        let store = replicas[n % 2].clone();
        let room_id = if n % 4 == 0 { "general" } else { "project:api" };
        let message = said(room_id, &alice, &format!("c-{n}"), &format!("message {n}"), n as i64);
        async move { store.append_message(&message).await.unwrap() }
    });
    let appended = join_all(appends).await;

    for (room_id, count) in [("general", 10u64), ("project:api", 30)] {
        let mut got: Vec<u64> = appended
            .iter()
            .filter(|a| a.message.room == room(room_id))
            .map(|a| a.message.event_id.get())
            .collect();
        got.sort_unstable();
        assert_eq!(
            got,
            (1..=count).collect::<Vec<_>>(),
            "{room_id}: 1..={count}, no gap, no repeat"
        );
        let stored = replicas[1]
            .room(&room(room_id))
            .await
            .unwrap()
            .expect("the room exists");
        assert_eq!(stored.last_event_id.get(), count);
        let history = replicas[0]
            .history(&room(room_id), &HistoryQuery::latest(MAX_PAGE).unwrap())
            .await
            .unwrap();
        assert_eq!(
            ids(&history),
            (1..=count).collect::<Vec<_>>(),
            "history is in event id order"
        );
    }
}

async fn history_pages_before_and_after_a_cursor_with_the_limit_capped(url: &str) {
    let store = open(url).await;
    let alice = person("alice", Role::Viewer);
    for n in 1..=130 {
        store
            .append_message(&said("general", &alice, &format!("c-{n}"), &format!("line {n}"), n))
            .await
            .unwrap();
    }
    let general = room("general");
    let page = |before: Option<u64>, after: Option<u64>, limit: u32| {
        let (before, after) = (
            before.map(|b| EventId::new(b).unwrap()),
            after.map(|a| EventId::new(a).unwrap()),
        );
        HistoryQuery::new(before, after, limit).unwrap()
    };
    let range = |from: u64, to: u64| (from..=to).collect::<Vec<_>>();

    assert_eq!(
        ids(&store.history(&general, &page(None, None, 100)).await.unwrap()),
        range(31, 130)
    );
    assert_eq!(
        ids(&store.history(&general, &page(Some(31), None, 100)).await.unwrap()),
        range(1, 30)
    );
    assert_eq!(
        ids(&store.history(&general, &page(Some(31), None, 5)).await.unwrap()),
        range(26, 30)
    );
    assert_eq!(
        ids(&store.history(&general, &page(None, Some(100), 10)).await.unwrap()),
        range(101, 110)
    );
    assert_eq!(
        ids(&store.history(&general, &page(Some(50), Some(40), 100)).await.unwrap()),
        range(41, 49)
    );
    assert!(
        store
            .history(&general, &page(None, Some(130), 10))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .history(&room("project:nothing"), &page(None, None, 10))
            .await
            .unwrap()
            .is_empty()
    );
    for limit in [0, MAX_PAGE + 1] {
        match HistoryQuery::new(None, None, limit) {
            Err(StoreError::InvalidInput(why)) => assert!(why.starts_with("limit"), "{why}"),
            other => panic!("limit {limit}: want InvalidInput, got {other:?}"),
        }
    }

    match store.replay(&general, EventId::new(125).unwrap()).await.unwrap() {
        Replay::Events(events) => assert_eq!(ids(&events), range(126, 130)),
        other => panic!("want the 5 missed events, got {other:?}"),
    }
    match store.replay(&general, EventId::ZERO).await.unwrap() {
        Replay::Events(events) => assert_eq!(ids(&events), range(1, 130), "replay pages past MAX_PAGE"),
        other => panic!("want every event, got {other:?}"),
    }
    let ahead = store.replay(&general, EventId::new(131).unwrap()).await.unwrap();
    assert_eq!(ahead, Replay::ResyncRequired, "a cursor ahead of the room");
}

async fn a_client_further_behind_than_the_replay_cap_must_resync(url: &str) {
    let store = open(url).await;
    let bob = person("bob", Role::Viewer);
    let last = REPLAY_CAP + 1;
    for n in 1..=last {
        let message = said("general", &bob, &format!("c-{n}"), &format!("line {n}"), n as i64);
        store.append_message(&message).await.unwrap();
    }
    let general = room("general");

    let too_far = store.replay(&general, EventId::ZERO).await.unwrap();
    let at_the_cap = store.replay(&general, EventId::new(1).unwrap()).await.unwrap();

    assert_eq!(
        too_far,
        Replay::ResyncRequired,
        "{last} missed events: more than the cap"
    );
    match at_the_cap {
        Replay::Events(events) => assert_eq!(ids(&events), (2..=last).collect::<Vec<_>>(), "exactly the cap"),
        other => panic!("want {REPLAY_CAP} events, got {other:?}"),
    }
}

async fn a_message_resent_to_two_replicas_at_once_is_stored_once(url: &str) {
    let replicas = [open(url).await, open(url).await];
    let alice = person("alice", Role::Operator);
    let message = said("project:api", &alice, "c-twice", "retry api#44", 0);

    let sends = (0..6).map(|n| {
        let (store, message) = (replicas[n % 2].clone(), message.clone());
        async move { store.append_message(&message).await.unwrap() }
    });
    let answers = join_all(sends).await;

    assert_eq!(
        answers.iter().filter(|a| a.created).count(),
        1,
        "one send stores it, the others are resends"
    );
    assert!(
        answers.iter().all(|a| a.message == answers[0].message),
        "every send answers the same message"
    );
    let history = replicas[0]
        .history(&room("project:api"), &HistoryQuery::latest(10).unwrap())
        .await
        .unwrap();
    assert_eq!(ids(&history), [1], "and the room holds it once, with no event id burnt");
}

async fn everyone_sees_general_and_the_project_rooms_and_only_their_own_private_room(url: &str) {
    let store = open(url).await;
    for room_id in ["dm:bob", "project:web", "dm:alice", "project:api", "project:api"] {
        store.ensure_room(&room(room_id), at(0)).await.unwrap();
    }

    let visible = |rooms: Vec<devopstrack_gateway::chat::store::Room>| {
        rooms.into_iter().map(|r| r.id.to_string()).collect::<Vec<_>>()
    };
    let alices = visible(store.rooms_visible_to("alice").await.unwrap());
    let carols = visible(store.rooms_visible_to("carol").await.unwrap());

    assert_eq!(alices, ["general", "project:api", "project:web", "dm:alice"]);
    assert_eq!(
        carols,
        ["general", "project:api", "project:web"],
        "a private room exists once it is used"
    );
    let api = store.room(&room("project:api")).await.unwrap().expect("created once");
    assert_eq!(api.last_event_id, EventId::ZERO);
}
