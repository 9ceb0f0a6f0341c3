//! The gateway's Prometheus metrics are on its private admin port (`admin_addr`), like every service's, and not on the
//! public port, which keeps `/healthz` and `/readyz` for its probes.

use reqwest::Method;

use crate::helpers::{GatewaySettings, assert_error, gateway_settings, peers_at, spawn_app, spawn_gateway};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_port_answers_metrics_with_the_json_404_and_leaks_nothing() {
    let app = spawn_app().await;
    assert_eq!(
        app.get("/healthz", None).await.status().as_u16(),
        200,
        "traffic to count"
    );

    for method in [Method::GET, Method::HEAD, Method::POST] {
        let response = app.request(method.clone(), "/metrics", None).send().await.unwrap();

        assert_eq!(response.status().as_u16(), 404, "{method} /metrics");
        if method != Method::HEAD {
            let text = response.text().await.unwrap();
            assert!(text.contains(r#""code":"not_found""#), "{method}: {text}");
            assert!(
                !text.contains("http_server_request_duration_seconds"),
                "{method}: metrics leaked: {text}"
            );
        }
    }
    let response = app.get("/metrics", None).await;
    assert_error(response, 404, "not_found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_port_serves_metrics_liveness_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(
        app.get("/api/v1/auth/me", None).await.status().as_u16(),
        401,
        "traffic to count"
    );

    let metrics = app.admin_metrics().await;
    let health = app.http.get(format!("{}/healthz", app.admin_url)).send().await.unwrap();
    let ready = app.http.get(format!("{}/readyz", app.admin_url)).send().await.unwrap();

    for series in [
        r#"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/api/v1/auth/me",http_response_status_code="401"}"#,
        "devopstrack_websocket_connections ",
        "devopstrack_websocket_send_queue_overflows_total ",
    ] {
        assert!(metrics.contains(series), "missing {series} in\n{metrics}");
    }
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(ready.status().as_u16(), 200, "{}", ready.text().await.unwrap());
    assert_ne!(app.admin_url, app.base_url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_port_is_not_ready_while_auth_is_down() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
        listener.local_addr().unwrap().port()
    };
    let gateway = spawn_gateway(GatewaySettings {
        peers: devopstrack_peers::ServiceSettings {
            upstream_timeout_ms: 1000,
            ..peers_at(&format!("http://127.0.0.1:{closed_port}"))
        },
        ..gateway_settings()
    })
    .await;

    let ready = gateway
        .http
        .get(format!("{}/readyz", gateway.admin_url))
        .send()
        .await
        .unwrap();

    assert_eq!(ready.status().as_u16(), 503);
    assert!(ready.text().await.unwrap().contains("auth"));
}
