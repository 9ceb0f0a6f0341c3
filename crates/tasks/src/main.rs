//! `devopstrack-tasks`: the tasks service on its own (for containers).
//!
//! ```text
//! devopstrack-tasks [--role all|api|worker] [--workers N] [--wait-for-store SECONDS]   serve
//! devopstrack-tasks [--role …] [--workers N] healthcheck    GET /healthz on the admin address: exit 0 or 1
//! devopstrack-tasks [--role …] [--workers N] check-config   load and validate the settings, start nothing
//! ```
//!
//! `--role` and `--workers` override the configuration (`DEVOPSTRACK_TASKS__ROLE`, `DEVOPSTRACK_TASKS__WORKERS`), and
//! the settings are validated after they apply, so `check-config` judges what the process would run.

/// mimalloc: glibc malloc contends across the gRPC, worker and store threads; a thread-caching allocator removes that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use devopstrack_platform::config::ConfigError;
use devopstrack_platform::container::{self, ServiceCommand, StartArgs};
use devopstrack_tasks::config::{ProcessRole, Settings};
use devopstrack_tasks::startup::Application;

#[derive(Parser)]
#[command(
    name = "devopstrack-tasks",
    version,
    about = "DevOpsTrack tasks service: pipelines, jobs, the queue and its workers (gRPC :50053, admin HTTP :9103)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<ServiceCommand>,
    /// What this process runs: the API, outbox and workers (`all`), the API and outbox (`api`), or workers only.
    #[arg(long, value_enum, global = true)]
    role: Option<Role>,
    /// Concurrent jobs in this process (0..=256; at least 1 with `--role worker`).
    #[arg(long, value_name = "N", global = true)]
    workers: Option<u32>,
    #[command(flatten)]
    start: StartArgs,
}

/// `--role`: the command-line spelling of [`ProcessRole`].
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    All,
    Api,
    Worker,
}

impl From<Role> for ProcessRole {
    fn from(role: Role) -> Self {
        match role {
            Role::All => ProcessRole::All,
            Role::Api => ProcessRole::Api,
            Role::Worker => ProcessRole::Worker,
        }
    }
}

impl Cli {
    /// The settings from the environment with the command line's overrides, validated once they apply.
    fn settings(&self) -> Result<Settings, ConfigError> {
        let mut settings: Settings = devopstrack_platform::config::load("tasks")?;
        if let Some(role) = self.role {
            settings.role = role.into();
        }
        if let Some(workers) = self.workers {
            settings.workers = workers;
        }
        settings.validate()?;
        Ok(settings)
    }
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Some(ServiceCommand::CheckConfig) => Ok(container::report_config(cli.settings().map(drop))),
        Some(ServiceCommand::Healthcheck) => Ok(container::healthcheck(cli.settings()?.admin_addr)),
        None => {
            let settings = cli.settings()?;
            tokio::runtime::Runtime::new()?.block_on(serve(settings, cli.start))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(settings: Settings, start: StartArgs) -> anyhow::Result<()> {
    let _telemetry = devopstrack_platform::telemetry::init("devopstrack-tasks")?;
    let application = container::retry_start("tasks", start.wait(), || Application::build(&settings)).await?;
    application
        .run_until_stopped(devopstrack_platform::shutdown::on_signals())
        .await
}
