//! Load figures for the metrics service on the embedded SQLite store (`scripts/bench-metrics.sh`, release build).
//!
//! Dataset: one year of events for 50 projects, deterministic (a fixed-seed xorshift). Per project and day: 3
//! environments deployed to 4× (dev), 2× (staging) and 1× (production) a day (8 % failed, 2 % rolled back), each
//! deployment carrying its commit (sha and time); 6 commits (changes); 20 job runs (5 % failed, 2 % cancelled, 1 %
//! timed out; 30 s – 15 min). One production incident every ~14 days per project, resolved 1–6 h later (two
//! reports). About 607,000 events in all.
//!
//! Measures:
//! 1. ingest through `MetricsStore::append` in batches of 5,000 (what the flusher does), points/s, in time order
//!    (as live events arrive), timed until the write-ahead log is checkpointed into the database file (so work the
//!    store's checkpoint interval defers is counted);
//! 2. ingest through the app's write path (`MetricsApp::record`, 1,000 events per call as the gRPC limit allows, each
//!    call answered once its events are committed — group commit), with one sender and with [`SENDERS`] concurrent
//!    senders (calls in flight together share a transaction), from the first call until everything is written and
//!    checkpointed, points/s;
//! 3. GetDora latency (`MetricsApp::dora`, p50/p99 over 20 calls) for the default 30-day window over all projects,
//!    for one project, and for the whole year; and GetOverview (30 days).
//!
//! Targets (issue): ≥ 100,000 points/s batched into the embedded store; GetDora ≤ 100 ms over a year × 50 projects.

/// The allocator the service binary runs with (`src/main.rs`); glibc malloc led the first profile of this bench.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;

use devopstrack_metrics::app::{AppSettings, DoraQuery, MetricsApp};
use devopstrack_metrics::domain::{
    Change, Deployment, DeploymentStatus, Event, Incident, JobRun, JobRunStatus, Source,
};
use devopstrack_metrics::error::Error;
use devopstrack_metrics::store::MetricsStore;
use devopstrack_metrics::store::sqlite::SqliteStore;
use devopstrack_platform::auth::{Principal, Role};
use devopstrack_platform::metrics::MetricsRegistry;

const PROJECTS: usize = 50;
const DAYS: i64 = 365;
const CALLS: usize = 20;
/// Concurrent Record callers in the second ingest measure (several tasks replicas and the gateway).
const SENDERS: usize = 8;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> i64 {
        i64::try_from(self.next() % n).unwrap_or(0)
    }
}

fn dataset(end: DateTime<Utc>) -> Vec<Event> {
    let start = end - TimeDelta::days(DAYS);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut events = Vec::with_capacity(620_000);
    for p in 0..PROJECTS {
        let project = format!("project-{p:02}");
        for d in 0..DAYS {
            let day = start + TimeDelta::days(d);
            let mut commits = Vec::new();
            for c in 0..6 {
                let at = day + TimeDelta::seconds(rng.below(86_400));
                let sha = format!("{:040x}", rng.next());
                commits.push((sha.clone(), at));
                events.push(Event::Change(Change {
                    event_id: format!("{project}-c-{d}-{c}"),
                    project: project.clone(),
                    commit_sha: sha,
                    commit_time: at,
                    repository: format!("https://github.com/acme/{project}"),
                    branch: "main".into(),
                }));
            }
            commits.sort_by_key(|c| c.1);
            for (env, per_day) in [("dev", 4), ("staging", 2), ("production", 1)] {
                for k in 0..per_day {
                    let finished = day + TimeDelta::seconds(rng.below(86_400));
                    let status = match rng.below(100) {
                        0..=7 => DeploymentStatus::Failed,
                        8..=9 => DeploymentStatus::RolledBack,
                        _ => DeploymentStatus::Succeeded,
                    };
                    let commit = commits.iter().rev().find(|c| c.1 <= finished).or(commits.first());
                    events.push(Event::Deployment(Deployment {
                        event_id: format!("{project}-d-{env}-{d}-{k}"),
                        project: project.clone(),
                        environment: env.into(),
                        status,
                        version: format!("1.{d}.{k}"),
                        commit_sha: commit.map(|c| c.0.clone()).unwrap_or_default(),
                        commit_time: commit.map(|c| c.1),
                        started_at: Some(finished - TimeDelta::seconds(120)),
                        finished_at: finished,
                        pipeline_id: format!("pl-{d}-{k}"),
                        source: Source::DevOpsTrack,
                        rollback: false,
                    }));
                }
            }
            for j in 0..20 {
                let finished = day + TimeDelta::seconds(rng.below(86_400));
                let status = match rng.below(100) {
                    0..=4 => JobRunStatus::Failed,
                    5..=6 => JobRunStatus::Cancelled,
                    7 => JobRunStatus::TimedOut,
                    _ => JobRunStatus::Succeeded,
                };
                let started = finished - TimeDelta::seconds(30 + rng.below(870));
                events.push(Event::JobRun(JobRun {
                    event_id: format!("{project}-j-{d}-{j}"),
                    project: project.clone(),
                    environment: if j % 4 == 0 { "staging".into() } else { String::new() },
                    pipeline_id: format!("pl-{d}-{}", j / 5),
                    job_id: format!("job-{j}"),
                    job_name: ["build", "test", "lint", "deploy"][j % 4].into(),
                    status,
                    source: Source::Github,
                    attempt: 1,
                    queued_at: Some(started - TimeDelta::seconds(5)),
                    started_at: started,
                    finished_at: finished,
                }));
            }
            if rng.below(14) == 0 {
                let opened = day + TimeDelta::seconds(rng.below(86_400));
                let resolved = opened + TimeDelta::seconds(3_600 + rng.below(5 * 3_600));
                for (suffix, resolved_at) in [("open", None), ("resolve", Some(resolved))] {
                    events.push(Event::Incident(Incident {
                        event_id: format!("{project}-i-{d}-{suffix}"),
                        project: project.clone(),
                        environment: "production".into(),
                        incident_id: format!("pagerduty:{project}-{d}"),
                        title: "error rate above SLO".into(),
                        opened_at: opened,
                        resolved_at,
                        url: String::new(),
                    }));
                }
            }
        }
    }
    events
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

async fn open(dir: &tempfile::TempDir, name: &str) -> Arc<dyn MetricsStore> {
    let url = format!("sqlite://{}/{name}.db", dir.path().display());
    Arc::new(SqliteStore::connect(&url).await.expect("open the bench store"))
}

fn app(store: Arc<dyn MetricsStore>, now: DateTime<Utc>) -> Arc<MetricsApp> {
    Arc::new(MetricsApp::new(
        store,
        &AppSettings::default(),
        Arc::new(move || now),
        &MetricsRegistry::new(),
    ))
}

fn principal(role: Role) -> Principal {
    Principal {
        subject: "bench".into(),
        role,
        name: "bench".into(),
        token_id: "bench".into(),
        expires_at: i64::MAX,
    }
}

/// Copies what is still only in the write-ahead log into the database file (`PRAGMA wal_checkpoint(TRUNCATE)` on a
/// connection of its own), so an ingest figure includes all of the write and none of it is left for later; returns
/// the database file's size.
async fn checkpoint(dir: &tempfile::TempDir, name: &str) -> u64 {
    use sqlx::Connection;
    let path = dir.path().join(format!("{name}.db"));
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open a checkpoint connection");
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut conn)
        .await
        .expect("checkpoint");
    assert_eq!(busy, 0, "the checkpoint completed");
    conn.close().await.expect("close");
    std::fs::metadata(&path).map(|m| m.len()).unwrap_or_default()
}

/// Ingest through `store.append`, timed until the write-ahead log is checkpointed into the database file.
async fn ingest_raw(
    store: &Arc<dyn MetricsStore>,
    events: &[Event],
    dir: &tempfile::TempDir,
    name: &str,
) -> (f64, u64) {
    let started = Instant::now();
    for batch in events.chunks(5_000) {
        store.append(batch).await.expect("append");
    }
    let size = checkpoint(dir, name).await;
    (rate(events.len(), started.elapsed()), size)
}

/// Ingest through `app.record` by `senders` concurrent callers, 1,000 events a call, each call answered once its
/// events are committed; timed until the write-ahead log is checkpointed. Returns points/s and how many calls were
/// refused (queue full) and sent again.
async fn ingest_recorded(
    app: &Arc<MetricsApp>,
    events: &[Event],
    senders: usize,
    dir: &tempfile::TempDir,
    name: &str,
) -> (f64, usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let stop = CancellationToken::new();
    let writer = app.start_writer(stop.clone());
    let calls: Arc<Vec<Vec<Event>>> = Arc::new(events.chunks(1_000).map(<[Event]>::to_vec).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let (app, calls, next) = (app.clone(), calls.clone(), next.clone());
            tokio::spawn(async move {
                let service = principal(Role::Service);
                let mut refused = 0;
                while let Some(call) = calls.get(next.fetch_add(1, Ordering::Relaxed)) {
                    loop {
                        match app.record(&service, call.clone()).await {
                            Ok(_) => break,
                            Err(Error::Unavailable(_)) => {
                                refused += 1;
                                tokio::time::sleep(Duration::from_millis(2)).await;
                            }
                            Err(e) => panic!("record: {e}"),
                        }
                    }
                }
                refused
            })
        })
        .collect();
    let mut refused = 0;
    for task in tasks {
        refused += task.await.expect("a sender");
    }
    stop.cancel();
    writer.await.expect("the writer ends once the queue is written");
    checkpoint(dir, name).await;
    (rate(events.len(), started.elapsed()), refused)
}

async fn time_calls<F, Fut>(mut call: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    call().await; // warm the page cache and the statement cache
    let mut samples = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        call().await;
        samples.push(started.elapsed());
    }
    percentiles(samples)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let now = DateTime::from_timestamp(1_767_225_600, 0).expect("2026-01-01");
    let built = Instant::now();
    let events = dataset(now);
    println!(
        "dataset: {} events ({PROJECTS} projects × {DAYS} days) built in {:.1?}",
        events.len(),
        built.elapsed()
    );
    // Live events arrive roughly in time order; ingest them so.
    let mut events = events;
    events.sort_by_key(Event::time);
    let dir = tempfile::tempdir().expect("temp dir");

    let raw = open(&dir, "raw").await;
    let cpu = cpu_time();
    let (raw_rate, size) = ingest_raw(&raw, &events, &dir, "raw").await;
    println!(
        "ingest, store.append in batches of 5,000, checkpointed: {raw_rate:>10.0} points/s ({}; database {:.0} MiB)",
        cpu_since(cpu),
        size as f64 / (1024.0 * 1024.0)
    );

    for senders in [1, SENDERS] {
        let name = format!("recorded-{senders}");
        let recording_app = app(open(&dir, &name).await, now);
        let cpu = cpu_time();
        let (recorded_rate, refused) = ingest_recorded(&recording_app, &events, senders, &dir, &name).await;
        println!(
            "ingest, app.record (1,000/call, {senders} sender(s), answered on commit): {recorded_rate:>10.0} points/s ({}; {refused} calls refused while the queue was full, retried)",
            cpu_since(cpu)
        );
    }
    println!(
        "machine load while measuring: {}",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );

    let app = app(raw, now);
    let viewer = principal(Role::Viewer);
    let cases: [(&str, Option<&str>, TimeDelta); 3] = [
        ("GetDora, 30 days, all 50 projects", None, TimeDelta::days(30)),
        ("GetDora, 30 days, one project", Some("project-07"), TimeDelta::days(30)),
        ("GetDora, 365 days, all 50 projects", None, TimeDelta::days(365)),
    ];
    for (name, project, span) in cases {
        let query = DoraQuery {
            project: project.map(str::to_owned),
            environment: None,
            from: Some(now - span),
            to: Some(now),
        };
        let cpu = cpu_time();
        let (p50, p99) = time_calls(|| async {
            let answer = app.dora(&viewer, query.clone()).await.expect("GetDora");
            assert!(answer.report.overall.deployment_frequency.deployments > 0);
        })
        .await;
        let per_call = cpu_since(cpu);
        println!(
            "{name:<40} p50 {:>8.1} ms   p99 {:>8.1} ms   ({per_call} for {} calls)",
            ms(p50),
            ms(p99),
            CALLS + 1
        );
    }
    let (p50, p99) = time_calls(|| async {
        let overview = app.overview(&viewer, None, 30).await.expect("GetOverview");
        assert_eq!(overview.environments.len(), 3);
    })
    .await;
    println!(
        "{:<40} p50 {:>8.1} ms   p99 {:>8.1} ms",
        "GetOverview, 30 days, all projects",
        ms(p50),
        ms(p99)
    );
}

/// CPU time this process has used (user + system, from `/proc/self/stat`; `None` elsewhere). Printed beside wall
/// times because a shared machine's load inflates those: CPU time shows what the work itself costs.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10)) // USER_HZ is 100 on Linux
}

fn cpu_since(start: Option<Duration>) -> String {
    match (start, cpu_time()) {
        (Some(a), Some(b)) => format!("{:.2?} CPU", b.saturating_sub(a)),
        _ => "CPU n/a".into(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}
