//! The one binary, run for real: `devopstrack up` on free ports with a fresh data directory, and `user create`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_devopstrack");

/// A running `devopstrack up`; killed on drop if the test did not stop it.
struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Up {
    fn start(data_dir: &std::path::Path, extra_env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BIN);
        command
            .args(["up", "--data-dir"])
            .arg(data_dir)
            .env("DEVOPSTRACK_AUTH__GRPC_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_AUTH__ADMIN_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_PROJECTS__GRPC_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_PROJECTS__ADMIN_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_TASKS__GRPC_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_TASKS__ADMIN_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_METRICS__GRPC_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_METRICS__ADMIN_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_GATEWAY__HTTP_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_LOG", "warn")
            .env_remove("DEVOPSTRACK_ADMIN_EMAIL")
            .env_remove("DEVOPSTRACK_ADMIN_PASSWORD")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn devopstrack up");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a banner line containing `needle` and returns it.
    fn wait_for(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {needle:?} within 60 s; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// The `127.0.0.1:PORT` printed after `label` in the banner.
    fn grpc_addr(&mut self, label: &str) -> String {
        let line = self.wait_for(label);
        line.split_whitespace()
            .find(|w| w.starts_with("127.0.0.1:"))
            .expect("address")
            .to_owned()
    }

    fn base_url(&mut self) -> String {
        let line = self.wait_for("dashboard and API");
        line.split_whitespace().last().expect("url").to_owned()
    }

    /// SIGINT, then the exit status within 15 s.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().expect("kill -INT");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "devopstrack up did not stop within 15 s of SIGINT"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn login(base: &str, email: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login request")
}

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
    let token: serde_json::Value = login(&base, "admin@localhost", &password).await.json().await.unwrap();
    let access = token["accessToken"].as_str().expect("accessToken");
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

#[test]
fn user_create_adds_a_user_and_refuses_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/auth.db", dir.path().display());
    let run = |email: &str| {
        let mut child = Command::new(BIN)
            .args([
                "user",
                "create",
                "--email",
                email,
                "--role",
                "operator",
                "--password-stdin",
                "--database-url",
                &url,
            ])
            .env("DEVOPSTRACK_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn user create");
        child.stdin.take().unwrap().write_all(b"operator password 1\n").unwrap();
        child.wait_with_output().unwrap()
    };
    let created = run("ops@example.com");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(stdout.contains("created ops@example.com (operator)"), "{stdout}");
    assert!(
        !stdout.contains("operator password 1"),
        "a password from stdin is never echoed"
    );

    let duplicate = run("OPS@example.com");
    assert!(!duplicate.status.success());
    assert!(
        String::from_utf8_lossy(&duplicate.stderr).contains("already exists"),
        "{duplicate:?}"
    );

    let bad_role = Command::new(BIN)
        .args([
            "user",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "root",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(!bad_role.status.success());
    assert!(
        String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"),
        "{bad_role:?}"
    );
}

#[tokio::test]
async fn a_deployment_recorded_over_grpc_moves_the_environment_seen_over_rest() {
    use devopstrack_proto::auth::v1::{IssueServiceTokenRequest, auth_service_client::AuthServiceClient};
    use devopstrack_proto::projects::v1::{
        Deployment, DeploymentStatus, RecordDeploymentRequest, project_service_client::ProjectServiceClient,
    };

    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(dir.path(), &[("DEVOPSTRACK_ADMIN_PASSWORD", "a long admin password")]);
    let auth_addr = up.grpc_addr("auth gRPC");
    let projects_addr = up.grpc_addr("projects gRPC");
    let base = up.base_url();
    let http = reqwest::Client::new();
    let login: serde_json::Value = login(&base, "admin@localhost", "a long admin password")
        .await
        .json()
        .await
        .unwrap();
    let admin = login["accessToken"].as_str().unwrap().to_owned();

    // REST: a project with two environments.
    let created = http
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({
            "slug": "api", "name": "API",
            "repositories": [{"url": "https://github.com/acme/api"}],
            "environments": [{"name": "staging", "tier": "staging"},
                             {"name": "production", "tier": "production", "protected": true}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let project: serde_json::Value = http
        .get(format!("{base}/api/v1/projects/api"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let project_id = project["id"].as_str().unwrap().to_owned();

    // gRPC, as a script would with grpcurl: a service token from the secret in the data dir, then RecordDeployment.
    let secret = std::fs::read_to_string(dir.path().join("service-client-secret")).expect("service secret file");
    let mut auth = AuthServiceClient::connect(format!("http://{auth_addr}")).await.unwrap();
    let service = auth
        .issue_service_token(IssueServiceTokenRequest {
            client_id: "tasks".into(),
            client_secret: secret,
        })
        .await
        .unwrap()
        .into_inner()
        .access_token;
    let mut projects = ProjectServiceClient::connect(format!("http://{projects_addr}"))
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut request = tonic::Request::new(RecordDeploymentRequest {
        deployment: Some(Deployment {
            id: "deploy-1".into(),
            project_id: project_id.clone(),
            environment: "staging".into(),
            version: "1.4.0".into(),
            status: DeploymentStatus::Succeeded as i32,
            started_at: Some(prost_types_timestamp(now - 60)),
            finished_at: Some(prost_types_timestamp(now)),
            ..Default::default()
        }),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {service}").parse().unwrap());
    let recorded = projects.record_deployment(request).await.unwrap().into_inner();
    assert!(recorded.created);

    // REST again: staging now runs 1.4.0, production nothing.
    let staging: serde_json::Value = http
        .get(format!("{base}/api/v1/projects/api/environments/staging"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(staging["currentVersion"], "1.4.0", "{staging}");
    let production: serde_json::Value = http
        .get(format!("{base}/api/v1/projects/api/environments/production"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        production["currentVersion"].is_null() || production["currentVersion"] == "",
        "{production}"
    );

    let docs = http.get(format!("{base}/api/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
}

fn prost_types_timestamp(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}

/// The metrics issue's end-to-end check: a simulated deploy pipeline run through REST in `devopstrack up` ends as a
/// deployment that tasks' outbox delivers to metrics and projects, so the DORA numbers and the environment's version
/// move, with no other help.
#[tokio::test]
async fn a_simulated_deploy_pipeline_changes_the_dora_numbers_and_the_environment_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(dir.path(), &[("DEVOPSTRACK_ADMIN_PASSWORD", "a long admin password")]);
    let base = up.base_url();
    let http = reqwest::Client::new();
    let login: serde_json::Value = login(&base, "admin@localhost", "a long admin password")
        .await
        .json()
        .await
        .unwrap();
    let admin = login["accessToken"].as_str().unwrap().to_owned();
    let created = http
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({
            "slug": "shop", "name": "Shop",
            "environments": [{"name": "staging", "tier": "staging"}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());

    let dora = |http: reqwest::Client, base: String, token: String| async move {
        let response = http
            .get(format!("{base}/api/v1/metrics/dora?project=shop&environment=staging"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<serde_json::Value>().await.unwrap()
    };
    let before = dora(http.clone(), base.clone(), admin.clone()).await;
    assert_eq!(before["overall"]["deploymentFrequency"]["deployments"], 0, "{before}");
    assert_eq!(
        before["overall"]["deploymentFrequency"]["level"],
        serde_json::Value::Null
    );

    // The commit deployed was made an hour ago: its lead time is the hour (plus the pipeline's few hundred ms).
    let committed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
        - 3600;
    let pipeline = http
        .post(format!("{base}/api/v1/pipelines"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({
            "project": "shop", "environment": "staging", "version": "2.0.0",
            "commit": {"sha": "3484a3fb816e0859fd6e1cea078d76385ff50625", "time": rfc3339(committed)},
            "stages": [
                {"name": "build", "jobs": [{"name": "compile", "executor": "simulate", "params": {"durationMs": 50}}]},
                {"name": "deploy", "jobs": [{"name": "rollout", "executor": "simulate", "params": {"durationMs": 50}}]}
            ]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(pipeline.status(), 201, "{}", pipeline.text().await.unwrap());

    // Delivery is asynchronous (outbox → metrics' write buffer): poll, bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let report = dora(http.clone(), base.clone(), admin.clone()).await;
        let overall = &report["overall"];
        if overall["deploymentFrequency"]["deployments"] == 1
            && overall["leadTime"]["changes"].as_u64().is_some_and(|n| n >= 1)
        {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "DORA never counted the deployment and its lead time: {report}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let frequency = &after["overall"]["deploymentFrequency"];
    assert!(frequency["perDay"].as_f64().unwrap() > 0.0, "{after}");
    assert!(
        frequency["level"].is_string(),
        "one deployment in the window has a level: {after}"
    );
    assert_eq!(after["overall"]["changeFailureRate"]["deployments"], 1, "{after}");
    assert_eq!(after["overall"]["changeFailureRate"]["failures"], 0, "{after}");
    let lead = after["overall"]["leadTime"]["medianSeconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("a median lead time: {after}"));
    assert!(
        (3600.0..3660.0).contains(&lead),
        "deployed about an hour after the commit: {lead} s; {after}"
    );
    assert_eq!(after["breakdown"][0]["project"], "shop");
    assert_eq!(after["breakdown"][0]["environment"], "staging");

    loop {
        let environment: serde_json::Value = http
            .get(format!("{base}/api/v1/projects/shop/environments/staging"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if environment["currentVersion"] == "2.0.0" {
            break;
        }
        assert!(Instant::now() < deadline, "the version never moved: {environment}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(up.interrupt().code(), Some(0));
}

/// `unix` seconds as RFC 3339 in UTC (`2026-11-22T01:35:06Z`), without a date crate: days to a civil date by
/// H. Hinnant's `civil_from_days`.
fn rfc3339(unix: u64) -> String {
    let (days, rest) = (unix / 86_400, unix % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

#[test]
fn rfc3339_spells_unix_seconds_as_a_utc_date() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_601_915_527), "2020-10-05T16:32:07Z");
    assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
}
