//! `devopstrack-metrics`: the metrics service on its own (for containers).
//!
//! ```text
//! devopstrack-metrics [--wait-for-store SECONDS]   serve (settings from DEVOPSTRACK_METRICS__*)
//! devopstrack-metrics healthcheck                   GET /healthz on the admin address: exit 0 or 1
//! devopstrack-metrics check-config                  load and validate the settings, start nothing
//! ```

/// mimalloc: glibc malloc contended across the HTTP, gRPC and store worker threads (it led the profile of a
/// loaded edge); a thread-caching allocator removes that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

use devopstrack_metrics::config::Settings;
use devopstrack_metrics::startup::Application;
use devopstrack_platform::container::{self, ServiceCommand, StartArgs};

#[derive(Parser)]
#[command(
    name = "devopstrack-metrics",
    version,
    about = "DevOpsTrack metrics service (gRPC :50054, admin HTTP :9104)"
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
    let _telemetry = devopstrack_platform::telemetry::init("devopstrack-metrics")?;
    let application = container::retry_start("metrics", start.wait(), || Application::build(&settings)).await?;
    application
        .run_until_stopped(devopstrack_platform::shutdown::on_signals())
        .await
}
