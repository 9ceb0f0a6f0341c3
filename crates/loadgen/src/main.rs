//! `devopstrack-loadgen`: end-to-end throughput of noop jobs and enqueue→done / event-delivery latency through the
//! real tasks service (gRPC, its store, its workers, its metrics outbox), with real auth and projects beside it, all
//! in this process on loopback. Bounded: it creates a fixed number of pipelines and stops by itself (or after
//! `--timeout`).
//!
//! ```text
//! devopstrack-loadgen [--store sqlite|redis] [--pipelines N] [--jobs-per-pipeline J] [--concurrency C]
//!                     [--workers W] [--lease-loops L] [--timeout SECONDS]
//! ```
//!
//! `--store redis` uses `DEVOPSTRACK_TEST_REDIS_URL`, or starts a throwaway `redis-server` (as the test kit does).
//! Every job is `simulate` with `durationMs: 0, logLines: 0`, so the figures measure the platform, not the job.
//!
//! The tasks service runs on a tokio runtime of its own (threads `tasks-*`), auth, projects and a stand-in metrics
//! service ([`sink`]) on another (`peers-*`), and the load itself on a third (`loadgen-*`), so the CPU report can
//! split the process's time between them; the Redis server's time comes from its `INFO cpu`.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cpu;
mod run;
mod sink;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::SecretString;
use tokio::runtime::{Builder, Handle, Runtime};
use tokio_util::sync::CancellationToken;
use tonic::Request;

use devopstrack_auth::app::NewUser;
use devopstrack_platform::auth::Role;

const PASSWORD: &str = "loadgen-password-123";
const SERVICE_SECRET: &str = "loadgen-service-secret-0123456789abcdef";
const PROJECT: &str = "loadgen";

pub struct Args {
    store: String,
    pipelines: usize,
    jobs_per_pipeline: usize,
    concurrency: usize,
    workers: u32,
    /// The tasks service's `lease_loops`.
    lease_loops: u32,
    timeout: Duration,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        store: "sqlite".into(),
        pipelines: 1_000,
        jobs_per_pipeline: 10,
        concurrency: 16,
        workers: 32,
        lease_loops: devopstrack_tasks::config::Settings::default().lease_loops,
        timeout: Duration::from_secs(120),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} wants a value"));
        match flag.as_str() {
            "--store" => args.store = value()?,
            "--pipelines" => args.pipelines = value()?.parse()?,
            "--jobs-per-pipeline" => args.jobs_per_pipeline = value()?.parse()?,
            "--concurrency" => args.concurrency = value()?.parse()?,
            "--workers" => args.workers = value()?.parse()?,
            "--lease-loops" => args.lease_loops = value()?.parse()?,
            "--timeout" => args.timeout = Duration::from_secs(value()?.parse()?),
            other => bail!("unknown argument {other:?} (see the doc comment of crates/loadgen/src/main.rs)"),
        }
    }
    if !(1..=50).contains(&args.jobs_per_pipeline) {
        bail!("--jobs-per-pipeline must be 1..=50 (one stage)");
    }
    if !matches!(args.store.as_str(), "sqlite" | "redis") {
        bail!("--store must be sqlite or redis");
    }
    Ok(args)
}

fn with_token<T>(message: T, token: &str) -> anyhow::Result<Request<T>> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(request)
}

fn runtime(name: &str, threads: usize) -> anyhow::Result<Runtime> {
    Ok(Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()?)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let peers = runtime("peers", 1)?;
    let tasks = runtime("tasks", 2)?;
    let load = runtime("loadgen", 2)?;
    let result = load.block_on(start(args, peers.handle().clone(), tasks.handle().clone()));
    // Services still serving are dropped with their runtimes.
    tasks.shutdown_timeout(Duration::from_secs(1));
    peers.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Where the services run and how to reach them.
pub struct Services {
    pub tasks_url: String,
    pub projects_url: String,
    pub auth_url: String,
    pub redis_url: Option<String>,
    pub sink: sink::Sink,
}

async fn start(args: Args, peers: Handle, tasks_rt: Handle) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let any = SocketAddr::from(([127, 0, 0, 1], 0));

    let auth_settings = devopstrack_auth::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/auth.db", dir.path().display()),
        service_clients: ["tasks"]
            .map(|id| (id.to_owned(), SecretString::from(SERVICE_SECRET)))
            .into(),
        signing_key_kek: Some(devopstrack_auth::kek::Kek::generate_base64()),
        ..devopstrack_auth::config::Settings::default()
    };
    let auth = peers
        .spawn(async move { devopstrack_auth::startup::Application::build(&auth_settings).await })
        .await??;
    let auth_url = format!("http://127.0.0.1:{}", auth.grpc_port());
    auth.app()
        .bootstrap_user(NewUser {
            email: "loadgen@example.com".into(),
            name: "loadgen".into(),
            role: Some(Role::Admin),
            password: SecretString::from(PASSWORD),
        })
        .await
        .map_err(|e| anyhow::anyhow!("create the loadgen user: {e}"))?;
    peers.spawn(auth.run_until_stopped(shutdown.clone()));

    let projects_settings = devopstrack_projects::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/projects.db", dir.path().display()),
        peers: devopstrack_peers::ServiceSettings {
            auth_url: auth_url.clone(),
            ..Default::default()
        },
        ..devopstrack_projects::config::Settings::default()
    };
    let projects = peers
        .spawn(async move { devopstrack_projects::startup::Application::build(&projects_settings).await })
        .await??;
    let projects_url = format!("http://127.0.0.1:{}", projects.grpc_port());
    peers.spawn(projects.run_until_stopped(shutdown.clone()));

    let sink = sink::Sink::default();
    let listener = peers
        .spawn(async move { tokio::net::TcpListener::bind(any).await })
        .await??;
    let metrics_url = format!("http://{}", listener.local_addr()?);
    let server = tonic::transport::Server::builder().add_service(sink.server());
    let stop = shutdown.clone();
    peers.spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        server.serve_with_incoming_shutdown(incoming, stop.cancelled()).await
    });

    let (database_url, key_prefix, redis_url) = if args.store == "redis" {
        let redis = devopstrack_testkit::redis().await.context("no Redis available")?;
        (redis.url.clone(), redis.prefix, Some(redis.url))
    } else {
        (
            format!("sqlite://{}/tasks.db", dir.path().display()),
            String::new(),
            None,
        )
    };
    let tasks_settings = devopstrack_tasks::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url,
        key_prefix,
        workers: args.workers,
        lease_loops: args.lease_loops,
        peers: devopstrack_peers::ServiceSettings {
            auth_url: auth_url.clone(),
            ..Default::default()
        },
        projects_url: projects_url.clone(),
        metrics_url,
        client_secret: Some(SecretString::from(SERVICE_SECRET)),
        ..devopstrack_tasks::config::Settings::default()
    };
    tasks_settings.validate()?;
    let tasks = tasks_rt
        .spawn(async move { devopstrack_tasks::startup::Application::build(&tasks_settings).await })
        .await??;
    let tasks_url = format!("http://127.0.0.1:{}", tasks.grpc_port());
    tasks_rt.spawn(tasks.run_until_stopped(shutdown.clone()));

    let services = Services {
        tasks_url,
        projects_url,
        auth_url,
        redis_url,
        sink,
    };
    let result = run::run(&args, &services).await;
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    result
}
