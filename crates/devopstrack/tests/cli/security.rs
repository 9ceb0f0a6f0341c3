//! Issue 12 across one `devopstrack up`: a private data directory with sealed signing keys, one secret per service
//! client (short ones refused), internal RPCs only for the clients that call them, and a retired signing key refused
//! by every service within the JWKS refresh bound.

use std::process::Command;
use std::time::{Duration, Instant};

use tonic::Code;
use tonic::transport::Channel;

use devopstrack_proto::auth::v1 as auth_pb;
use devopstrack_proto::metrics::v1 as metrics_pb;
use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::tasks::v1 as tasks_pb;

use super::{BIN, Rest, Up};

const ADMIN_PASSWORD: &str = "a long admin password";
/// A third service client, configured from the environment the way a deployment would.
const LOADGEN_SECRET: &str = "loadgen-secret-0123456789abcdefghijklmnop";

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_and_its_secrets_are_private_and_the_signing_keys_sealed() {
    use std::os::unix::fs::PermissionsExt;
    // Arrange: a data dir from an earlier version, with its one shared service secret
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(data.join("service-client-secret"), "x".repeat(40)).unwrap();

    // Act
    let mut up = Up::start(&data, &[("DEVOPSTRACK_ADMIN_PASSWORD", ADMIN_PASSWORD)]);
    up.base_url();

    // Assert: owner-only modes
    let mode = |name: &str| std::fs::metadata(data.join(name)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(""), 0o700, "the data dir");
    for file in [
        "auth.db",
        "projects.db",
        "tasks.db",
        "metrics.db",
        "signing-key-kek",
        "service-client-gateway",
        "service-client-tasks",
        "projects-secrets-key",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    // Assert: one secret per client, the shared one gone
    let secret = |client: &str| std::fs::read_to_string(data.join(format!("service-client-{client}"))).unwrap();
    assert_ne!(secret("gateway"), secret("tasks"));
    assert!(
        !data.join("service-client-secret").exists(),
        "the shared secret is retired"
    );
    assert!(
        up.seen.iter().any(|l| l.contains("replaced by one secret per client")),
        "{:?}",
        up.seen
    );
    // Assert: no plaintext private key in the auth store (database or WAL)
    for file in ["auth.db", "auth.db-wal"] {
        let bytes = std::fs::read(data.join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(11).any(|w| w == b"PRIVATE KEY"),
            "{file} holds a plaintext PEM"
        );
    }
    assert!(up.interrupt().success());
}

#[test]
fn a_short_service_client_secret_stops_up_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();

    let output = Command::new(BIN)
        .args(["up", "--data-dir"])
        .arg(dir.path())
        .env("DEVOPSTRACK_AUTH__SERVICE_CLIENTS__LOADGEN", "short")
        .env("DEVOPSTRACK_LOG", "warn")
        .output()
        .expect("run devopstrack up");

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("DEVOPSTRACK_AUTH__SERVICE_CLIENTS__LOADGEN"))
        .unwrap_or_else(|| panic!("no line names the variable: {stderr}"));
    assert!(line.contains("at least 32 bytes"), "{line}");
}

#[tokio::test]
async fn internal_rpcs_answer_only_the_clients_that_call_them() {
    // Arrange: service tokens of the gateway and tasks (their files) and of a third client (the environment)
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(
        dir.path(),
        &[("DEVOPSTRACK_AUTH__SERVICE_CLIENTS__LOADGEN", LOADGEN_SECRET)],
    );
    let auth = channel(&up.grpc_addr("auth gRPC")).await;
    let projects = channel(&up.grpc_addr("projects gRPC")).await;
    let metrics = channel(&up.grpc_addr("metrics gRPC")).await;
    let file_secret =
        |client: &str| std::fs::read_to_string(dir.path().join(format!("service-client-{client}"))).unwrap();
    let gateway = service_token(&auth, "gateway", &file_secret("gateway")).await;
    let tasks = service_token(&auth, "tasks", &file_secret("tasks")).await;
    let loadgen = service_token(&auth, "loadgen", LOADGEN_SECRET).await;
    let stolen = issue(&auth, "gateway", &file_secret("tasks")).await;

    // Act
    let verify = |token: String| {
        let mut client = projects_pb::project_service_client::ProjectServiceClient::new(projects.clone());
        async move {
            let request = projects_pb::VerifyGithubWebhookRequest {
                project: "nope".into(),
                delivery_id: "d-1".into(),
                signature_header: format!("sha256={}", "0".repeat(64)),
                payload: b"{}".to_vec(),
                event: "ping".into(),
            };
            client.verify_github_webhook(bearer(request, &token)).await.map(drop)
        }
    };
    let record_deployment = |token: String| {
        let mut client = projects_pb::project_service_client::ProjectServiceClient::new(projects.clone());
        async move {
            let request = projects_pb::RecordDeploymentRequest { deployment: None };
            client.record_deployment(bearer(request, &token)).await.map(drop)
        }
    };
    let record_runs = |token: String| {
        let mut client = metrics_pb::metrics_service_client::MetricsServiceClient::new(metrics.clone());
        async move {
            let request = metrics_pb::RecordJobRunRequest { runs: Vec::new() };
            client.record_job_run(bearer(request, &token)).await.map(drop)
        }
    };
    let outcomes = [
        ("gateway VerifyGithubWebhook", verify(gateway.clone()).await, true),
        (
            "gateway RecordDeployment",
            record_deployment(gateway.clone()).await,
            true,
        ),
        ("gateway RecordJobRun", record_runs(gateway).await, true),
        (
            "loadgen RecordDeployment",
            record_deployment(loadgen.clone()).await,
            true,
        ),
        ("loadgen RecordJobRun", record_runs(loadgen.clone()).await, true),
        ("tasks VerifyGithubWebhook", verify(tasks.clone()).await, false),
        ("tasks RecordDeployment", record_deployment(tasks.clone()).await, false),
        ("tasks RecordJobRun", record_runs(tasks).await, false),
    ];

    // Assert
    for (what, outcome, denied) in outcomes {
        let code = outcome.err().map(|s| s.code());
        assert_eq!(code == Some(Code::PermissionDenied), denied, "{what}: {code:?}");
    }
    assert_eq!(
        stolen.unwrap_err().code(),
        Code::Unauthenticated,
        "one client's secret does not authenticate another"
    );
}

#[tokio::test]
async fn a_retired_signing_key_is_refused_by_every_service_within_the_refresh_bound() {
    // Arrange: verifiers re-read the JWKS every second, auth its keys every second; an access token that works
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(
        dir.path(),
        &[
            ("DEVOPSTRACK_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("DEVOPSTRACK_JWKS_REFRESH_SECS", "1"),
            ("DEVOPSTRACK_AUTH__KEY_MAINTENANCE_INTERVAL_SECS", "1"),
        ],
    );
    let services = Services {
        base: up.base_url(),
        auth: channel(&up.grpc_addr("auth gRPC")).await,
        projects: channel(&up.grpc_addr("projects gRPC")).await,
        tasks: channel(&up.grpc_addr("tasks gRPC")).await,
        metrics: channel(&up.grpc_addr("metrics gRPC")).await,
    };
    let old = Rest::login(&services.base, "admin@localhost", ADMIN_PASSWORD)
        .await
        .token;
    assert_eq!(
        services.refusals(&old).await,
        Vec::<&str>::new(),
        "every service accepts it"
    );

    // Act: rotate, retiring the previous key at once
    let rotated = Command::new(BIN)
        .args(["auth", "rotate-keys", "--retire-previous", "--data-dir"])
        .arg(dir.path())
        .env("DEVOPSTRACK_LOG", "warn")
        .output()
        .expect("run rotate-keys");
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("signing key rotated"));

    // Assert: refused everywhere within the bound (1 s of maintenance + 1 s of JWKS refresh; generous deadline)
    let started = Instant::now();
    let everywhere = ["gateway", "auth", "projects", "tasks", "metrics"];
    eventually(
        || async { services.refusals(&old).await == everywhere },
        "the old token refused everywhere",
    )
    .await;
    println!("refused everywhere {:?} after the rotation", started.elapsed());
    // Assert: a new login's token works everywhere
    eventually(
        || async {
            services
                .refusals(
                    &Rest::login(&services.base, "admin@localhost", ADMIN_PASSWORD)
                        .await
                        .token,
                )
                .await
                .is_empty()
        },
        "a new token accepted everywhere",
    )
    .await;
}

struct Services {
    base: String,
    auth: Channel,
    projects: Channel,
    tasks: Channel,
    metrics: Channel,
}

impl Services {
    /// The services that refuse `token` as unauthenticated.
    async fn refusals(&self, token: &str) -> Vec<&'static str> {
        let mut refused = Vec::new();
        let me = reqwest::Client::new()
            .get(format!("{}/api/v1/auth/me", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if me.status() == 401 {
            refused.push("gateway");
        }
        let unauthenticated = |r: Result<(), tonic::Status>| r.is_err_and(|s| s.code() == Code::Unauthenticated);
        let mut auth = auth_pb::auth_service_client::AuthServiceClient::new(self.auth.clone());
        if unauthenticated(auth.who_am_i(bearer(auth_pb::WhoAmIRequest {}, token)).await.map(drop)) {
            refused.push("auth");
        }
        let mut projects = projects_pb::project_service_client::ProjectServiceClient::new(self.projects.clone());
        let list = projects_pb::ListProjectsRequest::default();
        if unauthenticated(projects.list_projects(bearer(list, token)).await.map(drop)) {
            refused.push("projects");
        }
        let mut tasks = tasks_pb::task_service_client::TaskServiceClient::new(self.tasks.clone());
        let list = tasks_pb::ListPipelinesRequest::default();
        if unauthenticated(tasks.list_pipelines(bearer(list, token)).await.map(drop)) {
            refused.push("tasks");
        }
        let mut metrics = metrics_pb::metrics_service_client::MetricsServiceClient::new(self.metrics.clone());
        let dora = metrics_pb::GetDoraRequest::default();
        if unauthenticated(metrics.get_dora(bearer(dora, token)).await.map(drop)) {
            refused.push("metrics");
        }
        refused
    }
}

/// Polls `condition` every 200 ms for up to 60 s (the machine may be loaded; the bound under test is seconds).
async fn eventually<F, Fut>(condition: F, what: &str)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition().await {
        assert!(Instant::now() < deadline, "not within 60 s: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn channel(addr: &str) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connect")
}

fn bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

async fn issue(auth: &Channel, client_id: &str, secret: &str) -> Result<String, tonic::Status> {
    let mut client = auth_pb::auth_service_client::AuthServiceClient::new(auth.clone());
    let request = auth_pb::IssueServiceTokenRequest {
        client_id: client_id.into(),
        client_secret: secret.trim().into(),
    };
    Ok(client.issue_service_token(request).await?.into_inner().access_token)
}

async fn service_token(auth: &Channel, client_id: &str, secret: &str) -> String {
    issue(auth, client_id, secret).await.expect("a service token")
}
