//! `devopstrack-gateway`: the public edge on its own (for containers).
//!
//! ```text
//! devopstrack-gateway [--wait-for-store SECONDS]   serve (settings from DEVOPSTRACK_GATEWAY__*)
//! devopstrack-gateway healthcheck                   GET /healthz on the HTTP address: exit 0 or 1
//! devopstrack-gateway check-config                  load and validate the settings, start nothing
//! devopstrack-gateway --print-openapi                print the OpenAPI document (needs no settings), exit
//! ```

/// mimalloc: glibc malloc contended across the HTTP, gRPC and store worker threads (it led the profile of a
/// loaded edge); a thread-caching allocator removes that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use devopstrack_gateway::config::Settings;
use devopstrack_gateway::startup::Application;
use devopstrack_platform::container::{self, ServiceCommand, StartArgs};

#[derive(Parser)]
#[command(
    name = "devopstrack-gateway",
    version,
    about = "DevOpsTrack gateway: REST, WebSocket and the dashboard (HTTP :8080)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<ServiceCommand>,
    #[command(flatten)]
    start: StartArgs,
    /// Print the REST API's OpenAPI document (what `GET /api/v1/openapi.json` serves) and exit. Reads no settings:
    /// the dashboard's types are generated from it offline (scripts/api-types.sh).
    #[arg(long)]
    print_openapi: bool,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if cli.print_openapi {
        // A write error (a closed pipe) is an error exit, not the panic `println!` would raise.
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", devopstrack_gateway::openapi::document())?;
        return Ok(ExitCode::SUCCESS);
    }
    match cli.command {
        Some(ServiceCommand::CheckConfig) => Ok(container::report_config(Settings::load().map(drop))),
        Some(ServiceCommand::Healthcheck) => Ok(container::healthcheck(Settings::load()?.http_addr)),
        None => {
            let settings = Settings::load()?;
            tokio::runtime::Runtime::new()?.block_on(serve(settings, cli.start))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(settings: Settings, start: StartArgs) -> anyhow::Result<()> {
    let _telemetry = devopstrack_platform::telemetry::init("devopstrack-gateway")?;
    let application = container::retry_start("gateway", start.wait(), || Application::build(&settings)).await?;
    application
        .run_until_stopped(devopstrack_platform::shutdown::on_signals())
        .await
}
