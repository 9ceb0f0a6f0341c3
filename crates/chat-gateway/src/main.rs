//! `devopstrack-gateway`: the public edge on its own (for containers).

/// mimalloc: glibc malloc contended across the HTTP, gRPC and SQLite worker threads (it led the profile of a
/// loaded edge); a thread-caching allocator removes that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use devopstrack_gateway::config::Settings;
use devopstrack_gateway::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let _telemetry = devopstrack_platform::telemetry::init("devopstrack-gateway")?;
    let application = Application::build(&settings).await?;
    application
        .run_until_stopped(devopstrack_platform::shutdown::on_signals())
        .await
}
