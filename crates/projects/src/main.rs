//! `devopstrack-projects`: the projects service on its own (for containers).

/// mimalloc: glibc malloc contended across the HTTP, gRPC and SQLite worker threads (it led the profile of a
/// loaded edge); a thread-caching allocator removes that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use devopstrack_projects::config::Settings;
use devopstrack_projects::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let _telemetry = devopstrack_platform::telemetry::init("devopstrack-projects")?;
    let application = Application::build(&settings).await?;
    application
        .run_until_stopped(devopstrack_platform::shutdown::on_signals())
        .await
}
