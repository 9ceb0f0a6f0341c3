//! The dashboard at `/`: a built app from a directory, its cache headers and content types, the history fallback,
//! JSON 404s kept for the API, no path traversal (raw requests, since HTTP clients normalise `..`), gzip.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestGateway, gateway_settings, spawn_gateway};

const INDEX: &str = "<!doctype html><title>DevOpsTrack</title><div id=root></div>";
const SECRET: &str = "top-secret-outside-the-root";

/// A fake build in `dir/dist` (index, a hashed script, a favicon) and a secret file beside `dist`.
fn build(dir: &Path) -> std::path::PathBuf {
    let dist = dir.join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), INDEX).unwrap();
    std::fs::write(
        dist.join("assets/index-a1b2c3.js"),
        "console.log('dashboard');\n".repeat(200),
    )
    .unwrap();
    std::fs::write(dist.join("favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>").unwrap();
    std::fs::write(dist.join(".env"), SECRET).unwrap();
    std::fs::write(dir.join("secret.txt"), SECRET).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("secret.txt"), dist.join("link-out.txt")).unwrap();
    dist
}

async fn gateway_with_build() -> (TestGateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let dist = build(dir.path());
    let gateway = spawn_gateway(devopstrack_gateway::config::Settings {
        dashboard_dir: Some(dist),
        ..gateway_settings()
    })
    .await;
    (gateway, dir)
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// One HTTP/1.1 request with the path exactly as given (no normalisation); answers the status and the body.
async fn raw_get(base_url: &str, path: &str) -> (u16, String) {
    let addr = base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn the_app_and_its_hashed_assets_are_served_with_the_right_cache_and_type() {
    let (gateway, _dir) = gateway_with_build().await;
    let wanted = [
        ("/", "text/html; charset=utf-8", "no-cache"),
        ("/index.html", "text/html; charset=utf-8", "no-cache"),
        (
            "/assets/index-a1b2c3.js",
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        ("/favicon.svg", "image/svg+xml", "no-cache"),
    ];
    for (path, content_type, cache) in wanted {
        let response = gateway.http.get(gateway.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, "content-type"), content_type, "{path}");
        assert_eq!(header(&response, "cache-control"), cache, "{path}");
        assert!(
            !header(&response, "content-security-policy").is_empty(),
            "{path}: the edge's headers apply"
        );
    }
    let page = gateway
        .http
        .get(gateway.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(page, INDEX);
}

#[tokio::test]
async fn app_routes_fall_back_to_the_index_but_missing_files_are_404() {
    let (gateway, _dir) = gateway_with_build().await;
    for path in [
        "/projects",
        "/projects/api",
        "/pipelines/0190f5a4/jobs/42",
        "/login?next=/x",
        "/apis",
    ] {
        let response = gateway.http.get(gateway.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, "cache-control"), "no-cache", "{path}");
        assert_eq!(response.text().await.unwrap(), INDEX, "{path}");
    }
    for path in ["/assets/gone-123.js", "/logo.png", "/assets/fonts"] {
        let response = gateway.http.get(gateway.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
}

#[tokio::test]
async fn unknown_api_paths_keep_their_json_404_and_405() {
    let (gateway, _dir) = gateway_with_build().await;
    for path in ["/api", "/api/", "/api/v1/nothing-here", "/api/v2/projects"] {
        let response = gateway.http.get(gateway.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    let post = gateway
        .http
        .post(gateway.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
    let post = gateway.http.post(gateway.url("/projects")).send().await.unwrap();
    assert_eq!(
        post.status(),
        StatusCode::METHOD_NOT_ALLOWED,
        "the dashboard only answers GET and HEAD"
    );
    let health = gateway.http.get(gateway.url("/healthz")).send().await.unwrap();
    assert_ne!(
        header(&health, "content-type"),
        "text/html; charset=utf-8",
        "earlier routes win"
    );
}

#[tokio::test]
async fn paths_cannot_climb_out_of_the_build_or_read_hidden_files() {
    let (gateway, _dir) = gateway_with_build().await;
    let attempts = [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/.env",
        "/link-out.txt",
        "//etc/passwd",
        "/assets/%00.js",
    ];
    for path in attempts {
        let (status, answer) = raw_get(&gateway.base_url, path).await;
        assert!(!answer.contains(SECRET), "{path} leaked the secret: {answer}");
        assert!(!answer.contains("root:"), "{path} leaked /etc/passwd");
        assert!(
            matches!(status, 400 | 404) || (status == 200 && answer.ends_with(INDEX)),
            "{path}: {status}"
        );
    }
}

#[tokio::test]
async fn responses_are_gzipped_for_clients_that_accept_it_and_head_has_no_body() {
    let (gateway, _dir) = gateway_with_build().await;
    let response = gateway
        .http
        .get(gateway.url("/assets/index-a1b2c3.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "content-encoding"), "gzip");
    let compressed = response.bytes().await.unwrap().len();
    assert!(compressed < 26 * 200 / 4, "{compressed} bytes");
    let head = gateway.http.head(gateway.url("/projects")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn without_a_build_the_root_says_how_to_build_the_dashboard() {
    // The test runs in crates/chat-gateway, where there is no frontend/dist.
    let gateway = spawn_gateway(gateway_settings()).await;
    let response = gateway.http.get(gateway.url("/projects")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "text/html; charset=utf-8");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("npm run build") && page.contains("DEVOPSTRACK_GATEWAY__DASHBOARD_DIR"),
        "{page}"
    );
    let api = gateway.http.get(gateway.url("/api/v1/nothing")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
}

#[test]
fn a_dashboard_dir_without_an_index_is_a_config_error_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let settings = devopstrack_gateway::config::Settings {
        dashboard_dir: Some(dir.path().to_path_buf()),
        ..gateway_settings()
    };
    let error = settings.validate().unwrap_err().to_string();
    assert!(error.contains("DEVOPSTRACK_GATEWAY__DASHBOARD_DIR"), "{error}");
}
