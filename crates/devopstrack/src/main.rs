//! `devopstrack`: every service in one process (`devopstrack up`) and admin commands.

/// mimalloc: glibc malloc contended across the HTTP, gRPC and SQLite worker threads (it led the profile of a
/// loaded edge); a thread-caching allocator removes that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod keys;
mod secrets;
mod up;
mod user;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "devopstrack",
    version,
    about = "Track CI/CD pipelines, deployments and DORA metrics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole platform in one process with embedded stores (SQLite under --data-dir).
    Up(up::UpArgs),
    /// Manage users directly in the auth store (for bootstrapping a real deployment).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage auth's signing keys directly in the auth store.
    #[command(subcommand)]
    Auth(keys::AuthCommand),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Up(args) => up::run(args).await,
        Command::User(command) => user::run(command).await,
        Command::Auth(command) => keys::run(command).await,
    }
}
