//! `devopstrack-tasks`: the tasks service on its own (for containers). `--role all|api|worker` and `--workers N`
//! override the configuration (`DEVOPSTRACK_TASKS__ROLE`, `DEVOPSTRACK_TASKS__WORKERS`).

/// mimalloc: glibc malloc contends across the gRPC, worker and store threads; a thread-caching allocator removes that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context, bail};

use devopstrack_tasks::config::{ProcessRole, Settings};
use devopstrack_tasks::startup::Application;

const USAGE: &str = "usage: devopstrack-tasks [--role all|api|worker] [--workers N]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut settings = Settings::load()?;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--role" => {
                settings.role = match args.next().as_deref() {
                    Some("all") => ProcessRole::All,
                    Some("api") => ProcessRole::Api,
                    Some("worker") => ProcessRole::Worker,
                    _ => bail!("--role wants all, api or worker\n{USAGE}"),
                }
            }
            "--workers" => {
                settings.workers = args
                    .next()
                    .context(USAGE)?
                    .parse()
                    .with_context(|| format!("--workers wants a number\n{USAGE}"))?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    settings.validate()?;
    let _telemetry = devopstrack_platform::telemetry::init("devopstrack-tasks")?;
    let application = Application::build(&settings).await?;
    application
        .run_until_stopped(devopstrack_platform::shutdown::on_signals())
        .await
}
