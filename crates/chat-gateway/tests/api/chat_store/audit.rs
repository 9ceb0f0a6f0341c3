//! The audit trail: a hash chain that verifies intact and names a tampered record, and admin queries with filters
//! and a page token bound to its query.

use devopstrack_gateway::chat::store::{AuditActor, AuditQuery, NewAuditRecord, StoreError};
use devopstrack_platform::auth::Role;
use serde_json::json;

use super::{at, open, tamper_with_audit_record};

conformance!(
    the_chain_verifies_intact_and_names_the_first_tampered_record,
    queries_filter_by_actor_kind_and_time_and_page_with_a_bound_token,
);

fn record(actor: &str, kind: &str, seconds: i64) -> NewAuditRecord {
    NewAuditRecord {
        at: at(seconds),
        actor: AuditActor {
            subject: actor.into(),
            name: format!("{actor} (test)"),
            role: Some(Role::Operator),
        },
        kind: kind.into(),
        target: "/api/v1/pipelines".into(),
        result: "201".into(),
        source: Some("203.0.113.7".into()),
        request_id: Some(format!("req-{seconds}")),
        details: json!({ "n": seconds }),
    }
}

async fn the_chain_verifies_intact_and_names_the_first_tampered_record(url: &str) {
    let store = open(url).await;
    let empty = store.verify_audit_chain().await.unwrap();
    assert!(empty.intact() && empty.records == 0);
    let mut previous_hash = None;
    for n in 1..=5 {
        let stored = store.append_audit(&record("alice", "http.POST", n)).await.unwrap();
        assert_eq!(stored.seq, n as u64);
        if let Some(previous) = previous_hash {
            assert_eq!(stored.prev_hash, previous, "each record is chained to the one before");
        }
        previous_hash = Some(stored.hash);
    }
    let report = store.verify_audit_chain().await.unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.records, 5);

    tamper_with_audit_record(url, 3).await;

    let report = store.verify_audit_chain().await.unwrap();
    assert!(!report.intact());
    let broken = report.first_break.expect("a break is reported");
    assert_eq!(broken.seq, 3, "the altered record is named: {}", broken.problem);
}

async fn queries_filter_by_actor_kind_and_time_and_page_with_a_bound_token(url: &str) {
    let store = open(url).await;
    for (n, (actor, kind)) in [
        ("alice", "http.POST /api/v1/pipelines"),
        ("bob", "chat.action.propose"),
        ("alice", "chat.action.confirm"),
        ("alice", "chat.action.propose"),
        ("bob", "http.DELETE /api/v1/projects/api"),
        ("alice", "chat.action.approve"),
        ("alice", "chat.action.expire"),
    ]
    .into_iter()
    .enumerate()
    {
        store.append_audit(&record(actor, kind, n as i64 * 60)).await.unwrap();
    }
    let seqs =
        |page: &devopstrack_gateway::chat::store::AuditPage| page.records.iter().map(|r| r.seq).collect::<Vec<_>>();

    let alices_chat = AuditQuery {
        actor: Some("alice".into()),
        kind: Some("chat.action.*".into()),
        limit: 2,
        ..AuditQuery::default()
    };
    let first = store.audit_page(&alices_chat).await.unwrap();
    assert_eq!(seqs(&first), [7, 6], "newest first");
    let token = first.next_page_token.clone().expect("older records match");
    let second = store
        .audit_page(&AuditQuery {
            page_token: Some(token.clone()),
            ..alices_chat.clone()
        })
        .await
        .unwrap();
    assert_eq!(seqs(&second), [4, 3]);
    assert_eq!(second.next_page_token, None, "nothing older matches: no token");

    let window = AuditQuery {
        from: Some(at(60)),
        to: Some(at(240)),
        limit: 100,
        ..AuditQuery::default()
    };
    assert_eq!(
        seqs(&store.audit_page(&window).await.unwrap()),
        [4, 3, 2],
        "from inclusive, to exclusive"
    );
    let exact = AuditQuery {
        kind: Some("chat.action.propose".into()),
        limit: 100,
        ..AuditQuery::default()
    };
    assert_eq!(seqs(&store.audit_page(&exact).await.unwrap()), [4, 2]);

    let elsewhere = AuditQuery {
        actor: Some("bob".into()),
        page_token: Some(token),
        ..alices_chat.clone()
    };
    let forged = AuditQuery {
        page_token: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
        ..alices_chat.clone()
    };
    for (what, query) in [("a token of another query", elsewhere), ("a made-up token", forged)] {
        match store.audit_page(&query).await {
            Err(StoreError::InvalidInput(why)) => assert!(why.starts_with("pageToken"), "{what}: {why}"),
            other => panic!("{what}: want InvalidInput, got {other:?}"),
        }
    }
    let too_many = AuditQuery {
        limit: 101,
        ..AuditQuery::default()
    };
    assert!(matches!(
        store.audit_page(&too_many).await,
        Err(StoreError::InvalidInput(_))
    ));
}
