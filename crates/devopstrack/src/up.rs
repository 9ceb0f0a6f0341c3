//! `devopstrack up`: auth, projects, tasks, metrics and the gateway in one process,
//! talking real gRPC over 127.0.0.1, with SQLite stores under the data directory. The first start creates an admin.
//! The data directory and its secrets are private to the user ([`crate::secrets`]).

use std::future::Future;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use devopstrack_auth::app::NewUser;
use devopstrack_platform::auth::Role;

use crate::secrets;

#[derive(Args)]
pub struct UpArgs {
    /// Where the embedded stores live.
    #[arg(long, default_value = ".devopstrack", env = "DEVOPSTRACK_DATA_DIR")]
    data_dir: PathBuf,
    /// Let `http` deploy hooks call loopback addresses (127.0.0.0/8, ::1), for hooks on this machine. The platform's
    /// own ports stay refused.
    #[arg(long)]
    allow_loopback_hooks: bool,
    /// Export every service's spans over OTLP/gRPC to this URL (a collector, Jaeger: `http://127.0.0.1:4317`).
    /// Default: `OTEL_EXPORTER_OTLP_ENDPOINT` when set, else no export (spans still carry W3C trace context).
    #[arg(long, value_name = "URL")]
    otlp: Option<String>,
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let _telemetry = devopstrack_platform::telemetry::init_with_otlp("devopstrack", args.otlp.as_deref())?;
    let data_dir = secrets::data_dir(&args.data_dir)?;
    let shutdown = devopstrack_platform::shutdown::on_signals();
    let mut services = Services::new(shutdown.clone());
    if let Err(error) = start(args, &data_dir, &mut services).await {
        // What started stops before the error is told.
        shutdown.cancel();
        let _ = services.stopped().await;
        return Err(error);
    }
    services.stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

/// The services of this process, each serving from the moment it is built: the ones built later find the earlier
/// ones answering. The gateway asks auth for its signing keys while it builds; when auth was bound but not yet
/// serving, that call waited out its whole deadline and every start took 5 s and warned "auth not reachable yet"
/// (issue 19).
struct Services {
    shutdown: CancellationToken,
    running: JoinSet<(&'static str, anyhow::Result<()>)>,
}

impl Services {
    fn new(shutdown: CancellationToken) -> Self {
        Self {
            shutdown,
            running: JoinSet::new(),
        }
    }

    /// Runs `service` (its `run_until_stopped`) from now on.
    fn serve(&mut self, name: &'static str, service: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
        self.running.spawn(async move { (name, service.await) });
    }

    /// Waits until every service has stopped; the first to stop (on the signal, or failing) stops the others. The
    /// first failure is the answer.
    async fn stopped(mut self) -> anyhow::Result<()> {
        let mut failed = None;
        while let Some(joined) = self.running.join_next().await {
            self.shutdown.cancel();
            let outcome = match joined {
                Ok((name, result)) => result.context(name),
                Err(e) => Err(anyhow::Error::from(e).context("a service panicked")),
            };
            if let Err(e) = outcome {
                failed.get_or_insert(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }
}

/// Builds the services in dependency order, each serving as soon as it is built (see [`Services`]), then prints
/// where they listen.
async fn start(args: UpArgs, data_dir: &Path, services: &mut Services) -> anyhow::Result<()> {
    let shutdown = services.shutdown.clone();

    let mut auth_settings = devopstrack_auth::config::Settings::load()?;
    let mut tasks_settings = devopstrack_tasks::config::Settings::load()?;
    let mut gateway_settings = devopstrack_gateway::config::Settings::load()?;
    if std::env::var_os("DEVOPSTRACK_AUTH__DATABASE_URL").is_none() {
        auth_settings.database_url = format!("sqlite://{}", data_dir.join("auth.db").display());
    }
    if auth_settings.signing_key_kek.is_none() {
        auth_settings.signing_key_kek = Some(secrets::kek(data_dir)?);
    }
    tasks_settings.client_secret = Some(service_client(
        data_dir,
        &mut auth_settings,
        &tasks_settings.client_id,
        tasks_settings.client_secret.take(),
        "DEVOPSTRACK_TASKS__CLIENT_SECRET",
    )?);
    if gateway_settings.chat_database_url.is_none() {
        gateway_settings.chat_database_url = Some(format!("sqlite://{}", data_dir.join("chat.db").display()));
    }
    gateway_settings.client_secret = Some(service_client(
        data_dir,
        &mut auth_settings,
        &gateway_settings.client_id,
        gateway_settings.client_secret.take(),
        "DEVOPSTRACK_GATEWAY__CLIENT_SECRET",
    )?);
    auth_settings.validate()?;
    if secrets::retire_legacy_service_secret(data_dir)? {
        println!("  The shared service-client-secret was replaced by one secret per client (service-client-<id>).");
    }
    let auth = devopstrack_auth::startup::Application::build(&auth_settings).await?;
    let auth_port = auth.grpc_port();
    let auth_admin_port = auth.admin_port();
    bootstrap_admin(&auth).await?;
    services.serve("auth service", auth.run_until_stopped(shutdown.clone()));

    let mut projects_settings = devopstrack_projects::config::Settings::load()?;
    if std::env::var_os("DEVOPSTRACK_PROJECTS__DATABASE_URL").is_none() {
        projects_settings.database_url = format!("sqlite://{}", data_dir.join("projects.db").display());
    }
    if std::env::var_os("DEVOPSTRACK_PROJECTS__AUTH_URL").is_none() {
        projects_settings.peers.auth_url = format!("http://127.0.0.1:{auth_port}");
    }
    if projects_settings.secrets_key.is_none() {
        projects_settings.secrets_key = Some(secrets::projects_secrets_key(data_dir)?);
    }
    let projects = devopstrack_projects::startup::Application::build(&projects_settings).await?;
    let projects_port = projects.grpc_port();
    let projects_admin_port = projects.admin_port();
    services.serve("projects service", projects.run_until_stopped(shutdown.clone()));

    let mut metrics_settings = devopstrack_metrics::config::Settings::load()?;
    if std::env::var_os("DEVOPSTRACK_METRICS__DATABASE_URL").is_none() {
        metrics_settings.database_url = format!("sqlite://{}", data_dir.join("metrics.db").display());
    }
    if std::env::var_os("DEVOPSTRACK_METRICS__AUTH_URL").is_none() {
        metrics_settings.peers.auth_url = format!("http://127.0.0.1:{auth_port}");
    }
    let metrics = devopstrack_metrics::startup::Application::build(&metrics_settings).await?;
    let metrics_port = metrics.grpc_port();
    let metrics_admin_port = metrics.admin_port();
    services.serve("metrics service", metrics.run_until_stopped(shutdown.clone()));

    if std::env::var_os("DEVOPSTRACK_TASKS__DATABASE_URL").is_none() {
        tasks_settings.database_url = format!("sqlite://{}", data_dir.join("tasks.db").display());
    }
    if std::env::var_os("DEVOPSTRACK_TASKS__AUTH_URL").is_none() {
        tasks_settings.peers.auth_url = format!("http://127.0.0.1:{auth_port}");
    }
    if std::env::var_os("DEVOPSTRACK_TASKS__PROJECTS_URL").is_none() {
        tasks_settings.projects_url = format!("http://127.0.0.1:{projects_port}");
    }
    if std::env::var_os("DEVOPSTRACK_TASKS__METRICS_URL").is_none() {
        tasks_settings.metrics_url = format!("http://127.0.0.1:{metrics_port}");
    }
    if args.allow_loopback_hooks {
        tasks_settings
            .outbound_allow
            .extend(["127.0.0.0/8".to_owned(), "::1".to_owned()]);
    }
    // Deploy hooks never reach the other services' ports, whatever the allowlist (tasks refuses its own and its peers').
    let gateway_addr = gateway_settings.http_addr;
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
    services.serve("tasks service", tasks.run_until_stopped(shutdown.clone()));

    if std::env::var_os("DEVOPSTRACK_GATEWAY__AUTH_URL").is_none() {
        gateway_settings.peers.auth_url = format!("http://127.0.0.1:{auth_port}");
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
    let gateway = devopstrack_gateway::startup::Application::build(&gateway_settings).await?;
    let http_port = gateway.port();
    let gateway_admin_port = gateway.admin_port();
    services.serve("gateway", gateway.run_until_stopped(shutdown));

    println!();
    println!("  DevOpsTrack is up (data in {})", data_dir.display());
    println!("    dashboard and API   http://localhost:{http_port}");
    println!("    gateway admin       http://127.0.0.1:{gateway_admin_port}/metrics");
    println!("    auth gRPC           127.0.0.1:{auth_port}   (grpcurl -plaintext 127.0.0.1:{auth_port} list)");
    println!("    auth admin          http://127.0.0.1:{auth_admin_port}/metrics");
    println!("    projects gRPC       127.0.0.1:{projects_port}   (grpcurl -plaintext 127.0.0.1:{projects_port} list)");
    println!("    projects admin      http://127.0.0.1:{projects_admin_port}/metrics");
    println!("    tasks gRPC          127.0.0.1:{tasks_port}   (grpcurl -plaintext 127.0.0.1:{tasks_port} list)");
    println!("    tasks admin         http://127.0.0.1:{tasks_admin_port}/metrics");
    println!("    metrics gRPC        127.0.0.1:{metrics_port}   (grpcurl -plaintext 127.0.0.1:{metrics_port} list)");
    println!("    metrics admin       http://127.0.0.1:{metrics_admin_port}/metrics");
    println!(
        "    service secrets     {} (IssueServiceToken client_secret of client <id>)",
        secrets::service_secret_file(data_dir, "<id>").display()
    );
    println!("  Ctrl-C stops.");
    println!();
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

/// The secret of the calling service `client_id`, the same on both sides of the grant: auth's
/// `DEVOPSTRACK_AUTH__SERVICE_CLIENTS__<ID>` if set, else the caller's own `CLIENT_SECRET` if set, else the client's
/// file in the data directory (generated on first start). Both set and different is an error naming both.
fn service_client(
    data_dir: &Path,
    auth: &mut devopstrack_auth::config::Settings,
    client_id: &str,
    caller_secret: Option<SecretString>,
    caller_var: &str,
) -> anyhow::Result<SecretString> {
    let secret = match (auth.service_clients.get(client_id), caller_secret) {
        (Some(auth_secret), Some(caller)) if auth_secret.expose_secret() != caller.expose_secret() => {
            anyhow::bail!(
                "{caller_var} differs from DEVOPSTRACK_AUTH__SERVICE_CLIENTS__{}: set one of them (or neither)",
                client_id.to_uppercase().replace('-', "_")
            )
        }
        (Some(auth_secret), _) => auth_secret.clone(),
        (None, Some(caller)) => caller,
        (None, None) => secrets::service_secret(data_dir, client_id)?,
    };
    auth.service_clients.insert(client_id.to_owned(), secret.clone());
    Ok(secret)
}
