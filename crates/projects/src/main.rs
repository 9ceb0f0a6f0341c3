//! `devopstrack-projects`: the projects service on its own (for containers).
//!
//! ```text
//! devopstrack-projects [--wait-for-store SECONDS]   serve (settings from DEVOPSTRACK_PROJECTS__*)
//! devopstrack-projects healthcheck                   GET /healthz on the admin address: exit 0 or 1
//! devopstrack-projects check-config                  load and validate the settings, start nothing
//! ```

/// mimalloc: glibc malloc contended across the HTTP, gRPC and store worker threads (it led the profile of a
/// loaded edge); a thread-caching allocator removes that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

use devopstrack_platform::container::{self, ServiceCommand, StartArgs};
use devopstrack_projects::config::Settings;
use devopstrack_projects::startup::Application;

#[derive(Parser)]
#[command(
    name = "devopstrack-projects",
    version,
    about = "DevOpsTrack projects service (gRPC :50052, admin HTTP :9102)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<ServiceCommand>,
    #[command(flatten)]
    start: StartArgs,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Some(ServiceCommand::CheckConfig) => Ok(container::report_config(Settings::load().map(drop))),
        Some(ServiceCommand::Healthcheck) => Ok(container::healthcheck(Settings::load()?.admin_addr)),
        None => {
            let settings = Settings::load()?;
            tokio::runtime::Runtime::new()?.block_on(serve(settings, cli.start))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(settings: Settings, start: StartArgs) -> anyhow::Result<()> {
    let _telemetry = devopstrack_platform::telemetry::init("devopstrack-projects")?;
    let application = container::retry_start("projects", start.wait(), || Application::build(&settings)).await?;
    application
        .run_until_stopped(devopstrack_platform::shutdown::on_signals())
        .await
}
