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
    let delivery = format!("{}:{}", ctx.pipeline, ctx.job);
    assert_eq!(hook.headers["x-devopstrack-delivery"], delivery);
    assert_eq!(hook.headers["x-devopstrack-attempt"], "2");
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
            "deliveryId": delivery,
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
async fn every_attempt_of_a_job_run_carries_the_same_delivery_id_and_its_own_attempt() {
    let server = HookServer::start(|_, _| Reply(204, vec![], String::new())).await;
    let (first, _rx1) = context();
    let (mut second, _rx2) = context();
    second.pipeline = first.pipeline;
    second.job = first.job;
    second.attempt = 3;
    let spec = http(server.url("/hook"), None, Some("DEPLOY_HOOK"));

    for ctx in [&first, &second] {
        assert_eq!(executors().run(&spec, ctx).await, Outcome::Succeeded);
    }

    let seen = server.seen();
    let header = |i: usize, name: &str| seen[i].headers[name].clone();
    assert_eq!(
        header(0, "x-devopstrack-delivery"),
        header(1, "x-devopstrack-delivery"),
        "receivers de-duplicate on it"
    );
    assert_eq!(
        (header(0, "x-devopstrack-attempt"), header(1, "x-devopstrack-attempt")),
        ("2".to_owned(), "3".to_owned())
    );
    let signed: Vec<Value> = seen.iter().map(|s| serde_json::from_slice(&s.body).unwrap()).collect();
    assert_eq!(signed[0]["deliveryId"], signed[1]["deliveryId"]);
    assert_eq!(
        (signed[0]["attempt"].as_u64(), signed[1]["attempt"].as_u64()),
        (Some(2), Some(3))
    );
}

#[tokio::test]
async fn an_error_answer_quotes_only_its_own_json_message_cut_at_120_characters() {
    let message = format!("database migration exploded {}", "z".repeat(1000));
    let server = HookServer::start(move |_, _| Reply::json(500, json!({ "message": message.clone() }))).await;
    let (ctx, mut rx) = context();

    let reason = reason(executors().run(&http(server.url("/hook"), None, None), &ctx).await);

    assert!(
        reason.starts_with("deploy hook answered HTTP 500: database migration exploded"),
        "{reason}"
    );
    let quoted = reason.strip_prefix("deploy hook answered HTTP 500: ").unwrap();
    assert!(quoted.chars().count() <= 121, "{} chars", quoted.chars().count());
    assert!(
        lines(&mut rx).iter().all(|l| !l.contains("zzzz")),
        "the body leaked into the log"
    );
}

#[tokio::test]
async fn a_raw_error_body_is_not_echoed_into_the_reason() {
    let server = HookServer::start(|_, _| {
        Reply::json(
            405,
            json!({"error": {"code": "method_not_allowed", "message": "internal detail"}}),
        )
    })
    .await;
    let (ctx, _rx) = context();

    let reason = reason(executors().run(&http(server.url("/metrics"), None, None), &ctx).await);

    assert_eq!(reason, "deploy hook answered HTTP 405");
}

#[tokio::test]
async fn a_connection_error_fails_the_attempt_without_saying_which_kind() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    let (ctx, _rx) = context();

    let reason = reason(executors().run(&http(url.clone(), None, None), &ctx).await);

    assert_eq!(
        reason,
        format!("deploy hook request to {url} failed: destination not allowed by policy or not reachable")
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
