//! The destination policy, against real listeners that count the connections they accept: a refused destination is
//! never contacted (0 connections), whatever form its address takes, and every way of not reaching a destination
//! reads the same.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use devopstrack_tasks::domain::Outcome;
use devopstrack_tasks::executor::outbound::OutboundPolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{HookServer, Reply, allowing, context, executors_with, http, reason};

const REFUSED: &str = "destination not allowed by policy or not reachable";

/// A listener on `ip` that accepts connections, counts them, reads a request head and answers `204`.
struct Counting {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Counting {
    async fn start(ip: &str) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind a counting listener");
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let answer = b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";
                    let _ = stream.write_all(answer).await;
                });
            }
        });
        Counting { addr, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_loopback_hook_is_refused_by_default_in_every_form_and_never_contacted() {
    let listener = Counting::start("127.0.0.1").await;
    let port = listener.addr.port();
    let executors = executors_with(OutboundPolicy::default());

    for url in [
        format!("http://127.0.0.1:{port}/metrics"),
        format!("http://localhost:{port}/metrics"),
        format!("http://[::ffff:127.0.0.1]:{port}/metrics"),
        format!("http://2130706433:{port}/metrics"),
        format!("http://0x7f.0.0.1:{port}/metrics"),
    ] {
        let (ctx, _rx) = context();

        let reason = reason(executors.run(&http(url.clone(), None, None), &ctx).await);

        assert!(reason.ends_with(REFUSED), "{url}: {reason}");
    }
    assert_eq!(listener.accepted(), 0, "a refused destination was contacted");
}

#[tokio::test]
async fn a_platform_listener_is_refused_even_when_loopback_is_allowed() {
    let admin = Counting::start("127.0.0.1").await;
    let executors = executors_with(allowing(&["127.0.0.0/8"]).deny_listener(admin.addr));
    let (ctx, _rx) = context();

    let reason = reason(
        executors
            .run(
                &http(format!("http://localhost:{}/metrics", admin.addr.port()), None, None),
                &ctx,
            )
            .await,
    );

    assert!(reason.ends_with(REFUSED), "{reason}");
    assert_eq!(admin.accepted(), 0);
}

#[tokio::test]
async fn an_allowed_destination_is_reached() {
    let listener = Counting::start("127.0.0.1").await;
    let executors = executors_with(allowing(&["127.0.0.1"]));
    let (ctx, _rx) = context();

    let outcome = executors
        .run(
            &http(format!("http://127.0.0.1:{}/hook", listener.addr.port()), None, None),
            &ctx,
        )
        .await;

    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(listener.accepted(), 1);
}

#[tokio::test]
async fn refused_closed_and_unresolvable_destinations_read_the_same() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let executors = executors_with(allowing(&["127.0.0.1"]));
    let urls = [
        "http://10.0.0.1/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://127.0.0.1:{closed_port}/hook"),
        "http://no-such-host.invalid/hook".to_owned(),
    ];

    let mut said = Vec::new();
    for url in &urls {
        let (ctx, _rx) = context();
        let reason = reason(executors.run(&http(url.clone(), None, None), &ctx).await);
        said.push(reason.replace(url.as_str(), "URL"));
    }

    assert!(
        said.iter()
            .all(|s| *s == format!("deploy hook request to URL failed: {REFUSED}")),
        "{said:#?}"
    );
}

#[tokio::test]
async fn a_status_url_on_a_refused_address_is_never_polled() {
    let hook = HookServer::start(|_, _| Reply(202, vec![], String::new())).await;
    let status = Counting::start("127.0.0.2").await;
    let executors = executors_with(allowing(&["127.0.0.1"]));
    let (ctx, _rx) = context();
    let spec = http(hook.url("/hook"), Some(format!("http://{}/status", status.addr)), None);

    let reason = tokio::time::timeout(Duration::from_secs(60), executors.run(&spec, &ctx))
        .await
        .map(reason)
        .expect("gives up after its failed polls");

    assert!(reason.contains(REFUSED), "{reason}");
    assert_eq!(hook.count("POST", "/hook"), 1);
    assert_eq!(status.accepted(), 0);
}
