//! `devopstrack-loadgen`: end-to-end throughput of noop jobs and enqueue→done / event-delivery latency through the
//! real tasks service (gRPC, its store, its workers), with real auth and projects beside it, all in this process on
//! loopback. Bounded: it creates a fixed number of pipelines and stops by itself (or after `--timeout`).
//!
//! ```text
//! devopstrack-loadgen [--store sqlite|redis] [--pipelines N] [--jobs-per-pipeline J] [--concurrency C]
//!                     [--workers W] [--timeout SECONDS]
//! ```
//!
//! `--store redis` uses `DEVOPSTRACK_TEST_REDIS_URL`, or starts a throwaway `redis-server` (as the test kit does).
//! Every job is `simulate` with `durationMs: 0, logLines: 0`, so the figures measure the platform, not the job.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::Request;
use tonic::transport::Channel;

use devopstrack_auth::app::NewUser;
use devopstrack_platform::auth::Role;
use devopstrack_proto::auth::v1 as auth_pb;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;
use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::projects::v1::project_service_client::ProjectServiceClient;
use devopstrack_proto::tasks::v1 as pb;
use devopstrack_proto::tasks::v1::task_service_client::TaskServiceClient;

const PASSWORD: &str = "loadgen-password-123";
const PROJECT: &str = "loadgen";

struct Args {
    store: String,
    pipelines: usize,
    jobs_per_pipeline: usize,
    concurrency: usize,
    workers: u32,
    timeout: Duration,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        store: "sqlite".into(),
        pipelines: 1_000,
        jobs_per_pipeline: 10,
        concurrency: 16,
        workers: 32,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let dir = tempfile::tempdir()?;
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let any = SocketAddr::from(([127, 0, 0, 1], 0));

    let auth_settings = devopstrack_auth::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/auth.db", dir.path().display()),
        ..devopstrack_auth::config::Settings::default()
    };
    let auth = devopstrack_auth::startup::Application::build(&auth_settings).await?;
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
    tokio::spawn(auth.run_until_stopped(shutdown.clone()));

    let projects_settings = devopstrack_projects::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: format!("sqlite://{}/projects.db", dir.path().display()),
        auth_url: auth_url.clone(),
        ..devopstrack_projects::config::Settings::default()
    };
    let projects = devopstrack_projects::startup::Application::build(&projects_settings).await?;
    let projects_url = format!("http://127.0.0.1:{}", projects.grpc_port());
    tokio::spawn(projects.run_until_stopped(shutdown.clone()));

    let (database_url, key_prefix) = if args.store == "redis" {
        let redis = devopstrack_testkit::redis().await.context("no Redis available")?;
        (redis.url, redis.prefix)
    } else {
        (format!("sqlite://{}/tasks.db", dir.path().display()), String::new())
    };
    let tasks_settings = devopstrack_tasks::config::Settings {
        grpc_addr: any,
        admin_addr: any,
        database_url: database_url.clone(),
        key_prefix,
        workers: args.workers,
        auth_url: auth_url.clone(),
        projects_url: projects_url.clone(),
        ..devopstrack_tasks::config::Settings::default()
    };
    tasks_settings.validate()?;
    let tasks = devopstrack_tasks::startup::Application::build(&tasks_settings).await?;
    let tasks_url = format!("http://127.0.0.1:{}", tasks.grpc_port());
    tokio::spawn(tasks.run_until_stopped(shutdown.clone()));

    let token = AuthServiceClient::connect(auth_url)
        .await?
        .login(auth_pb::LoginRequest {
            email: "loadgen@example.com".into(),
            password: PASSWORD.into(),
        })
        .await?
        .into_inner()
        .access_token;
    ProjectServiceClient::connect(projects_url)
        .await?
        .create_project(with_token(
            projects_pb::CreateProjectRequest {
                slug: PROJECT.into(),
                name: "Loadgen".into(),
                ..Default::default()
            },
            &token,
        )?)
        .await?;
    let channel = Channel::from_shared(tasks_url)?.connect().await?;
    let client = TaskServiceClient::new(channel);

    // The watcher: every pipeline's end, with how long its event took to arrive.
    let mut done: HashMap<String, Instant> = HashMap::new();
    let mut delivery_ms = Vec::new();
    let mut events = client
        .clone()
        .watch_events(with_token(
            pb::WatchEventsRequest {
                project: PROJECT.into(),
                ..Default::default()
            },
            &token,
        )?)
        .await?
        .into_inner();

    println!(
        "==> {} store: {} pipelines × {} noop jobs, {} creators, {} workers",
        args.store, args.pipelines, args.jobs_per_pipeline, args.concurrency, args.workers
    );
    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut creators = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (client, token, created, next) = (client.clone(), token.clone(), created.clone(), next.clone());
        let (total, jobs) = (args.pipelines, args.jobs_per_pipeline);
        creators.spawn(async move {
            let params = serde_params();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                let request = pb::CreatePipelineRequest {
                    project: PROJECT.into(),
                    stages: vec![pb::Stage {
                        name: "noop".into(),
                        jobs: (0..jobs)
                            .map(|j| pb::Job {
                                name: format!("j{j}"),
                                params: Some(params.clone()),
                                ..Default::default()
                            })
                            .collect(),
                    }],
                    ..Default::default()
                };
                let at = Instant::now();
                let answer = client.clone().create_pipeline(with_token(request, &token)?).await?;
                let id = answer.into_inner().pipeline.context("no pipeline")?.id;
                created.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.insert(id, at);
            }
            anyhow::Ok(())
        });
    }

    let deadline = tokio::time::Instant::now() + args.timeout;
    while done.len() < args.pipelines {
        let event = match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(event)) => event?,
            Ok(None) => bail!("the event stream ended"),
            Err(_) => bail!("timed out after {:?}", args.timeout),
        };
        let received = Utc::now();
        if let Some(at) = event.at {
            let at = DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).unwrap_or(0)).unwrap_or(received);
            delivery_ms.push((received - at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
        let Some(p) = event.pipeline else { continue };
        if event.r#type == i32::from(pb::EventType::PipelineUpdated)
            && p.status == i32::from(pb::PipelineStatus::Succeeded)
        {
            done.insert(p.id, Instant::now());
        } else if p.status == i32::from(pb::PipelineStatus::Failed) {
            bail!("pipeline {} failed", p.id);
        }
    }
    let elapsed = started.elapsed();
    while let Some(result) = creators.join_next().await {
        result??;
    }

    let created = std::mem::take(&mut *created.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    let mut latency_ms: Vec<f64> = done
        .iter()
        .filter_map(|(id, at)| created.get(id).map(|c| at.duration_since(*c).as_secs_f64() * 1000.0))
        .collect();
    let jobs = args.pipelines * args.jobs_per_pipeline;
    println!(
        "    {jobs} jobs in {:.2}s: {:.0} jobs/s ({:.0} pipelines/s)",
        elapsed.as_secs_f64(),
        jobs as f64 / elapsed.as_secs_f64(),
        args.pipelines as f64 / elapsed.as_secs_f64()
    );
    println!("    pipeline create→done ms: {}", summary(&mut latency_ms));
    println!(
        "    event delivery ms (stored → received by a watcher): {}",
        summary(&mut delivery_ms)
    );
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}

fn serde_params() -> prost_types::Struct {
    let field = |v: f64| prost_types::Value {
        kind: Some(prost_types::value::Kind::NumberValue(v)),
    };
    prost_types::Struct {
        fields: [
            ("durationMs".to_owned(), field(0.0)),
            ("logLines".to_owned(), field(0.0)),
        ]
        .into(),
    }
}

fn summary(values: &mut [f64]) -> String {
    if values.is_empty() {
        return "no samples".into();
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    format!(
        "p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1} ({} samples)",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
        values.len()
    )
}
