//! Calling the hook: the signed payload and its headers, refusals before anything is sent, and the answers that fail
//! the attempt at once (an error status, no connection, TLS, a redirect to another host).

use devopstrack_tasks::domain::Outcome;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{HookServer, Reply, SECRET, context, executors, http, lines, reason};

#[tokio::test]
async fn the_hook_receives_the_signed_payload_and_the_delivery_header() {
    let server = HookServer::start(|_, _| Reply(204, vec![], String::new())).await;
    let (ctx, mut rx) = context();

    let outcome = executors()
        .run(&http(server.url("/hooks/deploy"), None, Some("DEPLOY_HOOK")), &ctx)
        .await;

    assert_eq!(outcome, Outcome::Succeeded);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let hook = &seen[0];
    assert_eq!((hook.method.as_str(), hook.path.as_str()), ("POST", "/hooks/deploy"));
    assert_eq!(hook.headers["content-type"], "application/json");
    assert!(hook.headers["user-agent"].starts_with("devopstrack-tasks/"));
    assert_eq!(hook.headers["x-devopstrack-delivery"], format!("{}:2", ctx.job));
    let signature = hook.headers["x-devopstrack-signature"]
        .strip_prefix("sha256=")
        .expect("sha256= prefix");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&hook.body);
    mac.verify_slice(&hex::decode(signature).unwrap())
        .expect("the signature is the HMAC of the exact body");
    let payload: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(
        payload,
        json!({
            "pipelineId": ctx.pipeline.to_string(),
            "jobId": ctx.job.to_string(),
            "job": "deploy-api",
            "attempt": 2,
            "project": "api",
            "environment": "production",
            "version": "2.5.0",
        })
    );
    let log = lines(&mut rx);
    assert!(
        log.iter().any(|l| l.contains("POST") && l.contains("DEPLOY_HOOK")),
        "{log:?}"
    );
    assert!(log.iter().all(|l| !l.contains(SECRET)), "{log:?}");
}

#[tokio::test]
async fn without_a_secret_ref_the_hook_is_called_unsigned() {
    let server = HookServer::start(|_, _| Reply::json(200, json!({"ok": true}))).await;
    let (ctx, _rx) = context();

    let outcome = executors().run(&http(server.url("/hook"), None, None), &ctx).await;

    assert_eq!(outcome, Outcome::Succeeded);
    assert!(!server.seen()[0].headers.contains_key("x-devopstrack-signature"));
}

#[tokio::test]
async fn an_unknown_secret_ref_fails_naming_it_without_sending_anything() {
    let server = HookServer::start(|_, _| Reply(200, vec![], String::new())).await;
    let (ctx, mut rx) = context();

    let outcome = executors()
        .run(&http(server.url("/hook"), None, Some("NOT_CONFIGURED")), &ctx)
        .await;

    let reason = reason(outcome);
    assert!(reason.contains("\"NOT_CONFIGURED\""), "{reason}");
    assert!(!reason.contains(SECRET));
    assert!(server.seen().is_empty(), "a request was sent");
    assert!(lines(&mut rx).iter().any(|l| l.contains("nothing was sent")));
}

#[tokio::test]
async fn a_500_fails_with_the_code_and_at_most_200_characters_of_the_body() {
    let body = format!("database migration exploded {}", "z".repeat(1000));
    let server = HookServer::start(move |_, _| Reply(500, vec![], body.clone())).await;
    let (ctx, mut rx) = context();

    let reason = reason(executors().run(&http(server.url("/hook"), None, None), &ctx).await);

    assert!(
        reason.starts_with("deploy hook answered HTTP 500: database migration exploded"),
        "{reason}"
    );
    assert!(reason.chars().count() < 260, "{} chars", reason.chars().count());
    assert!(
        lines(&mut rx).iter().all(|l| !l.contains("zzzz")),
        "the body leaked into the log"
    );
}

#[tokio::test]
async fn a_connection_error_fails_the_attempt() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    let (ctx, _rx) = context();

    let reason = reason(executors().run(&http(url, None, None), &ctx).await);

    assert!(
        reason.starts_with("deploy hook request to http://127.0.0.1:"),
        "{reason}"
    );
}

/// https hooks are spoken over TLS (rustls): against a plain-HTTP listener the handshake fails, and the attempt fails
/// with the request error, not with an unsupported scheme.
#[tokio::test]
async fn an_https_hook_is_attempted_over_tls() {
    let server = HookServer::start(|_, _| Reply(200, vec![], String::new())).await;
    let url = server.url("/hook").replacen("http://", "https://", 1);
    let (ctx, _rx) = context();

    let reason = reason(executors().run(&http(url, None, None), &ctx).await);

    assert!(
        reason.starts_with("deploy hook request to https://127.0.0.1:"),
        "{reason}"
    );
    assert!(!reason.contains("scheme"), "{reason}");
    assert_eq!(server.count("POST", "/hook"), 0, "no plain-text request was made");
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let server = HookServer::start(|seen, _| {
        // Same port, other host name: another origin for the redirect policy.
        let elsewhere = format!(
            "http://localhost:{}/stolen",
            seen.headers["host"].rsplit(':').next().unwrap()
        );
        Reply(307, vec![("location", elsewhere)], String::new())
    })
    .await;
    let (ctx, _rx) = context();

    let reason = reason(executors().run(&http(server.url("/hook"), None, None), &ctx).await);

    assert!(reason.starts_with("deploy hook answered HTTP 307"), "{reason}");
    assert_eq!(server.seen().len(), 1);
}
