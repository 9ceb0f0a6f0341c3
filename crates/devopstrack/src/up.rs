//! `devopstrack up`: auth, projects, tasks, metrics and the gateway in one process,
//! talking real gRPC over 127.0.0.1, with SQLite stores under the data directory. The first start creates an admin.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use devopstrack_auth::app::NewUser;
use devopstrack_platform::auth::Role;

#[derive(Args)]
pub struct UpArgs {
    /// Where the embedded stores live.
    #[arg(long, default_value = ".devopstrack", env = "DEVOPSTRACK_DATA_DIR")]
    data_dir: PathBuf,
    /// Let `http` deploy hooks call loopback addresses (127.0.0.0/8, ::1), for hooks on this machine. The platform's
    /// own ports stay refused.
    #[arg(long)]
    allow_loopback_hooks: bool,
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let _telemetry = devopstrack_platform::telemetry::init("devopstrack")?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create the data directory {}", args.data_dir.display()))?;
    let data_dir = args.data_dir.canonicalize()?;
    let shutdown = devopstrack_platform::shutdown::on_signals();

    let mut auth_settings = devopstrack_auth::config::Settings::load()?;
    if std::env::var_os("DEVOPSTRACK_AUTH__DATABASE_URL").is_none() {
        auth_settings.database_url = format!("sqlite://{}", data_dir.join("auth.db").display());
    }
    let secret_file = data_dir.join(SERVICE_SECRET_FILE);
    if auth_settings.service_client_secret.is_none() {
        auth_settings.service_client_secret = Some(service_secret(&secret_file)?);
    }
    let auth = devopstrack_auth::startup::Application::build(&auth_settings).await?;
    let auth_port = auth.grpc_port();
    let auth_admin_port = auth.admin_port();
    bootstrap_admin(&auth).await?;

    let mut projects_settings = devopstrack_projects::config::Settings::load()?;
    if std::env::var_os("DEVOPSTRACK_PROJECTS__DATABASE_URL").is_none() {
        projects_settings.database_url = format!("sqlite://{}", data_dir.join("projects.db").display());
    }
    if std::env::var_os("DEVOPSTRACK_PROJECTS__AUTH_URL").is_none() {
        projects_settings.auth_url = format!("http://127.0.0.1:{auth_port}");
    }
    if projects_settings.secrets_key.is_none() {
        projects_settings.secrets_key = Some(secrets_key(&data_dir.join(SECRETS_KEY_FILE))?);
    }
    let projects = devopstrack_projects::startup::Application::build(&projects_settings).await?;
    let projects_port = projects.grpc_port();
    let projects_admin_port = projects.admin_port();

    let mut metrics_settings = devopstrack_metrics::config::Settings::load()?;
    if std::env::var_os("DEVOPSTRACK_METRICS__DATABASE_URL").is_none() {
        metrics_settings.database_url = format!("sqlite://{}", data_dir.join("metrics.db").display());
    }
    if std::env::var_os("DEVOPSTRACK_METRICS__AUTH_URL").is_none() {
        metrics_settings.auth_url = format!("http://127.0.0.1:{auth_port}");
    }
    let metrics = devopstrack_metrics::startup::Application::build(&metrics_settings).await?;
    let metrics_port = metrics.grpc_port();
    let metrics_admin_port = metrics.admin_port();

    let mut tasks_settings = devopstrack_tasks::config::Settings::load()?;
    if std::env::var_os("DEVOPSTRACK_TASKS__DATABASE_URL").is_none() {
        tasks_settings.database_url = format!("sqlite://{}", data_dir.join("tasks.db").display());
    }
    if std::env::var_os("DEVOPSTRACK_TASKS__AUTH_URL").is_none() {
        tasks_settings.auth_url = format!("http://127.0.0.1:{auth_port}");
    }
    if std::env::var_os("DEVOPSTRACK_TASKS__PROJECTS_URL").is_none() {
        tasks_settings.projects_url = format!("http://127.0.0.1:{projects_port}");
    }
    if std::env::var_os("DEVOPSTRACK_TASKS__METRICS_URL").is_none() {
        tasks_settings.metrics_url = format!("http://127.0.0.1:{metrics_port}");
    }
    if tasks_settings.client_secret.is_none() {
        tasks_settings.client_secret = auth_settings.service_client_secret.clone();
    }
    if args.allow_loopback_hooks {
        tasks_settings
            .outbound_allow
            .extend(["127.0.0.0/8".to_owned(), "::1".to_owned()]);
    }
    // Deploy hooks never reach the other services' ports, whatever the allowlist (tasks refuses its own and its peers').
    let gateway_addr = devopstrack_gateway::config::Settings::load()?.http_addr;
    let listeners = [
        (auth_settings.admin_addr, auth_admin_port),
        (projects_settings.admin_addr, projects_admin_port),
        (metrics_settings.admin_addr, metrics_admin_port),
        (gateway_addr, gateway_addr.port()),
    ];
    tasks_settings.outbound_deny.extend(
        listeners
            .into_iter()
            .filter(|(_, port)| *port != 0)
            .map(|(addr, port)| std::net::SocketAddr::new(addr.ip(), port).to_string()),
    );
    let tasks = devopstrack_tasks::startup::Application::build(&tasks_settings).await?;
    let tasks_port = tasks.grpc_port();
    let tasks_admin_port = tasks.admin_port();

    let mut gateway_settings = devopstrack_gateway::config::Settings::load()?;
    if std::env::var_os("DEVOPSTRACK_GATEWAY__AUTH_URL").is_none() {
        gateway_settings.auth_url = format!("http://127.0.0.1:{auth_port}");
    }
    if std::env::var_os("DEVOPSTRACK_GATEWAY__PROJECTS_URL").is_none() {
        gateway_settings.projects_url = format!("http://127.0.0.1:{projects_port}");
    }
    if std::env::var_os("DEVOPSTRACK_GATEWAY__TASKS_URL").is_none() {
        gateway_settings.tasks_url = format!("http://127.0.0.1:{tasks_port}");
    }
    if std::env::var_os("DEVOPSTRACK_GATEWAY__METRICS_URL").is_none() {
        gateway_settings.metrics_url = format!("http://127.0.0.1:{metrics_port}");
    }
    if gateway_settings.client_secret.is_none() {
        gateway_settings.client_secret = auth_settings.service_client_secret.clone();
    }
    let gateway = devopstrack_gateway::startup::Application::build(&gateway_settings).await?;
    let http_port = gateway.port();

    println!();
    println!("  DevOpsTrack is up (data in {})", data_dir.display());
    println!("    dashboard and API   http://localhost:{http_port}");
    println!("    auth gRPC           127.0.0.1:{auth_port}   (grpcurl -plaintext 127.0.0.1:{auth_port} list)");
    println!("    auth admin          http://127.0.0.1:{auth_admin_port}/metrics");
    println!("    projects gRPC       127.0.0.1:{projects_port}   (grpcurl -plaintext 127.0.0.1:{projects_port} list)");
    println!("    projects admin      http://127.0.0.1:{projects_admin_port}/metrics");
    println!("    tasks gRPC          127.0.0.1:{tasks_port}   (grpcurl -plaintext 127.0.0.1:{tasks_port} list)");
    println!("    tasks admin         http://127.0.0.1:{tasks_admin_port}/metrics");
    println!("    metrics gRPC        127.0.0.1:{metrics_port}   (grpcurl -plaintext 127.0.0.1:{metrics_port} list)");
    println!("    metrics admin       http://127.0.0.1:{metrics_admin_port}/metrics");
    if secret_file.exists() {
        println!(
            "    service secret      {} (IssueServiceToken client_secret)",
            secret_file.display()
        );
    }
    println!("  Ctrl-C stops.");
    println!();

    let auth_task = tokio::spawn(auth.run_until_stopped(shutdown.clone()));
    let projects_task = tokio::spawn(projects.run_until_stopped(shutdown.clone()));
    let tasks_task = tokio::spawn(tasks.run_until_stopped(shutdown.clone()));
    let metrics_task = tokio::spawn(metrics.run_until_stopped(shutdown.clone()));
    let gateway_task = tokio::spawn(gateway.run_until_stopped(shutdown.clone()));
    let (auth_result, projects_result, tasks_result, metrics_result, gateway_result) =
        tokio::join!(auth_task, projects_task, tasks_task, metrics_task, gateway_task);
    shutdown.cancel();
    auth_result?.context("auth service")?;
    projects_result?.context("projects service")?;
    tasks_result?.context("tasks service")?;
    metrics_result?.context("metrics service")?;
    gateway_result?.context("gateway")?;
    tracing::info!("stopped");
    Ok(())
}

/// First start with no users: an admin from `DEVOPSTRACK_ADMIN_EMAIL` / `DEVOPSTRACK_ADMIN_PASSWORD`, or
/// `admin@localhost` with a generated password printed once (to the terminal, never to the logs).
async fn bootstrap_admin(auth: &devopstrack_auth::startup::Application) -> anyhow::Result<()> {
    let app = auth.app();
    if app.user_count().await? > 0 {
        return Ok(());
    }
    let email = std::env::var("DEVOPSTRACK_ADMIN_EMAIL").unwrap_or_else(|_| "admin@localhost".into());
    let (password, generated) = match std::env::var("DEVOPSTRACK_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (SecretString::from(p), false),
        _ => (SecretString::from(crate::user::generate_password(20)), true),
    };
    let user = app
        .bootstrap_user(NewUser {
            email,
            name: "Administrator".into(),
            role: Some(Role::Admin),
            password: password.clone(),
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?;
    tracing::info!(user_id = %user.id, "first admin created");
    println!();
    println!("  First start: created the admin account");
    println!("    email     {}", user.email);
    if generated {
        println!("    password  {}", password.expose_secret());
        println!("  This password is shown once. Change it with PUT /api/v1/auth/password.");
    } else {
        println!("    password  (from DEVOPSTRACK_ADMIN_PASSWORD)");
    }
    Ok(())
}

const SERVICE_SECRET_FILE: &str = "service-client-secret";

/// The client-credentials secret of the in-process services: generated on first start, kept (mode 0600) in the data
/// directory so it survives restarts and scripts can ask auth for a service token (`IssueServiceToken`).
fn service_secret(path: &std::path::Path) -> anyhow::Result<SecretString> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(SecretString::from(existing.to_owned()));
        }
    }
    let secret = crate::user::generate_password(40);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut file, secret.as_bytes())?;
    Ok(SecretString::from(secret))
}

const SECRETS_KEY_FILE: &str = "projects-secrets-key";

/// The key that encrypts webhook secrets in the projects store: generated on first start and kept (mode 0600) in the
/// data directory, like the service secret. Losing it makes stored webhook secrets unusable (they fail closed).
fn secrets_key(path: &std::path::Path) -> anyhow::Result<SecretString> {
    use devopstrack_projects::secrets::SecretsKey;
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = SecretString::from(existing.trim().to_owned());
        SecretsKey::from_base64(&existing).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        return Ok(existing);
    }
    let key = SecretsKey::generate_base64();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut file, key.expose_secret().as_bytes())?;
    Ok(key)
}
