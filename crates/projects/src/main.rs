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

use devopstrack_platform::container::ServiceCli;
use devopstrack_projects::config::Settings;
use devopstrack_projects::startup::Application;

fn main() -> anyhow::Result<ExitCode> {
    let cli = ServiceCli::parse_as(
        "devopstrack-projects",
        "DevOpsTrack projects service (gRPC :50052, admin HTTP :9102)",
    );
    cli.run(
        "projects",
        Settings::load,
        |settings| settings.admin_addr,
        Application::build,
        Application::run_until_stopped,
    )
}
