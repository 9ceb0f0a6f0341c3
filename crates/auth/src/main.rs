//! `devopstrack-auth`: the auth service on its own (for containers).
//!
//! ```text
//! devopstrack-auth [--wait-for-store SECONDS]   serve (settings from DEVOPSTRACK_AUTH__*)
//! devopstrack-auth healthcheck                   GET /healthz on the admin address: exit 0 or 1
//! devopstrack-auth check-config                  load and validate the settings, start nothing
//! ```
//!
//! On a store without users, a first admin is created from `DEVOPSTRACK_ADMIN_EMAIL` (default `admin@localhost`) and
//! `DEVOPSTRACK_ADMIN_PASSWORD` when that is set (the Kubernetes Secret and compose's `.env` carry it); never a
//! generated password, which would end up in the container's logs.

/// mimalloc: glibc malloc contended across the HTTP, gRPC and SQLite worker threads (it led the profile of a
/// loaded edge); a thread-caching allocator removes that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use secrecy::SecretString;

use devopstrack_auth::app::NewUser;
use devopstrack_auth::config::Settings;
use devopstrack_auth::error::Error;
use devopstrack_auth::startup::Application;
use devopstrack_platform::auth::Role;
use devopstrack_platform::container::ServiceCli;
use devopstrack_platform::shutdown::CancellationToken;

fn main() -> anyhow::Result<ExitCode> {
    let cli = ServiceCli::parse_as(
        "devopstrack-auth",
        "DevOpsTrack auth service (gRPC :50051, admin HTTP :9101)",
    );
    cli.run(
        "auth",
        Settings::load,
        |settings| settings.admin_addr,
        Application::build,
        serve,
    )
}

async fn serve(application: Application, shutdown: CancellationToken) -> anyhow::Result<()> {
    first_admin(&application).await?;
    application.run_until_stopped(shutdown).await
}

/// A store without users gets the admin named by `DEVOPSTRACK_ADMIN_EMAIL` / `DEVOPSTRACK_ADMIN_PASSWORD`. Replicas
/// starting together may race: the loser's insert is a conflict, which is fine.
async fn first_admin(application: &Application) -> anyhow::Result<()> {
    let app = application.app();
    if app.user_count().await? > 0 {
        return Ok(());
    }
    let Some(password) = std::env::var("DEVOPSTRACK_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        tracing::warn!(
            "no users yet: set DEVOPSTRACK_ADMIN_PASSWORD (and DEVOPSTRACK_ADMIN_EMAIL) to create the first admin, \
             or run `devopstrack user create` against this store"
        );
        return Ok(());
    };
    let email = std::env::var("DEVOPSTRACK_ADMIN_EMAIL").unwrap_or_else(|_| "admin@localhost".into());
    let created = app
        .bootstrap_user(NewUser {
            email,
            name: "Administrator".into(),
            role: Some(Role::Admin),
            password: SecretString::from(password),
        })
        .await;
    match created {
        Ok(user) => tracing::info!(user_id = %user.id, email = %user.email, "first admin created"),
        Err(Error::Conflict(_)) => tracing::info!("first admin already created by another replica"),
        Err(error) => anyhow::bail!("creating the first admin (DEVOPSTRACK_ADMIN_EMAIL/PASSWORD): {error}"),
    }
    Ok(())
}
