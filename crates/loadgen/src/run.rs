//! The measured run: `--concurrency` creators push noop pipelines while one watcher follows the project's events
//! until every pipeline succeeded; then the figures, the CPU split, and how long the metrics outbox took to drain.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use devopstrack_proto::auth::v1 as auth_pb;
use devopstrack_proto::auth::v1::auth_service_client::AuthServiceClient;
use devopstrack_proto::projects::v1 as projects_pb;
use devopstrack_proto::projects::v1::project_service_client::ProjectServiceClient;
use devopstrack_proto::tasks::v1 as pb;
use devopstrack_proto::tasks::v1::task_service_client::TaskServiceClient;

use crate::{Args, PASSWORD, PROJECT, Services, cpu, with_token};

/// How long the metrics outbox may take to drain after the last pipeline ended.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn run(args: &Args, services: &Services) -> anyhow::Result<()> {
    let token = AuthServiceClient::connect(services.auth_url.clone())
        .await?
        .login(auth_pb::LoginRequest {
            email: "loadgen@example.com".into(),
            password: PASSWORD.into(),
            client_address: String::new(),
        })
        .await?
        .into_inner()
        .access_token;
    ProjectServiceClient::connect(services.projects_url.clone())
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
    let channel = Channel::from_shared(services.tasks_url.clone())?.connect().await?;
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
        "==> {} store: {} pipelines × {} noop jobs, {} creators, {} workers, lease loops {}",
        args.store, args.pipelines, args.jobs_per_pipeline, args.concurrency, args.workers, args.lease_loops
    );
    let redis_before = match &services.redis_url {
        Some(url) => cpu::redis(url).await,
        None => None,
    };
    let threads_before = cpu::threads();
    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut creators = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (client, token, created, next) = (client.clone(), token.clone(), created.clone(), next.clone());
        let (total, jobs) = (args.pipelines, args.jobs_per_pipeline);
        creators.spawn(async move {
            let params = noop_params();
            while next.fetch_add(1, Ordering::Relaxed) < total {
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
    let threads_after = cpu::threads();
    let redis_used = match (&services.redis_url, redis_before) {
        (Some(url), Some(before)) => cpu::redis(url).await.map(|after| after - before),
        _ => None,
    };
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
    println!("    CPU while running (2 cores = 2.00):");
    println!("{}", cpu::report(&threads_before, &threads_after, redis_used, elapsed));
    drained(services, jobs, started).await
}

/// Waits until the stand-in metrics service has every job run once, and says when that was.
async fn drained(services: &Services, jobs: usize, started: Instant) -> anyhow::Result<()> {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        let (runs, calls) = services.sink.runs();
        if runs >= jobs {
            println!(
                "    metrics: all {runs} job runs delivered {:.2}s after the start, in {calls} RecordJobRun calls",
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("metrics: only {runs} of {jobs} job runs delivered within {DRAIN_TIMEOUT:?} of the end");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn noop_params() -> prost_types::Struct {
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
