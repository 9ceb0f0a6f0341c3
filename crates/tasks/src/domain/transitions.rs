//! The transitions of a [`Pipeline`]. Each checks everything first and returns an error without changing anything,
//! or applies the change and returns its effects. Deliveries from the queue carry `(job, attempt)` and are
//! compare-and-set on it, so a duplicate or stale delivery is refused with [`TransitionError::Stale`]. Every one of
//! them refuses a run tracked from GitHub ([`TransitionError::Tracked`]): its source runs it.

use super::meta::JobId;
use super::pipeline::{Effect, Pipeline, TransitionError};
use super::state::{JobStatus, PipelineStatus};
use chrono::{DateTime, Utc};

/// How a running attempt ended, as its worker (or the timeout sweeper) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed { reason: String },
    TimedOut,
}

type Fx = Result<Vec<Effect>, TransitionError>;

/// Attempts lost to lapsed leases that are run again without using the retry budget (see [`Pipeline::lease_lapsed`]).
pub const MAX_LEASE_LOSSES: u32 = 3;

impl Pipeline {
    /// A worker took attempt `attempt` of a queued job: only when it is that attempt, its backoff has elapsed and its
    /// stage is the active one.
    pub fn start_job(&mut self, job: JobId, attempt: u32, worker: &str, now: DateTime<Utc>) -> Fx {
        self.refuse_tracked("run its jobs")?;
        let at = self.locate(job)?;
        let j = &self.stages[at.0].jobs[at.1];
        if j.attempt != attempt || matches!(j.status, JobStatus::Running) || j.status.is_terminal() {
            return Err(TransitionError::Stale { job, attempt });
        }
        if j.status != JobStatus::Queued {
            return Err(TransitionError::JobState {
                job,
                status: j.status,
                action: "start",
            });
        }
        if let Some(not_before) = j.not_before.filter(|t| *t > now) {
            return Err(TransitionError::Backoff { job, not_before });
        }
        if at.0 != self.active_stage {
            return Err(TransitionError::NotActiveStage { job });
        }
        let mut fx = Vec::new();
        let j = &mut self.stages[at.0].jobs[at.1];
        j.worker = Some(worker.to_owned());
        j.started_at = Some(now);
        j.not_before = None;
        self.started_at.get_or_insert(now);
        self.set_job_status(at, JobStatus::Running, &mut fx);
        self.settle(now, &mut fx);
        Ok(fx)
    }

    /// The running attempt `attempt` ended. A failure (or timeout) with attempts left is queued again as the next
    /// attempt after `min(initial * 2^(attempt-1), max)`; a final one fails the pipeline unless `allow_failure`. A
    /// worker whose lease lapsed is reported here as `Failed { reason: "lease expired" }`, so it uses the retry budget.
    pub fn finish_job(&mut self, job: JobId, attempt: u32, outcome: Outcome, now: DateTime<Utc>) -> Fx {
        self.refuse_tracked("run its jobs")?;
        let at = self.locate(job)?;
        let j = &self.stages[at.0].jobs[at.1];
        if j.status != JobStatus::Running || j.attempt != attempt {
            return Err(TransitionError::Stale { job, attempt });
        }
        let mut fx = Vec::new();
        let (to, reason) = match outcome {
            _ if j.cancel_requested => (JobStatus::Cancelled, j.exit_reason.clone()),
            Outcome::Succeeded => (JobStatus::Succeeded, None),
            Outcome::Failed { reason } => (JobStatus::Failed, Some(reason)),
            Outcome::TimedOut => (
                JobStatus::TimedOut,
                Some(format!("timed out after {}s", j.spec.timeout_s)),
            ),
        };
        let failed = matches!(to, JobStatus::Failed | JobStatus::TimedOut);
        if failed && attempt < j.spec.retry.max_attempts() && !self.status.is_terminal() {
            let retry_at = now + j.spec.retry.backoff(attempt);
            let j = &mut self.stages[at.0].jobs[at.1];
            j.attempt += 1;
            j.not_before = Some(retry_at);
            j.worker = None;
            j.started_at = None;
            j.exit_reason = reason;
            self.set_job_status(at, JobStatus::Queued, &mut fx);
            fx.push(Effect::Retry {
                job,
                attempt: attempt + 1,
                at: retry_at,
            });
            return Ok(fx);
        }
        let j = &mut self.stages[at.0].jobs[at.1];
        j.finished_at = Some(now);
        j.exit_reason = reason;
        let fails_pipeline = failed && !j.spec.allow_failure;
        let name = j.spec.name.clone();
        self.set_job_status(at, to, &mut fx);
        if fails_pipeline && !self.status.is_terminal() {
            self.fail(&format!("pipeline failed: job {name} {to}"), now, &mut fx);
        } else {
            self.settle(now, &mut fx);
        }
        Ok(fx)
    }

    /// The worker running `attempt` stopped renewing its lease (killed, partitioned). The job runs again at once as a
    /// new attempt, without using its retry budget, up to [`MAX_LEASE_LOSSES`] times; after that, or when the
    /// attempt was being cancelled, it finishes as `finish_job(Failed { "lease expired" })` (cancelled if asked).
    pub fn lease_lapsed(&mut self, job: JobId, attempt: u32, now: DateTime<Utc>) -> Fx {
        self.refuse_tracked("run its jobs")?;
        let at = self.locate(job)?;
        let j = &self.stages[at.0].jobs[at.1];
        if j.status != JobStatus::Running || j.attempt != attempt {
            return Err(TransitionError::Stale { job, attempt });
        }
        if j.cancel_requested || j.lease_losses >= MAX_LEASE_LOSSES || self.status.is_terminal() {
            let reason = format!(
                "lease expired: worker {} stopped renewing it",
                j.worker.as_deref().unwrap_or("?")
            );
            return self.finish_job(job, attempt, Outcome::Failed { reason }, now);
        }
        let mut fx = Vec::new();
        let j = &mut self.stages[at.0].jobs[at.1];
        let reason = format!(
            "attempt {attempt} lost: worker {} stopped renewing its lease",
            j.worker.as_deref().unwrap_or("?")
        );
        j.lease_losses += 1;
        j.attempt += 1;
        j.not_before = None;
        j.worker = None;
        j.started_at = None;
        j.exit_reason = Some(reason);
        self.set_job_status(at, JobStatus::Queued, &mut fx);
        fx.push(Effect::Enqueue {
            job,
            attempt: attempt + 1,
        });
        Ok(fx)
    }

    /// Cancels the run: queued and waiting jobs at once, running ones are told to stop (their finish records
    /// `cancelled`). Role checks (operator or admin) are the caller's.
    pub fn cancel(&mut self, by: &str, now: DateTime<Utc>) -> Fx {
        self.refuse_tracked("cancel it")?;
        if self.status.is_terminal() {
            return Err(TransitionError::PipelineState {
                status: self.status,
                action: "cancel",
            });
        }
        let mut fx = Vec::new();
        let reason = format!("cancelled by {by}");
        self.cancelled_by = Some(by.to_owned());
        self.set_status(PipelineStatus::Cancelled, now, &mut fx);
        for job in self.stages.iter_mut().flat_map(|s| &mut s.jobs) {
            if job.status == JobStatus::Running {
                job.cancel_requested = true;
                job.exit_reason = Some(reason.clone());
                fx.push(Effect::StopRunning {
                    job: job.id,
                    attempt: job.attempt,
                });
            }
        }
        self.cancel_unstarted(&reason, now, &mut fx);
        Ok(fx)
    }

    /// A new attempt of a failed, timed-out or cancelled job in the stage where a failed pipeline stopped. The
    /// pipeline runs again from that stage: the job and its never-started siblings are queued (or wait for approval
    /// again), later stages go back to pending. A manual retry may exceed `max_attempts`.
    pub fn retry_job(&mut self, job: JobId, now: DateTime<Utc>) -> Fx {
        self.refuse_tracked("retry its jobs")?;
        if self.status != PipelineStatus::Failed {
            return Err(TransitionError::PipelineState {
                status: self.status,
                action: "retry a job",
            });
        }
        let at = self.locate(job)?;
        let j = &self.stages[at.0].jobs[at.1];
        if !matches!(j.status, JobStatus::Failed | JobStatus::TimedOut | JobStatus::Cancelled) {
            return Err(TransitionError::JobState {
                job,
                status: j.status,
                action: "retry",
            });
        }
        if at.0 != self.active_stage {
            return Err(TransitionError::NotActiveStage { job });
        }
        let mut fx = Vec::new();
        self.finished_at = None;
        self.stages[at.0].jobs[at.1].attempt += 1;
        self.requeue(at, &mut fx);
        self.stages[at.0].jobs[at.1].not_before = Some(now);
        self.activate_stage(at.0, &mut fx);
        for s in at.0 + 1..self.stages.len() {
            for j in 0..self.stages[s].jobs.len() {
                if self.stages[s].jobs[j].status != JobStatus::Pending {
                    self.stages[s].jobs[j].finished_at = None;
                    self.stages[s].jobs[j].exit_reason = None;
                    self.set_job_status((s, j), JobStatus::Pending, &mut fx);
                }
            }
        }
        // From failed to running (or waiting_approval): the retried job is queued, so the stage cannot be done.
        self.refresh_status(&mut fx);
        Ok(fx)
    }
}

#[cfg(test)]
mod approval_tests;
#[cfg(test)]
mod gate_tests;
#[cfg(test)]
mod pre_approval_tests;
#[cfg(test)]
mod tests;
