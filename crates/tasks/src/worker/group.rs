//! One group of deliveries of the same pipeline, from start to acks (see the parent module).

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use devopstrack_peers::Backoff;

use super::lease::Hold;
use super::logs::pump_logs;
use crate::app::{Redelivered, TasksApp};
use crate::domain::{Outcome, Pipeline, PipelineId};
use crate::error::Error;
use crate::executor::{Executors, LogSink, RunContext};
use crate::store::{Delivery, StoredPipeline};

/// How many times a finish that lost its compare-and-set (`CAS_ATTEMPTS` each) is tried again.
const FINISH_ATTEMPTS: usize = 20;
/// The pause after a write lost to concurrent changes of the same pipeline.
const CONTENTION_BACKOFF: Backoff = Backoff::new(Duration::from_millis(5), Duration::from_millis(200));
/// How long a worker that gives a job up (lost lease, shutdown) waits for its cancelled executor to return.
const LAST_WORDS: Duration = Duration::from_millis(250);

pub(super) struct Worker {
    pub(super) app: Arc<TasksApp>,
    pub(super) executors: Arc<Executors>,
    pub(super) name: String,
    pub(super) lease: Duration,
    pub(super) grace: Duration,
}

enum Ended {
    Outcome(Outcome),
    LeaseLost,
    HandBack,
}

impl Worker {
    /// Starts the group, runs what started, records outcomes as they come (those ready together in one write).
    /// `permits` holds one slot per delivery; each is given back when its delivery stops running (or never starts).
    pub(super) async fn run_group(
        self: Arc<Self>,
        group: Vec<Delivery>,
        leased_at: Instant,
        mut permits: Vec<OwnedSemaphorePermit>,
        shutdown: CancellationToken,
    ) {
        let mut start = Vec::with_capacity(group.len());
        for delivery in group {
            if delivery.deliveries > 1 && !self.reclaim(&delivery).await {
                permits.pop();
                continue;
            }
            start.push(delivery);
        }
        let Some(pipeline_id) = start.first().map(|d| d.pipeline) else {
            return;
        };
        let batch = match self.app.start_jobs(pipeline_id, &start, &self.name, None).await {
            Ok(batch) => batch,
            Err(e) => {
                let not_found = matches!(e, Error::NotFound(_));
                if !not_found {
                    tracing::warn!(error = %e, "starting jobs failed; handing them back");
                }
                for delivery in &start {
                    if not_found {
                        self.ack(delivery).await;
                    } else {
                        self.release(delivery).await;
                    }
                }
                return;
            }
        };
        let mut run = Vec::with_capacity(start.len());
        for (delivery, result) in start.into_iter().zip(batch.results) {
            match result {
                Ok(()) => run.push(delivery),
                Err(e) => {
                    self.refused(&delivery, e).await;
                    permits.pop();
                }
            }
        }
        let Some(stored) = batch.stored else { return };
        let snapshot = Arc::new(stored.pipeline.clone());
        let mut known = Some(stored);
        let mut running: FuturesUnordered<_> = run
            .into_iter()
            .map(|d| self.execute(snapshot.clone(), d, leased_at, &shutdown))
            .collect();
        while let Some(first) = running.next().await {
            let mut ready = vec![first];
            while let Some(Some(more)) = running.next().now_or_never() {
                ready.push(more);
            }
            // An attempt whose executor ended no longer runs: its slot goes back before its outcome is written, so
            // the next deliveries are leased while this write is in flight.
            permits.truncate(permits.len().saturating_sub(ready.len()));
            let mut finished = Vec::with_capacity(ready.len());
            for (delivery, ended) in ready {
                match ended {
                    Ended::Outcome(outcome) => finished.push((delivery, outcome)),
                    Ended::LeaseLost => {
                        tracing::warn!(job_id = %delivery.job, attempt = delivery.attempt, "lost the lease; stopped the job");
                    }
                    Ended::HandBack => {
                        tracing::info!(job_id = %delivery.job, "shutting down: handing the job back to the queue");
                        self.release(&delivery).await;
                    }
                }
            }
            if !finished.is_empty() {
                known = self.finish(pipeline_id, &finished, known.take()).await;
            }
        }
    }

    /// A delivery whose start was refused: acked when it can never start, handed back when it may later.
    async fn refused(&self, delivery: &Delivery, e: Error) {
        match e {
            Error::NotYet(_) => {
                // Delivered before its backoff elapsed (clock skew between processes): try again shortly.
                tokio::time::sleep(Duration::from_millis(200)).await;
                self.release(delivery).await;
            }
            Error::Aborted(_) | Error::FailedPrecondition(_) | Error::NotFound(_) => self.ack(delivery).await,
            e => {
                tracing::warn!(error = %e, "starting a job failed; handing it back");
                self.release(delivery).await;
            }
        }
    }

    /// A redelivery: if its attempt is still marked running, the previous holder's lease lapsed (it was killed or
    /// cut off). Records the lost attempt (a new one is queued) and acks. Returns whether to go on and start it
    /// (it was queued and never started: its first holder died before starting it).
    async fn reclaim(&self, delivery: &Delivery) -> bool {
        match self.app.redelivered(delivery).await {
            Ok(Redelivered::NotRunning) => return true,
            Ok(Redelivered::StillRunning) => {}
            Ok(Redelivered::Gone) => {
                self.ack(delivery).await;
                return false;
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading a delivered pipeline failed; the delivery will come back");
                return false;
            }
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

    /// Runs one started attempt to its end, renewing its lease and watching for a stop request or shutdown. A lease
    /// it cannot renew (taken by another worker, or renewals failing or not answering until the next one would be
    /// too late: see [`Hold`]) stops the executor and reports nothing: the delivery is no longer this worker's.
    async fn execute(
        &self,
        pipeline: Arc<Pipeline>,
        delivery: Delivery,
        leased_at: Instant,
        shutdown: &CancellationToken,
    ) -> (Delivery, Ended) {
        let Some((stage, job)) = pipeline.stages.iter().find_map(|s| {
            s.jobs
                .iter()
                .find(|j| j.id == delivery.job)
                .map(|j| (s.name.as_str(), j))
        }) else {
            // Not in the pipeline it started in: cannot happen; report it failed rather than leave it running.
            let outcome = Outcome::Failed {
                reason: "job not found in its pipeline".into(),
            };
            return (delivery, Ended::Outcome(outcome));
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
        let logs = tokio::spawn(pump_logs(
            self.app.clone(),
            pipeline.clone(),
            stage.to_owned(),
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
            let every = self.lease / 3;
            let mut hold = Hold::new(leased_at, self.lease, every);
            let mut renew = tokio::time::interval(every);
            renew.tick().await;
            let grace_over = async {
                shutdown.cancelled().await;
                tokio::time::sleep(self.grace).await;
            };
            tokio::pin!(grace_over);
            let (mut stopping, mut finished) = (false, false);
            let ended = loop {
                tokio::select! {
                    outcome = &mut run => {
                        finished = true;
                        break if hold.lapsed(Instant::now()) { Ended::LeaseLost } else { Ended::Outcome(outcome) };
                    }
                    _ = renew.tick() => {
                        let asked = Instant::now();
                        let renewed = tokio::time::timeout(
                            hold.patience(asked),
                            self.app.renew_lease(&self.name, &delivery, self.lease),
                        );
                        match renewed.await {
                            Ok(Ok(true)) => hold.renewed(asked),
                            Ok(Ok(false)) => break Ended::LeaseLost,
                            Ok(Err(e)) => tracing::warn!(error = %e, "renewing a lease failed"),
                            Err(_) => tracing::warn!("renewing a lease did not answer before it lapsed"),
                        }
                        if hold.must_stop(Instant::now()) {
                            tracing::warn!(job_id = %delivery.job, "cannot renew the lease in time; stopping the job");
                            break Ended::LeaseLost;
                        }
                        if !stopping {
                            let asked = tokio::time::timeout(
                                hold.patience(Instant::now()),
                                self.app.stop_requested(delivery.job, delivery.attempt),
                            );
                            if matches!(asked.await, Ok(Ok(true))) {
                                stopping = true;
                                cancel.cancel();
                            }
                        }
                    }
                    () = &mut grace_over => break Ended::HandBack,
                }
            };
            if !finished {
                cancel.cancel();
                // A cancelled executor returns at once: let it say its last words (and drop its requests) before the
                // job is given up, but never wait for long. Its outcome is not reported.
                let _ = tokio::time::timeout(LAST_WORDS, &mut run).await;
            }
            ended
        };
        drop(context);
        // Lines already produced are written before the outcome, so a finished job's log is complete.
        let _ = logs.await;
        (delivery, ended)
    }

    /// Records the outcomes in one write that acks their deliveries, retrying while it loses to concurrent changes
    /// of the same pipeline. On a store failure the deliveries are left leased: they lapse and the attempts run
    /// again. Returns the pipeline as written, to start the next write from.
    async fn finish(
        &self,
        pipeline: PipelineId,
        finished: &[(Delivery, Outcome)],
        mut known: Option<StoredPipeline>,
    ) -> Option<StoredPipeline> {
        let mut pauses = CONTENTION_BACKOFF.delays();
        for _ in 0..FINISH_ATTEMPTS {
            match self.app.finish_jobs(pipeline, finished, known.take()).await {
                Ok(batch) => {
                    if batch.stored.is_none() {
                        // Nothing applied (all stale), so nothing was written: ack them here.
                        for (delivery, _) in finished {
                            self.ack(delivery).await;
                        }
                    }
                    return batch.stored;
                }
                Err(Error::NotFound(_)) => {
                    for (delivery, _) in finished {
                        self.ack(delivery).await;
                    }
                    return None;
                }
                Err(Error::Contention(_)) => tokio::time::sleep(pauses.next_delay()).await,
                Err(e) => {
                    tracing::error!(error = %e, pipeline_id = %pipeline, "recording job outcomes failed");
                    return None;
                }
            }
        }
        tracing::error!(pipeline_id = %pipeline, "recording job outcomes kept losing to concurrent changes");
        None
    }

    async fn ack(&self, delivery: &Delivery) {
        if let Err(e) = self.app.ack_delivery(delivery).await {
            tracing::warn!(error = %e, "acking a delivery failed; it may come back (and be dropped then)");
        }
    }

    /// Hands the delivery back to the queue; on failure its lease lapses instead (and it comes back then).
    async fn release(&self, delivery: &Delivery) {
        if let Err(e) = self.app.release_delivery(&self.name, delivery).await {
            tracing::warn!(error = %e, "handing a job back failed; its lease will lapse instead");
        }
    }
}
