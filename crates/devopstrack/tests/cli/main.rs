//! The one binary, run for real: `devopstrack up` on free ports with a fresh data directory, and `user create`.
//! The harness ([`Up`]) is here; the tests in `up` (first start, restart, Ctrl-C), `user` (`user create`),
//! `deployments` (gRPC and REST over one process), `dora` (a deploy pipeline moving the DORA numbers), `hooks` (a
//! deploy hook aimed at the platform's own ports) and `security` (private data, per-client secrets, client checks, key
//! rotation), `startup` (a warm restart's time to healthy), `traces` (one REST request, one trace across the services,
//! exported to an in-test OTLP receiver).

mod deployments;
mod dora;
mod hooks;
mod security;
mod startup;
mod traces;
mod up;
mod user;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_devopstrack");

/// A running `devopstrack up`; killed on drop if the test did not stop it.
struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Up {
    fn start(data_dir: &std::path::Path, extra_env: &[(&str, &str)]) -> Self {
        Self::start_with(data_dir, extra_env, &[])
    }

    /// [`Up::start`] with more `up` arguments.
    fn start_with(data_dir: &std::path::Path, extra_env: &[(&str, &str)], args: &[&str]) -> Self {
        let mut command = Command::new(BIN);
        command
            .args(["up", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env("DEVOPSTRACK_AUTH__GRPC_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_AUTH__ADMIN_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_PROJECTS__GRPC_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_PROJECTS__ADMIN_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_TASKS__GRPC_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_TASKS__ADMIN_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_METRICS__GRPC_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_METRICS__ADMIN_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_GATEWAY__HTTP_ADDR", "127.0.0.1:0")
            .env("DEVOPSTRACK_GATEWAY__ADMIN_ADDR", "127.0.0.1:0")
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

    /// Every line printed so far, and the rest until standard output closes (call once the process stopped).
    fn drain(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        self.seen.clone()
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

/// The REST API of one `devopstrack up` as one signed-in user.
struct Rest {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Rest {
    /// Logs `email` in with `password` at `base` (the login answered 200 and carried an access token).
    async fn login(base: &str, email: &str, password: &str) -> Self {
        let body: serde_json::Value = login(base, email, password).await.json().await.unwrap();
        Self {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            token: body["accessToken"].as_str().expect("accessToken").to_owned(),
        }
    }

    /// `POST /api/v1/projects` of `project`, which must answer 201.
    async fn create_project(&self, project: serde_json::Value) {
        let created = self.post("/api/v1/projects").json(&project).send().await.unwrap();
        assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    }

    /// The JSON body `GET path` answers.
    async fn get(&self, path: &str) -> serde_json::Value {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(url).bearer_auth(&self.token).send().await.unwrap();
        response.json().await.unwrap()
    }

    /// A `POST path` with the token, to finish and send.
    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token)
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
