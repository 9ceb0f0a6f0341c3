//! Actions a stopped gateway left `executing`: the store ends each once, however many replicas recover at once,
//! only past the bound, as `succeeded` when its run was recorded and `failed` otherwise, audited by `system`.

use devopstrack_gateway::chat::domain::{ActionState, Decision, Risk};
use devopstrack_gateway::chat::store::{AuditQuery, RequestMeta, RunRef};
use devopstrack_platform::auth::Role;

use super::actions::{decision, propose};
use super::{at, open, person};

conformance!(actions_left_executing_are_ended_once_past_the_bound_and_audited);

async fn actions_left_executing_are_ended_once_past_the_bound_and_audited(url: &str) {
    let (a, b) = (open(url).await, open(url).await);
    let alice = person("alice", Role::Operator);
    let mut executing = Vec::new();
    for seconds in [0, 10, 400] {
        let action = propose(&a, &alice, Risk::High, seconds).await;
        let confirm = decision(
            &action,
            ActionState::AwaitingConfirmation,
            Decision::Confirm,
            &alice,
            at(seconds + 1),
        );
        executing.push(a.decide(&confirm).await.expect("confirm"));
    }
    let [lost, started, recent] = <[_; 3]>::try_from(executing).unwrap();
    let run = RunRef::new("pipe-42", 42).unwrap();
    a.record_run(started.id, &run, at(12), &RequestMeta::default())
        .await
        .expect("record the run");
    let waiting = propose(&a, &alice, Risk::High, 401).await;

    let (first, second) = tokio::join!(a.recover_stuck(at(300), at(420)), b.recover_stuck(at(300), at(420)));
    let mut recovered: Vec<_> = first.unwrap().into_iter().chain(second.unwrap()).collect();
    recovered.sort_by_key(|x| x.created_at);

    let ids: Vec<_> = recovered.iter().map(|x| x.id).collect();
    assert_eq!(
        ids,
        [lost.id, started.id],
        "each stuck action once, the recent one left running"
    );
    let lost = a.action(lost.id).await.unwrap().unwrap();
    assert_eq!(lost.state, ActionState::Failed);
    let why = lost.outcome.as_deref().unwrap();
    assert!(
        why.starts_with("interrupted") && why.contains(&format!("chat-{}", lost.id)),
        "{why}"
    );
    assert_eq!(lost.finished_at, Some(at(420)));
    let started = a.action(started.id).await.unwrap().unwrap();
    assert_eq!(started.state, ActionState::Succeeded);
    assert!(started.outcome.as_deref().unwrap().contains("api#42"), "{started:?}");
    assert_eq!(
        a.action(recent.id).await.unwrap().unwrap().state,
        ActionState::Executing
    );
    assert_eq!(
        a.action(waiting.id).await.unwrap().unwrap().state,
        ActionState::AwaitingConfirmation
    );
    assert!(
        a.recover_stuck(at(300), at(421)).await.unwrap().is_empty(),
        "nothing twice"
    );

    let audit = a
        .audit_page(&AuditQuery {
            kind: Some("chat.action.recover".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let mut results: Vec<_> = audit
        .records
        .iter()
        .map(|r| (r.actor.subject.as_str(), r.result.as_str(), r.details["from"].as_str()))
        .collect();
    results.sort();
    assert_eq!(
        results,
        [
            ("system", "failed", Some("executing")),
            ("system", "succeeded", Some("executing"))
        ]
    );
    assert!(a.verify_audit_chain().await.unwrap().intact());
}
