//! The in-memory model of one pipeline run and the rules that keep it consistent. Every transition (in
//! `transitions.rs`) takes `now`, changes nothing when it fails, and returns the [`Effect`]s the caller must carry out:
//! queue operations and one [`Effect::Event`] per status change, the single source of the event stream.
//!
//! Rules: stages run in order and the jobs of the active stage in parallel. When every job of the active stage is
//! terminal and none failed without `allow_failure`, the next stage's jobs are queued (or wait for approval); after the
//! last stage the pipeline succeeds. A final failure without `allow_failure` fails the pipeline at once and cancels
//! every job that has not started; running siblings are left to finish and their outcome is recorded.

use chrono::{DateTime, TimeDelta, Utc};

use super::meta::{DefinitionRef, JobId, PipelineId, PipelineMeta, environment_gates};
use super::spec::{JobSpec, Name, PipelineSpec};
use super::state::{JobStatus, PipelineStatus};

/// One job of a run. Fields are public for reading; change them only through [`Pipeline`]'s transitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub spec: JobSpec,
    /// Starts in `waiting_approval` whenever its stage begins or it is retried by hand (see `approvals.rs`).
    pub gated: bool,
    pub status: JobStatus,
    /// 1-based; a new attempt each time it is retried.
    pub attempt: u32,
    /// A queued retry is not started before this time.
    pub not_before: Option<DateTime<Utc>>,
    pub worker: Option<String>,
    /// Set by a cancel while it runs: its finish is recorded as `cancelled`.
    pub cancel_requested: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub exit_reason: Option<String>,
    pub approved_by: Option<String>,
    /// When the approval that queued the current attempt was recorded.
    pub approved_at: Option<DateTime<Utc>>,
    pub rejected_by: Option<String>,
    /// How many attempts ended because their worker's lease lapsed (see [`Pipeline::lease_lapsed`]).
    pub lease_losses: u32,
}

impl Job {
    /// When a running attempt times out: `started_at + timeout_s`.
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        let started = self.started_at.filter(|_| self.status == JobStatus::Running)?;
        Some(started + TimeDelta::seconds(self.spec.timeout_s.into()))
    }

    /// Terminal and not holding its stage back.
    fn is_ok(&self) -> bool {
        self.status == JobStatus::Succeeded || (self.status.is_terminal() && self.spec.allow_failure)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: Name,
    pub jobs: Vec<Job>,
}

/// A status change, for the event stream. The app turns it into a proto `Event` with a snapshot of the pipeline (and
/// job) after the transition.
#[derive(Debug, Clone, PartialEq)]
pub enum StateChange {
    Pipeline {
        from: PipelineStatus,
        to: PipelineStatus,
    },
    Job {
        job: JobId,
        attempt: u32,
        from: JobStatus,
        to: JobStatus,
    },
}

/// What the caller must do after a transition, in order, once the new state is stored (compare-and-set).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Put the job's attempt on the queue now.
    Enqueue {
        job: JobId,
        attempt: u32,
    },
    /// Put the job's new attempt on the queue, to be delivered at `at`.
    Retry {
        job: JobId,
        attempt: u32,
        at: DateTime<Utc>,
    },
    /// The job was queued but is cancelled: drop it from the queue (a late delivery is refused by `start_job` anyway).
    CancelQueued {
        job: JobId,
    },
    /// Tell the worker running this attempt to stop; it will report a finish, recorded as `cancelled`.
    StopRunning {
        job: JobId,
        attempt: u32,
    },
    Event(StateChange),
}

/// Why a transition was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("job {0} is not part of this pipeline")]
    UnknownJob(JobId),
    /// A duplicate or out-of-date delivery: this attempt is not the one running (or queued) now.
    #[error("job {job} attempt {attempt} is stale")]
    Stale { job: JobId, attempt: u32 },
    #[error("job {job} is {status}: cannot {action}")]
    JobState {
        job: JobId,
        status: JobStatus,
        action: &'static str,
    },
    #[error("job {job} may not start before {not_before}")]
    Backoff { job: JobId, not_before: DateTime<Utc> },
    #[error("job {job} is not in the pipeline's active stage")]
    NotActiveStage { job: JobId },
    #[error("pipeline is {status}: cannot {action}")]
    PipelineState {
        status: PipelineStatus,
        action: &'static str,
    },
    #[error("permission denied: {0}")]
    Denied(&'static str),
    /// A pre-approval ([`Pipeline::pre_approve`]) of a run whose environment does not gate it.
    #[error("the run has no environment gate to approve (not a deploy to a protected or production environment)")]
    NoGate,
    /// The run is tracked from its source (GitHub Actions), which runs it: act there.
    #[error("this pipeline is tracked from GitHub: cannot {action} here; act there")]
    Tracked { action: &'static str },
    /// A tracked run would have more jobs than [`super::external::MAX_EXTERNAL_JOBS`].
    #[error("jobs: a tracked run has at most {max} jobs; it has {have} and this adds {adding}")]
    TooManyJobs { max: usize, have: usize, adding: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub id: PipelineId,
    /// The project's run number (1, 2, 3…), assigned by the store in the create itself; 0 until then.
    pub number: u64,
    /// The definition the run was created from; `None` for a free-form spec (and tracked runs). Set by the app after
    /// [`Pipeline::new`].
    pub definition: Option<DefinitionRef>,
    pub meta: PipelineMeta,
    pub stages: Vec<Stage>,
    pub status: PipelineStatus,
    /// Index into `stages` of the stage running now (or where the pipeline stopped).
    pub active_stage: usize,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<String>,
}

impl Pipeline {
    /// A new run with stage 0's jobs queued, and the effects that enqueue them.
    ///
    /// Gating (see `approvals.rs`): a job with `requires_approval` starts its stage in `waiting_approval`, and so does
    /// every job of the last stage of a deploy to a `protected` or `production` environment; the two add up.
    pub fn new(spec: PipelineSpec, meta: PipelineMeta, now: DateTime<Utc>) -> (Self, Vec<Effect>) {
        let environment_gate = environment_gates(&meta);
        let last = spec.stages().len() - 1;
        let stages = spec
            .stages()
            .iter()
            .enumerate()
            .map(|(i, s)| Stage {
                name: s.name.clone(),
                jobs: s
                    .jobs
                    .iter()
                    .map(|j| Job {
                        id: JobId::new(),
                        gated: j.requires_approval || (environment_gate && i == last),
                        spec: j.clone(),
                        status: JobStatus::Pending,
                        attempt: 1,
                        not_before: None,
                        worker: None,
                        cancel_requested: false,
                        started_at: None,
                        finished_at: None,
                        exit_reason: None,
                        approved_by: None,
                        approved_at: None,
                        rejected_by: None,
                        lease_losses: 0,
                    })
                    .collect(),
            })
            .collect();
        let mut p = Self {
            id: PipelineId::new(),
            number: 0,
            definition: None,
            meta,
            stages,
            status: PipelineStatus::Queued,
            active_stage: 0,
            created_at: now,
            started_at: None,
            finished_at: None,
            cancelled_by: None,
        };
        let mut fx = Vec::new();
        p.activate_stage(0, &mut fx);
        p.refresh_status(&mut fx);
        (p, fx)
    }

    pub fn job(&self, id: JobId) -> Option<&Job> {
        self.jobs().find(|j| j.id == id)
    }

    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.stages.iter().flat_map(|s| &s.jobs)
    }

    /// The job named `job` in stage `stage`.
    pub fn find(&self, stage: &str, job: &str) -> Option<&Job> {
        let stage = self.stages.iter().find(|s| s.name.as_str() == stage)?;
        stage.jobs.iter().find(|j| j.spec.name.as_str() == job)
    }

    /// (stage index, job index) of a job.
    pub(super) fn locate(&self, id: JobId) -> Result<(usize, usize), TransitionError> {
        for (s, stage) in self.stages.iter().enumerate() {
            if let Some(j) = stage.jobs.iter().position(|j| j.id == id) {
                return Ok((s, j));
            }
        }
        Err(TransitionError::UnknownJob(id))
    }

    pub(super) fn set_job_status(&mut self, (s, j): (usize, usize), to: JobStatus, fx: &mut Vec<Effect>) {
        let job = &mut self.stages[s].jobs[j];
        let from = job.status;
        job.status = to;
        fx.push(Effect::Event(StateChange::Job {
            job: job.id,
            attempt: job.attempt,
            from,
            to,
        }));
    }

    pub(super) fn set_status(&mut self, to: PipelineStatus, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let from = self.status;
        if from == to {
            return;
        }
        self.status = to;
        if to.is_terminal() {
            self.finished_at = Some(now);
        }
        fx.push(Effect::Event(StateChange::Pipeline { from, to }));
    }

    /// Puts every pending or cancelled-before-starting job of stage `s` on the queue (or in `waiting_approval`).
    pub(super) fn activate_stage(&mut self, s: usize, fx: &mut Vec<Effect>) {
        self.active_stage = s;
        for j in 0..self.stages[s].jobs.len() {
            let job = &self.stages[s].jobs[j];
            let unrun =
                job.status == JobStatus::Pending || (job.status == JobStatus::Cancelled && job.started_at.is_none());
            if unrun {
                self.requeue((s, j), fx);
            }
        }
    }

    /// Makes the job's current attempt queued (or waiting for approval), clearing what the previous attempt left. The
    /// environment's gate is checked again here, so a pipeline stored before a gate rule changed still waits.
    ///
    /// A pending job approved before its stage started ([`Pipeline::pre_approve`]) is queued with that approval kept:
    /// only its first start honours it (a cancelled or retried job is gated again).
    pub(super) fn requeue(&mut self, at: (usize, usize), fx: &mut Vec<Effect>) {
        let environment_gate = self.stage_gated_by_environment(at.0);
        let job = &mut self.stages[at.0].jobs[at.1];
        let pre_approved = job.status == JobStatus::Pending && !job.spec.requires_approval && job.approved_by.is_some();
        let approval = (job.approved_by.take(), job.approved_at.take());
        job.gated |= environment_gate;
        job.not_before = None;
        job.worker = None;
        job.cancel_requested = false;
        job.started_at = None;
        job.finished_at = None;
        job.exit_reason = None;
        job.approved_by = None;
        job.approved_at = None;
        job.rejected_by = None;
        if pre_approved {
            (job.approved_by, job.approved_at) = approval;
        }
        let (id, attempt, gated) = (job.id, job.attempt, job.gated && !pre_approved);
        if gated {
            self.set_job_status(at, JobStatus::WaitingApproval, fx);
        } else {
            self.set_job_status(at, JobStatus::Queued, fx);
            fx.push(Effect::Enqueue { job: id, attempt });
        }
    }

    /// After a job changed: advance to the next stage, succeed, or recompute the non-terminal status.
    pub(super) fn settle(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        if self.status.is_terminal() {
            return;
        }
        loop {
            let jobs = &self.stages[self.active_stage].jobs;
            if !jobs.iter().all(|j| j.status.is_terminal()) {
                break;
            }
            if !jobs.iter().all(Job::is_ok) {
                let stage = self.stages[self.active_stage].name.clone();
                self.fail(&format!("pipeline failed: stage {stage} failed"), now, fx);
                return;
            }
            if self.active_stage + 1 == self.stages.len() {
                self.set_status(PipelineStatus::Succeeded, now, fx);
                return;
            }
            self.activate_stage(self.active_stage + 1, fx);
        }
        self.refresh_status(fx);
    }

    pub(super) fn refresh_status(&mut self, fx: &mut Vec<Effect>) {
        let stage = &self.stages[self.active_stage];
        let moving = stage
            .jobs
            .iter()
            .any(|j| matches!(j.status, JobStatus::Queued | JobStatus::Running));
        let waiting = stage.jobs.iter().any(|j| j.status == JobStatus::WaitingApproval);
        let to = if !moving && waiting {
            PipelineStatus::WaitingApproval
        } else if self.started_at.is_some() {
            PipelineStatus::Running
        } else {
            PipelineStatus::Queued
        };
        // `now` only matters for terminal statuses, which this never sets.
        self.set_status(to, self.created_at, fx);
    }

    /// Fails the pipeline and cancels every job that has not started.
    pub(super) fn fail(&mut self, reason: &str, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        self.set_status(PipelineStatus::Failed, now, fx);
        self.cancel_unstarted(reason, now, fx);
    }

    pub(super) fn cancel_unstarted(&mut self, reason: &str, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        for s in 0..self.stages.len() {
            for j in 0..self.stages[s].jobs.len() {
                let job = &mut self.stages[s].jobs[j];
                if !job.status.is_unstarted() {
                    continue;
                }
                let was_queued = job.status == JobStatus::Queued;
                job.finished_at = Some(now);
                job.not_before = None;
                job.exit_reason = Some(reason.to_owned());
                let id = job.id;
                self.set_job_status((s, j), JobStatus::Cancelled, fx);
                if was_queued {
                    fx.push(Effect::CancelQueued { job: id });
                }
            }
        }
    }
}
