//! Cancelling an attempt returns promptly, whether the executor is polling or still waiting for the hook to answer.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{HookServer, POLL, Reply, context, executors, http, reason};

#[tokio::test]
async fn cancellation_during_polling_returns_promptly() {
    let server = HookServer::start(|seen, _| match seen.path.as_str() {
        "/hook" => Reply(202, vec![], String::new()),
        _ => Reply::json(200, json!({"status": "running"})),
    })
    .await;
    let (ctx, _rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        cancel.cancel();
    });
    let start = Instant::now();

    let outcome = executors().run(&spec, &ctx).await;

    assert_eq!(reason(outcome), "cancelled");
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
    // A poll already on the wire when the token fired may still reach the server: let it land before counting.
    tokio::time::sleep(POLL).await;
    let polls = server.count("GET", "/status");
    assert!(polls >= 2, "cancelled before polling: {polls} polls");
    tokio::time::sleep(POLL * 3).await;
    assert_eq!(
        server.count("GET", "/status"),
        polls,
        "polling went on after cancellation"
    );
}

#[tokio::test]
async fn cancellation_while_the_hook_is_slow_to_answer_returns_promptly() {
    let (ctx, _rx) = context();
    // A hook whose connection is queued by the kernel but never answered: a listener nobody accepts on.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let spec = http(format!("http://{}/hook", silent.local_addr().unwrap()), None, None);
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let start = Instant::now();

    let outcome = executors().run(&spec, &ctx).await;

    assert_eq!(reason(outcome), "cancelled");
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
    drop(silent);
}
