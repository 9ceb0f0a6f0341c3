//! `devopstrack up` starting and stopping: the first admin (printed, or from the environment), a restart on the same
//! data, and a graceful stop on Ctrl-C.

use super::{Rest, Up, login};

#[tokio::test]
async fn up_creates_an_admin_serves_the_api_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(dir.path(), &[]);
    let password_line = up.wait_for("password");
    let password = password_line.split_whitespace().last().unwrap().to_owned();
    assert_eq!(password.len(), 20, "{password_line}");
    let base = up.base_url();

    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let admin = Rest::login(&base, "admin@localhost", &password).await;
    let me = admin.get("/api/v1/auth/me").await;
    assert_eq!(me["role"], "admin");

    assert!(up.interrupt().success(), "a graceful stop exits 0");
    assert!(
        dir.path().join("auth.db").exists(),
        "the embedded store lives in the data dir"
    );

    // Second start on the same data: no new admin, the old password still works.
    let mut again = Up::start(dir.path(), &[]);
    let base = again.base_url();
    assert!(
        !again.seen.iter().any(|l| l.contains("created the admin")),
        "{:?}",
        again.seen
    );
    assert_eq!(login(&base, "admin@localhost", &password).await.status(), 200);
    assert!(again.interrupt().success());
}

#[tokio::test]
async fn the_first_admin_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(
        dir.path(),
        &[
            ("DEVOPSTRACK_ADMIN_EMAIL", "Root@Example.com"),
            ("DEVOPSTRACK_ADMIN_PASSWORD", "a long admin password"),
        ],
    );
    let base = up.base_url();
    assert!(
        !up.seen.iter().any(|l| l.contains("a long admin password")),
        "the given password is never printed"
    );
    assert_eq!(
        login(&base, "root@example.com", "a long admin password").await.status(),
        200
    );
}

#[tokio::test]
async fn up_prints_the_gateways_admin_port_which_alone_serves_its_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(dir.path(), &[]);
    let base = up.base_url();
    let admin_line = up.wait_for("gateway admin");
    let admin_metrics = admin_line.split_whitespace().last().expect("a URL").to_owned();

    let public = reqwest::get(format!("{base}/metrics")).await.unwrap();
    let private = reqwest::get(&admin_metrics).await.unwrap();

    assert!(admin_metrics.starts_with("http://127.0.0.1:"), "{admin_line}");
    assert_eq!(public.status(), 404, "the public port does not serve the metrics");
    assert_eq!(private.status(), 200, "{admin_metrics}");
    let text = private.text().await.unwrap();
    assert!(
        text.contains(r#"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/metrics",http_response_status_code="404"} 1"#),
        "the admin port counts the public port's requests:\n{text}"
    );
}
