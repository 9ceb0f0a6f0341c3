//! Following the status URL (the job's, or the one the hook answers): to a terminal status, only on the hook's origin,
//! giving up after ten errors in a row, and failing at once on a 4xx.

use devopstrack_tasks::domain::Outcome;
use serde_json::json;

use super::{HookServer, Reply, context, executors, http, lines, reason};

#[tokio::test]
async fn the_status_url_is_followed_through_running_to_succeeded() {
    let server = HookServer::start(|seen, n| match (seen.path.as_str(), n) {
        ("/hook", _) => Reply(202, vec![], String::new()),
        (_, 0 | 1) => Reply::json(200, json!({"status": "running"})),
        _ => Reply::json(200, json!({"status": "succeeded"})),
    })
    .await;
    let (ctx, mut rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status/7?token=abc")), None);

    let outcome = executors().run(&spec, &ctx).await;

    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(server.count("GET", "/status/7"), 3);
    let log = lines(&mut rx);
    assert!(log.iter().any(|l| l.contains("status running")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("status succeeded")), "{log:?}");
    assert!(
        log.iter().all(|l| !l.contains("token=abc")),
        "a query leaked into the log: {log:?}"
    );
}

#[tokio::test]
async fn a_failed_status_fails_the_attempt_with_its_message() {
    let server = HookServer::start(|seen, n| match (seen.path.as_str(), n) {
        ("/hook", _) => Reply(202, vec![], String::new()),
        (_, 0) => Reply::json(200, json!({"status": "running"})),
        _ => Reply::json(
            200,
            json!({"status": "failed", "message": "helm upgrade: timed out waiting for pods"}),
        ),
    })
    .await;
    let (ctx, _rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);

    let reason = reason(executors().run(&spec, &ctx).await);

    assert_eq!(
        reason,
        "deploy hook reported failed: helm upgrade: timed out waiting for pods"
    );
}

#[tokio::test]
async fn a_timed_out_status_is_a_timeout() {
    let server = HookServer::start(|seen, _| match seen.path.as_str() {
        "/hook" => Reply(202, vec![], String::new()),
        _ => Reply::json(200, json!({"status": "timed_out"})),
    })
    .await;
    let (ctx, _rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);

    assert_eq!(executors().run(&spec, &ctx).await, Outcome::TimedOut);
}

#[tokio::test]
async fn the_hooks_json_status_url_and_location_header_are_followed() {
    let server = HookServer::start(|seen, _| match seen.path.as_str() {
        "/json-hook" => Reply::json(202, json!({"statusUrl": "/deploys/1"})),
        "/location-hook" => Reply(201, vec![("location", "/deploys/2".into())], String::new()),
        "/deploys/1" => Reply::json(200, json!({"status": "success"})),
        _ => Reply::json(200, json!({"status": "error", "reason": "rollback"})),
    })
    .await;
    let (ctx, _rx) = context();

    let from_json = executors().run(&http(server.url("/json-hook"), None, None), &ctx).await;
    let from_location = executors()
        .run(&http(server.url("/location-hook"), None, None), &ctx)
        .await;

    assert_eq!(from_json, Outcome::Succeeded);
    assert_eq!(reason(from_location), "deploy hook reported error: rollback");
    assert_eq!(server.count("GET", "/deploys/1"), 1);
    assert_eq!(server.count("GET", "/deploys/2"), 1);
}

#[tokio::test]
async fn a_status_url_on_another_origin_from_the_hook_is_refused() {
    let server =
        HookServer::start(|_, _| Reply::json(202, json!({"statusUrl": "http://169.254.169.254/latest"}))).await;
    let (ctx, _rx) = context();

    let reason = reason(executors().run(&http(server.url("/hook"), None, None), &ctx).await);

    assert!(reason.contains("not on the hook's origin"), "{reason}");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn polling_gives_up_after_ten_consecutive_errors() {
    let server = HookServer::start(|seen, n| match seen.path.as_str() {
        "/hook" => Reply(202, vec![], String::new()),
        _ if n % 2 == 0 => Reply(503, vec![], "busy".into()),
        _ => Reply(200, vec![], "<html>not json</html>".into()),
    })
    .await;
    let (ctx, mut rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);

    let reason = reason(executors().run(&spec, &ctx).await);

    assert!(reason.contains("failed 10 times in a row"), "{reason}");
    assert_eq!(server.count("GET", "/status"), 10);
    let log = lines(&mut rx);
    assert!(log.iter().any(|l| l.contains("(10/10)")), "{log:?}");
    assert!(log.iter().all(|l| !l.contains("<html>")), "{log:?}");
}

#[tokio::test]
async fn a_good_poll_resets_the_error_count() {
    let server = HookServer::start(|seen, n| match (seen.path.as_str(), n) {
        ("/hook", _) => Reply(202, vec![], String::new()),
        (_, 9 | 19) => Reply::json(200, json!({"status": "in_progress"})),
        (_, 0..=18) => Reply(502, vec![], String::new()),
        _ => Reply::json(200, json!({"status": "succeeded"})),
    })
    .await;
    let (ctx, _rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);

    let outcome = executors().run(&spec, &ctx).await;

    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(server.count("GET", "/status"), 21);
}

#[tokio::test]
async fn a_status_url_answering_404_fails_at_once() {
    let server = HookServer::start(|seen, _| match seen.path.as_str() {
        "/hook" => Reply(202, vec![], String::new()),
        _ => Reply::json(404, json!({"message": "no such deploy"})),
    })
    .await;
    let (ctx, _rx) = context();
    let spec = http(server.url("/hook"), Some(server.url("/status")), None);

    let reason = reason(executors().run(&spec, &ctx).await);

    assert!(reason.ends_with("answered HTTP 404: no such deploy"), "{reason}");
    assert_eq!(server.count("GET", "/status"), 1);
}
