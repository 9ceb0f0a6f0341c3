//! `devopstrack up`: auth and the gateway (and, as they land, every other service) in one process, talking real gRPC
//! over 127.0.0.1, with SQLite stores under the data directory. The first start creates an admin.

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
    if auth_settings.service_client_secret.is_none() {
        // One process: a fresh secret per start is enough for the services to authenticate to each other.
        auth_settings.service_client_secret = Some(SecretString::from(crate::user::generate_password(40)));
    }
    let auth = devopstrack_auth::startup::Application::build(&auth_settings).await?;
    let auth_port = auth.grpc_port();
    let auth_admin_port = auth.admin_port();
    bootstrap_admin(&auth).await?;

    let mut gateway_settings = devopstrack_gateway::config::Settings::load()?;
    if std::env::var_os("DEVOPSTRACK_GATEWAY__AUTH_URL").is_none() {
        gateway_settings.auth_url = format!("http://127.0.0.1:{auth_port}");
    }
    let gateway = devopstrack_gateway::startup::Application::build(&gateway_settings).await?;
    let http_port = gateway.port();

    println!();
    println!("  DevOpsTrack is up (data in {})", data_dir.display());
    println!("    dashboard and API   http://localhost:{http_port}");
    println!("    auth gRPC           127.0.0.1:{auth_port}   (grpcurl -plaintext 127.0.0.1:{auth_port} list)");
    println!("    auth admin          http://127.0.0.1:{auth_admin_port}/metrics");
    println!("  Ctrl-C stops.");
    println!();

    let auth_task = tokio::spawn(auth.run_until_stopped(shutdown.clone()));
    let gateway_task = tokio::spawn(gateway.run_until_stopped(shutdown.clone()));
    let (auth_result, gateway_result) = tokio::join!(auth_task, gateway_task);
    shutdown.cancel();
    auth_result?.context("auth service")?;
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
        .bootstrap_user(NewUser { email, name: "Administrator".into(), role: Some(Role::Admin), password: password.clone() })
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
