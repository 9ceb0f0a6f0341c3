//! Behind proxies: the client address is the rightmost `X-Forwarded-For` entry that is not a trusted proxy (so a
//! spoofed leftmost entry does not dodge the login limit), and `Strict-Transport-Security` is answered when the
//! gateway is served over HTTPS (`public_https`) or a trusted proxy says so, never because an untrusted peer does.

use serde_json::json;

use crate::helpers::{GatewaySettings, TestApp, assert_error, gateway_settings, spawn_app_with, spawn_gateway};

fn cidrs(list: &[&str]) -> Vec<devopstrack_gateway::extract::forwarded::Cidr> {
    list.iter()
        .map(|c| devopstrack_gateway::extract::forwarded::Cidr::parse(c).unwrap())
        .collect()
}

async fn login_from(app: &TestApp, forwarded_for: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": app.admin_email, "password": app.admin_password }))
        .send()
        .await
        .expect("send a login")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoofed_leftmost_forwarded_entry_does_not_dodge_the_login_limit() {
    // The test client connects from 127.0.0.1: here it plays the trusted proxy, which appends the real client.
    let app = spawn_app_with(|_, gateway| {
        gateway.login_rate_per_minute = 6;
        gateway.trust_forwarded_for = true;
        gateway.trusted_proxies = cidrs(&["127.0.0.0/8"]);
    })
    .await;
    for attempt in 1..=5 {
        let response = login_from(&app, &format!("198.51.100.{attempt}, 203.0.113.7")).await;
        assert_eq!(
            response.status().as_u16(),
            200,
            "attempt {attempt} is within the burst of 5"
        );
    }

    let spoofed = login_from(&app, "198.51.100.99, 203.0.113.7").await;

    assert_error(spoofed, 429, "rate_limited").await;
    let another_client = login_from(&app, "203.0.113.8").await;
    assert_eq!(
        another_client.status().as_u16(),
        200,
        "another client behind the same proxy has its own allowance"
    );
}

/// `Strict-Transport-Security` of `GET /healthz` on a gateway with `settings`, sending `forwarded_proto`.
async fn hsts(settings: GatewaySettings, forwarded_proto: Option<&str>) -> Option<String> {
    let gateway = spawn_gateway(settings).await;
    let mut request = gateway.http.get(gateway.url("/healthz"));
    if let Some(proto) = forwarded_proto {
        request = request.header("x-forwarded-proto", proto);
    }
    let response = request.send().await.expect("GET /healthz");
    assert_eq!(response.status().as_u16(), 200);
    response
        .headers()
        .get("strict-transport-security")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_answered_over_https_and_never_on_an_untrusted_peers_word() {
    let behind = |proxies: &[&str]| GatewaySettings {
        trust_forwarded_for: true,
        trusted_proxies: cidrs(proxies),
        ..gateway_settings()
    };
    let public = GatewaySettings {
        public_https: true,
        ..gateway_settings()
    };
    let cases = [
        ("plain HTTP, nothing said", gateway_settings(), None, false),
        ("an untrusted peer says https", gateway_settings(), Some("https"), false),
        (
            "the list without the switch",
            GatewaySettings {
                trusted_proxies: cidrs(&["127.0.0.0/8"]),
                ..gateway_settings()
            },
            Some("https"),
            false,
        ),
        (
            "a peer outside the trusted CIDRs says https",
            behind(&["10.0.0.0/8"]),
            Some("https"),
            false,
        ),
        (
            "a trusted proxy says https",
            behind(&["127.0.0.0/8"]),
            Some("https"),
            true,
        ),
        (
            "a trusted proxy says http",
            behind(&["127.0.0.0/8"]),
            Some("http"),
            false,
        ),
        ("a trusted proxy says nothing", behind(&["127.0.0.0/8"]), None, false),
        ("configured as served over HTTPS", public, None, true),
    ];

    for (case, settings, proto, want) in cases {
        let header = hsts(settings, proto).await;

        assert_eq!(header.is_some(), want, "{case}: {header:?}");
        if let Some(header) = header {
            assert!(header.contains("includeSubDomains"), "{case}: {header}");
            let max_age: u64 = header
                .split(';')
                .find_map(|d| d.trim().strip_prefix("max-age="))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{case}: no max-age in {header}"));
            assert!(max_age >= 365 * 24 * 3600, "{case}: max-age {max_age} is under a year");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_on_errors_too() {
    let gateway = spawn_gateway(GatewaySettings {
        public_https: true,
        ..gateway_settings()
    })
    .await;

    let response = gateway
        .http
        .get(gateway.url("/api/v1/no/such/page"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 404);
    assert!(response.headers().contains_key("strict-transport-security"));
}
