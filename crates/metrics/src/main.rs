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

use devopstrack_metrics::config::Settings;
use devopstrack_metrics::startup::Application;
use devopstrack_platform::container::ServiceCli;

fn main() -> anyhow::Result<ExitCode> {
    let cli = ServiceCli::parse_as(
        "devopstrack-metrics",
        "DevOpsTrack metrics service (gRPC :50054, admin HTTP :9104)",
    );
    cli.run(
        "metrics",
        Settings::load,
        |settings| settings.admin_addr,
        Application::build,
        Application::run_until_stopped,
    )
}
