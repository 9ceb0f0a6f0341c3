//! Redis as the tasks store, on a private server (`devopstrack_testkit::redis_private`: append-only file, `everysec`,
//! `noeviction`) that the tests stop, kill and start again while tasks keeps running:
//!
//! - while Redis is down, calls answer UNAVAILABLE quickly and `/readyz` says not ready; once it is back, the same
//!   tasks process answers again without being restarted;
//! - restarted under load, cleanly (SIGTERM) or by `kill -9`, Redis loses no pipeline whose create was answered OK,
//!   and every job of those pipelines still runs to the end;
//! - tasks refuses to start on a Redis without the append-only file or with eviction, naming the override.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use devopstrack_proto::tasks::v1 as pb;
use devopstrack_testkit::PrivateServer;

use crate::helpers::{Backend, Options, PROJECT, TestApp, job, spawn_app_with, stage};

/// A call during the outage must be answered within this (the store's connect and response timeouts are 5 s and
/// 10 s; a refused connection is answered at once).
const OUTAGE_ANSWER_WITHIN: Duration = Duration::from_secs(12);
/// How long tasks may take to serve again once Redis is back (the connection manager reconnects with backoff).
const RECOVERY_WITHIN: Duration = Duration::from_secs(30);

/// The tasks service (with `workers` in-process workers) on a private Redis, or `None` (skipped) without Redis.
async fn tasks_on_private_redis(workers: u32) -> Option<(PrivateServer, TestApp)> {
    let redis = devopstrack_testkit::redis_private().await?;
    let url = redis.url().to_owned();
    let options = Options {
        backend: Backend::Sqlite,
        workers,
        ..Options::default()
    };
    let app = spawn_app_with(options, move |s| {
        s.database_url = url;
        s.key_prefix = "outage:".into();
    })
    .await?;
    Some((redis, app))
}

fn one_job_pipeline(name: &str) -> pb::CreatePipelineRequest {
    pb::CreatePipelineRequest {
        project: PROJECT.into(),
        idempotency_key: name.into(),
        stages: vec![stage("build", vec![job(name, 20, 0.0)])],
        ..Default::default()
    }
}

async fn readyz(app: &TestApp) -> u16 {
    let response = reqwest::get(format!("http://127.0.0.1:{}/readyz", app.admin_port))
        .await
        .expect("the admin port answers");
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_answers_unavailable_quickly_and_tasks_recovers_on_its_own() {
    let Some((mut redis, app)) = tasks_on_private_redis(0).await else {
        return;
    };
    let before = app
        .create(&app.operator, one_job_pipeline("before"))
        .await
        .expect("created");

    redis.stop().await.expect("stop Redis");
    let started = Instant::now();
    let during = app.create(&app.operator, one_job_pipeline("during")).await;
    let create_took = started.elapsed();
    let started = Instant::now();
    let read = app
        .client
        .clone()
        .get_pipeline(crate::helpers::with_token(
            pb::GetPipelineRequest { id: before.id.clone() },
            &app.viewer,
        ))
        .await;
    let read_took = started.elapsed();
    let ready_during = readyz(&app).await;

    assert_eq!(during.unwrap_err().code(), tonic::Code::Unavailable);
    assert!(create_took < OUTAGE_ANSWER_WITHIN, "the create took {create_took:?}");
    assert_eq!(read.unwrap_err().code(), tonic::Code::Unavailable);
    assert!(read_took < OUTAGE_ANSWER_WITHIN, "the read took {read_took:?}");
    assert_eq!(ready_during, 503);

    redis.start().await.expect("start Redis again");
    let deadline = Instant::now() + RECOVERY_WITHIN;
    let after = loop {
        match app.create(&app.operator, one_job_pipeline("after")).await {
            Ok(p) => break p,
            Err(status) => assert!(
                Instant::now() < deadline,
                "tasks did not recover within {RECOVERY_WITHIN:?}: {status:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        app.get(&before.id).await.id,
        before.id,
        "written before the outage, kept"
    );
    assert_eq!(app.get(&after.id).await.id, after.id);
    assert_eq!(readyz(&app).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_restart_of_redis_under_load_loses_no_accepted_pipeline_or_job() {
    restart_under_load(Restart::Clean).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_of_redis_under_load_loses_no_accepted_pipeline_or_job() {
    restart_under_load(Restart::Kill9).await;
}

#[derive(Debug, Clone, Copy)]
enum Restart {
    /// SIGTERM: Redis writes and syncs its append-only file, then exits.
    Clean,
    /// SIGKILL: nothing runs; what survives is what Redis wrote to the append-only file before answering (the
    /// machine keeps running, so what is written but not yet synced is not lost).
    Kill9,
}

/// Senders create one-job pipelines without pause; Redis restarts in the middle; every pipeline whose create was
/// answered OK must exist afterwards and run to the end.
async fn restart_under_load(restart: Restart) {
    const SENDERS: usize = 4;
    let Some((mut redis, app)) = tasks_on_private_redis(4).await else {
        return;
    };
    let app = Arc::new(app);
    let accepted = Arc::new(Mutex::new(BTreeSet::new()));
    let refused = Arc::new(Mutex::new(0usize));
    let stop = tokio_util::sync::CancellationToken::new();
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let (app, accepted, refused, stop) = (app.clone(), accepted.clone(), refused.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.is_cancelled() {
                    n += 1;
                    match app.create(&app.operator, one_job_pipeline(&format!("s{s}-{n}"))).await {
                        Ok(p) => {
                            accepted.lock().unwrap_or_else(PoisonError::into_inner).insert(p.id);
                        }
                        Err(_) => {
                            *refused.lock().unwrap_or_else(PoisonError::into_inner) += 1;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            })
        })
        .collect();
    let count = |set: &Arc<Mutex<BTreeSet<String>>>| set.lock().unwrap_or_else(PoisonError::into_inner).len();
    wait_until(Duration::from_secs(30), || count(&accepted) >= 20).await;

    let before_restart = count(&accepted);
    match restart {
        Restart::Clean => redis.stop().await.expect("stop Redis"),
        Restart::Kill9 => redis.kill_9().await.expect("kill -9 Redis"),
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.start().await.expect("start Redis again");
    wait_until(RECOVERY_WITHIN, || count(&accepted) >= before_restart + 20).await;
    stop.cancel();
    for sender in senders {
        sender.await.expect("a sender");
    }

    let accepted = accepted.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let refused = *refused.lock().unwrap_or_else(PoisonError::into_inner);
    assert!(
        refused > 0,
        "the restart was not noticed: no call was refused ({restart:?})"
    );
    let mut lost = Vec::new();
    for id in &accepted {
        let found = app
            .client
            .clone()
            .get_pipeline(crate::helpers::with_token(
                pb::GetPipelineRequest { id: id.clone() },
                &app.viewer,
            ))
            .await;
        match found {
            Ok(_) => {
                app.wait_status(id, pb::PipelineStatus::Succeeded, Duration::from_secs(120))
                    .await;
            }
            Err(status) => lost.push((id.clone(), status.code())),
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} accepted pipelines lost after a {restart:?} restart: {lost:?}",
        lost.len(),
        accepted.len()
    );
}

async fn wait_until(within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "not reached within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_refuses_a_redis_without_the_append_only_file_naming_the_override() {
    let Some(redis) = devopstrack_testkit::redis_private().await else {
        return;
    };
    let mut conn = ::redis::Client::open(redis.url())
        .expect("a Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the private Redis");
    let _: () = ::redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendonly")
        .arg("no")
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .query_async(&mut conn)
        .await
        .expect("CONFIG SET");
    let settings = devopstrack_tasks::config::Settings {
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        admin_addr: "127.0.0.1:0".parse().unwrap(),
        database_url: redis.url().to_owned(),
        key_prefix: "volatile:".into(),
        ..devopstrack_tasks::config::Settings::default()
    };

    let refused = devopstrack_tasks::startup::Application::build(&settings).await;
    let allowed = devopstrack_tasks::startup::Application::build(&devopstrack_tasks::config::Settings {
        allow_volatile_redis: true,
        ..settings.clone()
    })
    .await;

    let message = format!("{:#}", refused.err().expect("refused to start"));
    assert!(!message.contains('\n'), "one line: {message}");
    for part in [
        "appendonly no",
        "maxmemory-policy allkeys-lru",
        "DEVOPSTRACK_TASKS__ALLOW_VOLATILE_REDIS=true",
    ] {
        assert!(message.contains(part), "{part:?} missing from {message}");
    }
    assert!(allowed.is_ok(), "the override starts it: {:?}", allowed.err());
}
