//! `/readyz` reflects every upstream (auth, projects, tasks, metrics) through their gRPC health checks: 200 while all
//! serve, 503 with `Retry-After` naming the one that is down or not serving, and one check per upstream however many
//! probes arrive at once (the answer is cached briefly).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::helpers::{GatewaySettings, gateway_settings, peers_at, spawn_app_with_tasks, spawn_gateway};

/// A gRPC server with only the health service, counting the checks it answers.
struct HealthOnly {
    url: String,
    reporter: HealthReporter,
    checks: Arc<AtomicUsize>,
    _stop: DropGuard,
}

async fn health_only() -> HealthOnly {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter.set_service_status("", ServingStatus::Serving).await;
    let checks = Arc::new(AtomicUsize::new(0));
    let counted = checks.clone();
    let service = InterceptedService::new(service, move |request| {
        counted.fetch_add(1, Ordering::SeqCst);
        Ok(request)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let stop = CancellationToken::new();
    let signal = stop.clone();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move { signal.cancelled().await }),
    );
    HealthOnly {
        url,
        reporter,
        checks,
        _stop: stop.drop_guard(),
    }
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("http://{}", listener.local_addr().expect("an address"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_200_with_every_upstream_ok_while_the_whole_stack_serves() {
    let app = spawn_app_with_tasks().await;

    let health = app.get("/healthz", None).await;
    let ready = app.get("/readyz", None).await;

    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(ready.status().as_u16(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    for upstream in ["auth", "projects", "tasks", "metrics"] {
        assert_eq!(ready["checks"][upstream], "ok", "{ready}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_503_with_retry_after_naming_the_upstream_that_is_down_or_not_serving() {
    let serving = health_only().await;
    let settings = GatewaySettings {
        peers: peers_at(&serving.url),
        projects_url: serving.url.clone(),
        metrics_url: serving.url.clone(),
        tasks_url: closed_port_url(),
        ..gateway_settings()
    };
    let gateway = spawn_gateway(settings).await;

    let ready = gateway.http.get(gateway.url("/readyz")).send().await.unwrap();

    assert_eq!(ready.status().as_u16(), 503);
    assert!(ready.headers().contains_key("retry-after"), "{:?}", ready.headers());
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "not_ready", "{body}");
    assert!(
        body["checks"]["tasks"]
            .as_str()
            .is_some_and(|c| c.starts_with("Unavailable")),
        "{body}"
    );
    for upstream in ["auth", "projects", "metrics"] {
        assert_eq!(body["checks"][upstream], "ok", "{body}");
    }

    // A server that answers but reports NOT_SERVING (e.g. shutting down) is not ready either, once the cached answer
    // has expired.
    serving.reporter.set_service_status("", ServingStatus::NotServing).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let body: Value = gateway
            .http
            .get(gateway.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["checks"]["auth"] == "NOT_SERVING" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_probes_costs_each_upstream_one_check_per_cache_period() {
    let upstream = health_only().await;
    let settings = GatewaySettings {
        peers: peers_at(&upstream.url),
        projects_url: upstream.url.clone(),
        metrics_url: upstream.url.clone(),
        tasks_url: upstream.url.clone(),
        ..gateway_settings()
    };
    let gateway = spawn_gateway(settings).await;
    const PROBES: usize = 40;

    let started = std::time::Instant::now();
    let probes = (0..PROBES).map(|_| gateway.http.get(gateway.url("/readyz")).send());
    let answers = futures::future::join_all(probes).await;
    let took = started.elapsed();

    for answer in answers {
        assert_eq!(answer.unwrap().status().as_u16(), 200);
    }
    // The four upstreams are one server here: 4 checks per fresh answer, and a fresh answer at most once per cache
    // period (1.5 s) however slow the machine is; without the cache there would be 160.
    let periods = usize::try_from(took.as_millis() / 1_500).unwrap_or(usize::MAX);
    let checks = upstream.checks.load(Ordering::SeqCst);
    assert!(
        (4..=4 * (periods + 1)).contains(&checks),
        "{checks} health checks for {PROBES} probes in {took:?}"
    );
}
