//! `devopstrack-gateway`: the public edge on its own (for containers).

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
