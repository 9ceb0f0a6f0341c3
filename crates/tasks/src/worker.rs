//! Workers: each leases one job attempt at a time from the queue, starts it (compare-and-set), runs its executor
//! while renewing the lease and watching for a stop request, and reports the outcome. Deliveries are at least once;
//! the pipeline's compare-and-set makes each attempt start and finish exactly once:
//!
//! - a delivery whose attempt is no longer current (cancelled, duplicated, already done) is acked and dropped;
//! - a redelivery of an attempt still marked running means its worker's lease lapsed (it was killed): the attempt
//!   is reported lost (`lease_lapsed`) and a new attempt is queued;
//! - a worker that loses its lease (it could not renew in time) stops the executor and reports nothing: the new
//!   holder of the delivery decides.
//!
//! Shutdown: on the token, workers stop leasing; running jobs get `grace` to finish, then their executors are
//! cancelled and their deliveries handed back to the queue (run again elsewhere as a new attempt).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use prost::Message;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use devopstrack_proto::tasks::v1 as pb;

use crate::app::TasksApp;
use crate::convert;
use crate::domain::{JobId, JobStatus, Outcome, Pipeline};
use crate::error::Error;
use crate::executor::{Executors, LogSink, RunContext};
use crate::store::{Delivery, NewEvent};

/// How long one lease call waits for work before checking for shutdown again.
const LEASE_WAIT: Duration = Duration::from_secs(1);
/// Log lines are written in batches of at most this many, or every [`LOG_FLUSH`].
const LOG_BATCH: usize = 200;
const LOG_FLUSH: Duration = Duration::from_millis(50);
/// How many times a finish that lost its compare-and-set (`CAS_ATTEMPTS` each) is tried again.
const FINISH_ATTEMPTS: usize = 20;

#[derive(Clone)]
pub struct WorkerSettings {
    /// Unique per process (host and pid); each worker appends its index.
    pub name: String,
    pub count: u32,
    pub lease: Duration,
    pub grace: Duration,
}

/// Runs `settings.count` workers until `shutdown`, then waits for them (at most the grace period plus a lease).
pub async fn run(app: Arc<TasksApp>, executors: Arc<Executors>, settings: WorkerSettings, shutdown: CancellationToken) {
    let mut workers = JoinSet::new();
    for i in 0..settings.count {
        let worker = Worker {
            app: app.clone(),
            executors: executors.clone(),
            name: format!("{}-{i}", settings.name),
            lease: settings.lease,
            grace: settings.grace,
        };
        workers.spawn(worker.run(shutdown.clone()));
    }
    tracing::info!(workers = settings.count, name = %settings.name, "workers started");
    while workers.join_next().await.is_some() {}
    tracing::info!("workers stopped");
}

/// A name for this process's workers: host name and pid.
pub fn process_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

struct Worker {
    app: Arc<TasksApp>,
    executors: Arc<Executors>,
    name: String,
    lease: Duration,
    grace: Duration,
}

impl Worker {
    async fn run(self, shutdown: CancellationToken) {
        let store = self.app.store().clone();
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            let leased = tokio::select! {
                () = shutdown.cancelled() => break,
                leased = store.lease(&self.name, 1, self.lease, LEASE_WAIT) => leased,
            };
            match leased {
                Ok(deliveries) => {
                    failures = 0;
                    for delivery in deliveries {
                        self.handle(delivery, &shutdown).await;
                    }
                }
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(worker = %self.name, error = %e, failures, "leasing failed; retrying");
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
    }

    async fn handle(&self, delivery: Delivery, shutdown: &CancellationToken) {
        let store = self.app.store();
        if delivery.deliveries > 1 && !self.reclaim(&delivery).await {
            return;
        }
        let pipeline = match self
            .app
            .start_job(delivery.pipeline, delivery.job, delivery.attempt, &self.name)
            .await
        {
            Ok(p) => p,
            Err(Error::NotYet(_)) => {
                // Delivered before its backoff elapsed (clock skew between processes): try again shortly.
                tokio::time::sleep(Duration::from_millis(200)).await;
                let _ = store.release(&self.name, &delivery).await;
                return;
            }
            Err(Error::Aborted(_) | Error::FailedPrecondition(_) | Error::NotFound(_)) => {
                return self.ack(&delivery).await;
            }
            Err(e @ Error::Contention(_)) => {
                tracing::debug!(error = %e, "starting a job lost to concurrent changes; handing it back");
                let _ = store.release(&self.name, &delivery).await;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "starting a job failed; handing it back");
                let _ = store.release(&self.name, &delivery).await;
                return;
            }
        };
        self.execute(pipeline, delivery, shutdown).await;
    }

    /// A redelivery: if its attempt is still marked running, the previous holder's lease lapsed (it was killed or
    /// cut off). Records the lost attempt (a new one is queued) and acks. Returns whether to go on and start it
    /// (it was queued and never started: its first holder died before starting it).
    async fn reclaim(&self, delivery: &Delivery) -> bool {
        let stored = match self.app.store().pipeline(delivery.pipeline).await {
            Ok(Some(stored)) => stored.pipeline,
            Ok(None) => {
                self.ack(delivery).await;
                return false;
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading a delivered pipeline failed; the delivery will come back");
                return false;
            }
        };
        let running = stored
            .stages
            .iter()
            .flat_map(|s| &s.jobs)
            .any(|j| j.id == delivery.job && j.status == JobStatus::Running && j.attempt == delivery.attempt);
        if !running {
            return true;
        }
        tracing::warn!(job_id = %delivery.job, attempt = delivery.attempt, "lease lapsed; running the job again");
        match self
            .app
            .lease_lapsed(delivery.pipeline, delivery.job, delivery.attempt)
            .await
        {
            Ok(_) | Err(Error::Aborted(_) | Error::FailedPrecondition(_) | Error::NotFound(_)) => {
                self.ack(delivery).await;
            }
            Err(e) => tracing::warn!(error = %e, "recording a lapsed lease failed; the delivery will come back"),
        }
        false
    }

    async fn execute(&self, pipeline: Pipeline, delivery: Delivery, shutdown: &CancellationToken) {
        let store = self.app.store().clone();
        let Some((stage, job)) = pipeline.stages.iter().find_map(|s| {
            s.jobs
                .iter()
                .find(|j| j.id == delivery.job)
                .map(|j| (s.name.as_str(), j))
        }) else {
            return self.ack(&delivery).await;
        };
        let cancel = CancellationToken::new();
        let (tx, rx) = mpsc::channel(1024);
        let context = RunContext {
            pipeline: pipeline.id,
            job: job.id,
            job_name: job.spec.name.as_str().to_owned(),
            attempt: delivery.attempt,
            project: pipeline.meta.project.clone(),
            environment: pipeline.meta.target.as_ref().map(|t| t.environment.clone()),
            version: pipeline.meta.target.as_ref().map(|t| t.version.clone()),
            cancel: cancel.clone(),
            log: LogSink::new(tx),
        };
        let timeout = Duration::from_secs(job.spec.timeout_s.into());
        let spec = job.spec.executor.clone();
        let stage = stage.to_owned();
        let logs = tokio::spawn(pump_logs(
            store.clone(),
            pipeline,
            stage,
            delivery.job,
            delivery.attempt,
            rx,
        ));

        let ended = {
            let run = async {
                match tokio::time::timeout(timeout, self.executors.run(&spec, &context)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Outcome::TimedOut,
                }
            };
            tokio::pin!(run);
            let mut renew = tokio::time::interval(self.lease / 3);
            renew.tick().await;
            let grace_over = async {
                shutdown.cancelled().await;
                tokio::time::sleep(self.grace).await;
            };
            tokio::pin!(grace_over);
            let mut stopping = false;
            loop {
                tokio::select! {
                    outcome = &mut run => break Ended::Outcome(outcome),
                    _ = renew.tick() => {
                        match store.renew(&self.name, &delivery, self.lease).await {
                            Ok(true) => {}
                            Ok(false) => { cancel.cancel(); break Ended::LeaseLost; }
                            Err(e) => tracing::warn!(error = %e, "renewing a lease failed; trying again"),
                        }
                        if !stopping && store.stop_requested(delivery.job, delivery.attempt).await.unwrap_or(false) {
                            stopping = true;
                            cancel.cancel();
                        }
                    }
                    () = &mut grace_over => { cancel.cancel(); break Ended::HandBack; }
                }
            }
        };
        drop(context);
        // Lines already produced are written before the outcome, so a finished job's log is complete.
        let _ = logs.await;
        match ended {
            Ended::Outcome(outcome) => self.finish(&delivery, outcome).await,
            Ended::LeaseLost => {
                tracing::warn!(job_id = %delivery.job, attempt = delivery.attempt, "lost the lease; stopped the job");
            }
            Ended::HandBack => {
                tracing::info!(job_id = %delivery.job, "shutting down: handing the job back to the queue");
                if let Err(e) = store.release(&self.name, &delivery).await {
                    tracing::warn!(error = %e, "handing a job back failed; its lease will lapse instead");
                }
            }
        }
    }

    /// Records the outcome, retrying while it loses to concurrent changes of the same pipeline (its sibling jobs
    /// finishing), then acks. On a store failure the delivery is left leased: it lapses and the attempt runs again.
    async fn finish(&self, delivery: &Delivery, outcome: Outcome) {
        let mut pause = Duration::from_millis(5);
        for _ in 0..FINISH_ATTEMPTS {
            match self
                .app
                .finish_job(delivery.pipeline, delivery.job, delivery.attempt, outcome.clone())
                .await
            {
                Ok(_) | Err(Error::Aborted(_) | Error::FailedPrecondition(_) | Error::NotFound(_)) => {
                    return self.ack(delivery).await;
                }
                Err(Error::Contention(_)) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Err(e) => {
                    tracing::error!(error = %e, job_id = %delivery.job, "recording a job's outcome failed");
                    return;
                }
            }
        }
        tracing::error!(job_id = %delivery.job, "recording a job's outcome kept losing to concurrent changes");
    }

    async fn ack(&self, delivery: &Delivery) {
        if let Err(e) = self.app.store().ack(delivery).await {
            tracing::warn!(error = %e, "acking a delivery failed; it may come back (and be dropped then)");
        }
    }
}

enum Ended {
    Outcome(Outcome),
    LeaseLost,
    HandBack,
}

/// Writes the executor's lines to the job log and the event stream in batches, until the executor drops its sink.
/// The proto snapshots the log events carry are built on the first line, so a job that logs nothing costs nothing.
async fn pump_logs(
    store: Arc<dyn crate::store::TaskStore>,
    pipeline: Pipeline,
    stage: String,
    job_id: JobId,
    attempt: u32,
    mut rx: mpsc::Receiver<String>,
) {
    let Some(first) = rx.recv().await else { return };
    let header = convert::pipeline_header(&pipeline);
    let Some(job) = pipeline.stages.iter().flat_map(|s| &s.jobs).find(|j| j.id == job_id) else {
        return;
    };
    let job = convert::job(&pipeline, &stage, job);
    let mut offset = 0u64;
    let mut batch = vec![first];
    loop {
        let deadline = tokio::time::Instant::now() + LOG_FLUSH;
        while batch.len() < LOG_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(line)) => batch.push(line),
                Ok(None) | Err(_) => break,
            }
        }
        let lines = std::mem::take(&mut batch);
        if let Err(e) = store.append_log(job_id, attempt, offset, &lines).await {
            tracing::warn!(error = %e, "writing job log lines failed; they are lost");
        }
        let event = pb::Event {
            r#type: pb::EventType::JobLog.into(),
            at: Some(convert::timestamp(Utc::now())),
            pipeline: Some(header.clone()),
            job: Some(job.clone()),
            log_offset: offset,
            log_lines: lines,
            ..Default::default()
        };
        offset += event.log_lines.len() as u64;
        let event = NewEvent {
            project: pipeline.meta.project.clone(),
            pipeline: pipeline.id,
            payload: event.encode_to_vec(),
        };
        if let Err(e) = store.append_events(&[event]).await {
            tracing::warn!(error = %e, "publishing job log lines failed");
        }
        match rx.recv().await {
            Some(line) => batch.push(line),
            None => return,
        }
    }
}
