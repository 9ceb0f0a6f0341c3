//! Actions: compare-and-set decisions (of two replicas deciding at once exactly one wins), who may decide what,
//! and expiry.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use devopstrack_gateway::chat::domain::{ActionState, Decision, Intent, Params, Risk};
use devopstrack_gateway::chat::store::{
    APPROVE_WITHIN, Action, ActionScope, CONFIRM_WITHIN, ChatStore, Conflict, DecisionRequest, NewAction, Outcome,
    Person, RequestMeta, RunRef, StoreError,
};
use devopstrack_platform::auth::Role;

use super::{at, open, person, room};

conformance!(
    of_two_replicas_deciding_at_once_exactly_one_wins,
    a_critical_action_is_confirmed_by_its_asker_and_approved_by_someone_else,
    overdue_actions_expire_once_and_late_decisions_lose,
);

pub(super) async fn propose(store: &Arc<dyn ChatStore>, asker: &Person, risk: Risk, seconds: i64) -> Action {
    let params = Params {
        project: Some("api".into()),
        version: Some("2.5.0".into()),
        environment: Some("production".into()),
        ..Params::default()
    };
    let action = NewAction {
        room: room("project:api"),
        asker: asker.clone(),
        intent: Intent::Deploy,
        params,
        risk,
        target: "api 2.5.0 → production".into(),
        at: at(seconds),
        meta: RequestMeta {
            source: Some("203.0.113.7".into()),
            request_id: Some(format!("req-{seconds}")),
        },
    };
    store.propose_action(&action).await.expect("propose")
}

pub(super) fn decision(
    action: &Action,
    expected: ActionState,
    decision: Decision,
    by: &Person,
    at: DateTime<Utc>,
) -> DecisionRequest {
    DecisionRequest {
        action_id: action.id,
        expected,
        decision,
        by: by.clone(),
        at,
        meta: RequestMeta::default(),
    }
}

async fn of_two_replicas_deciding_at_once_exactly_one_wins(url: &str) {
    let (a, b) = (open(url).await, open(url).await);
    let alice = person("alice", Role::Operator);
    for round in 0..8 {
        let action = propose(&a, &alice, Risk::High, round).await;
        assert_eq!(action.state, ActionState::AwaitingConfirmation);
        let when = at(round + 1);
        let confirm = decision(
            &action,
            ActionState::AwaitingConfirmation,
            Decision::Confirm,
            &alice,
            when,
        );
        let reject = decision(
            &action,
            ActionState::AwaitingConfirmation,
            Decision::Reject,
            &alice,
            when,
        );

        let (confirmed, rejected) = tokio::join!(a.decide(&confirm), b.decide(&reject));

        let winner = match (confirmed, rejected) {
            (Ok(won), Err(StoreError::Conflict(Conflict::StateChanged { .. }))) => won,
            (Err(StoreError::Conflict(Conflict::StateChanged { .. })), Ok(won)) => won,
            other => panic!("round {round}: exactly one decision must win, got {other:?}"),
        };
        let stored = b.action(action.id).await.unwrap().expect("the action");
        assert_eq!(stored.state, winner.state);
        assert!(matches!(stored.state, ActionState::Executing | ActionState::Rejected));
        assert_eq!(stored.decisions.len(), 1, "the loser stored no decision");
    }
}

async fn a_critical_action_is_confirmed_by_its_asker_and_approved_by_someone_else(url: &str) {
    let store = open(url).await;
    let (alice, bob) = (person("alice", Role::Operator), person("bob", Role::Admin));
    let action = propose(&store, &alice, Risk::Critical, 0).await;
    assert_eq!(action.confirm_by, at(0) + CONFIRM_WITHIN);
    let found = store
        .open_action_by_code(&action.code, &ActionScope::Everywhere)
        .await
        .unwrap();
    assert_eq!(
        found.map(|a| a.id),
        Some(action.id),
        "the short code finds the open action"
    );

    let by_bob = store
        .decide(&decision(
            &action,
            ActionState::AwaitingConfirmation,
            Decision::Confirm,
            &bob,
            at(5),
        ))
        .await;
    assert!(
        matches!(by_bob, Err(StoreError::NotAllowed(_))),
        "only the asker confirms: {by_bob:?}"
    );
    let confirmed = store
        .decide(&decision(
            &action,
            ActionState::AwaitingConfirmation,
            Decision::Confirm,
            &alice,
            at(10),
        ))
        .await
        .unwrap();
    assert_eq!(
        confirmed.state,
        ActionState::AwaitingApproval,
        "critical: a second person approves"
    );
    assert_eq!(confirmed.approve_by, Some(at(10) + APPROVE_WITHIN));
    let self_approval = store
        .decide(&decision(
            &action,
            ActionState::AwaitingApproval,
            Decision::Approve,
            &alice,
            at(20),
        ))
        .await;
    assert!(
        matches!(self_approval, Err(StoreError::NotAllowed(_))),
        "{self_approval:?}"
    );
    let stale = store
        .decide(&decision(
            &action,
            ActionState::AwaitingConfirmation,
            Decision::Confirm,
            &alice,
            at(20),
        ))
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict(Conflict::StateChanged { .. }))),
        "{stale:?}"
    );

    let approved = store
        .decide(&decision(
            &action,
            ActionState::AwaitingApproval,
            Decision::Approve,
            &bob,
            at(30),
        ))
        .await
        .unwrap();
    assert_eq!(approved.state, ActionState::Executing);
    let run = RunRef::new("pl-1", 42).unwrap();
    store
        .record_run(action.id, &run, at(31), &RequestMeta::default())
        .await
        .unwrap();
    let twice = store.record_run(action.id, &run, at(32), &RequestMeta::default()).await;
    assert!(
        matches!(twice, Err(StoreError::Conflict(Conflict::RunNotRecordable { .. }))),
        "{twice:?}"
    );
    let outcome = Outcome {
        succeeded: true,
        summary: "run api#42 succeeded".into(),
    };
    let done = store
        .finish_action(action.id, &outcome, at(90), &RequestMeta::default())
        .await
        .unwrap();

    assert_eq!(done.state, ActionState::Succeeded);
    assert_eq!(done.run, Some(run));
    let who: Vec<(Decision, &str)> = done.decisions.iter().map(|d| (d.decision, d.by.id())).collect();
    assert_eq!(who, [(Decision::Confirm, "alice"), (Decision::Approve, "bob")]);
    assert_eq!(done.decisions[1].at, at(30));
    assert!(store.open_actions(&ActionScope::Everywhere).await.unwrap().is_empty());
}

async fn overdue_actions_expire_once_and_late_decisions_lose(url: &str) {
    let (a, b) = (open(url).await, open(url).await);
    let (alice, bob) = (person("alice", Role::Operator), person("bob", Role::Admin));
    let unconfirmed = propose(&a, &alice, Risk::High, 0).await;
    let unapproved = propose(&a, &alice, Risk::Critical, 0).await;
    a.decide(&decision(
        &unapproved,
        ActionState::AwaitingConfirmation,
        Decision::Confirm,
        &alice,
        at(60),
    ))
    .await
    .unwrap();
    let just_after = at(0) + CONFIRM_WITHIN + TimeDelta::seconds(1);

    let late = a
        .decide(&decision(
            &unconfirmed,
            ActionState::AwaitingConfirmation,
            Decision::Confirm,
            &alice,
            just_after,
        ))
        .await;
    assert!(matches!(late, Err(StoreError::Conflict(Conflict::Expired))), "{late:?}");
    assert!(
        a.expire_overdue(at(0) + CONFIRM_WITHIN).await.unwrap().is_empty(),
        "not before the deadline"
    );
    let (first, second) = tokio::join!(a.expire_overdue(just_after), b.expire_overdue(just_after));
    let mut expired: Vec<_> = first
        .unwrap()
        .into_iter()
        .chain(second.unwrap())
        .map(|x| x.id)
        .collect();
    assert_eq!(
        expired,
        [unconfirmed.id],
        "two sweeps expire an action once; the confirmed one waits for approval"
    );

    let approval_deadline = at(60) + APPROVE_WITHIN;
    let late_approval = a
        .decide(&decision(
            &unapproved,
            ActionState::AwaitingApproval,
            Decision::Approve,
            &bob,
            approval_deadline + TimeDelta::seconds(1),
        ))
        .await;
    assert!(
        matches!(late_approval, Err(StoreError::Conflict(Conflict::Expired))),
        "{late_approval:?}"
    );
    expired = b
        .expire_overdue(approval_deadline + TimeDelta::seconds(1))
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(expired, [unapproved.id]);
    for id in [unconfirmed.id, unapproved.id] {
        assert_eq!(a.action(id).await.unwrap().unwrap().state, ActionState::Expired);
    }
    assert!(a.open_actions(&ActionScope::Everywhere).await.unwrap().is_empty());
}
