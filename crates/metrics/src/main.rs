//! `devopstrack-metrics`: the metrics service on its own (for containers).

/// mimalloc: a thread-caching allocator, as in every service binary (glibc malloc contends across threads).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use devopstrack_metrics::config::Settings;
use devopstrack_metrics::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let _telemetry = devopstrack_platform::telemetry::init("devopstrack-metrics")?;
    let application = Application::build(&settings).await?;
    application
        .run_until_stopped(devopstrack_platform::shutdown::on_signals())
        .await
}
