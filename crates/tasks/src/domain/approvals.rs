//! Approval gates: which jobs wait for an approval, who may approve or reject them, and what an approval releases.
//!
//! Two gates exist, and they add up:
//! - **the environment's**: a deploy (a run with a target) to an environment that is `protected` or of the
//!   `production` tier holds *every* job of its last stage (the deploy stage) in `waiting_approval`, whatever the
//!   spec says. It is one gate for the stage: the first approval of any job of that stage records the approval on
//!   every job it alone held, and they are queued together.
//! - **the job's own**: a job with `requires_approval` waits for an approval of *that job*, in any run. In the deploy
//!   stage of a gated environment it waits for its own approval even after another job's approval opened the stage
//!   (approving it also opens the stage).
//!
//! Who: an operator approves non-production deploys, an admin any; a viewer or a service never. Four eyes: for a
//! deploy to a protected or production environment the approver is not who triggered the run (a rejection may come
//! from anyone allowed to approve, the trigger-er included: stopping is always safe).
//!
//! Retries: a retry the job's own policy makes (a failed attempt with attempts left) or a lost lease does not ask
//! again, the approval covered the job as specified; a manual [`Pipeline::retry_job`] is a new decision and waits for
//! a new approval. Runs tracked from GitHub are never gated (their source runs them) and refuse approvals.

use chrono::{DateTime, Utc};
use devopstrack_platform::auth::Role;

use super::meta::{Actor, JobId, Tier, environment_gates};
use super::pipeline::{Effect, Pipeline, TransitionError};
use super::state::JobStatus;

type Fx = Result<Vec<Effect>, TransitionError>;

impl Pipeline {
    /// Whether stage `s` is held by the environment's gate (the last stage of a gated deploy).
    pub fn stage_gated_by_environment(&self, s: usize) -> bool {
        s + 1 == self.stages.len() && environment_gates(&self.meta)
    }

    /// Lets a job waiting for approval be queued, recording who approved and when. In the stage the environment
    /// gates, it also releases every waiting job held by that gate alone (not those with their own
    /// `requires_approval`). Roles and four eyes: see the module docs.
    pub fn approve(&mut self, job: JobId, by: &Actor, now: DateTime<Utc>) -> Fx {
        self.refuse_tracked("approve its jobs")?;
        let at = self.waiting(job, "approve")?;
        self.check_approver(by, true)?;
        let mut fx = Vec::new();
        self.release(at, by, now, &mut fx);
        if self.stage_gated_by_environment(at.0) {
            for j in 0..self.stages[at.0].jobs.len() {
                let other = &self.stages[at.0].jobs[j];
                if other.status == JobStatus::WaitingApproval && !other.spec.requires_approval {
                    self.release((at.0, j), by, now, &mut fx);
                }
            }
        }
        self.settle(now, &mut fx);
        Ok(fx)
    }

    /// Approves the environment's gate of a run just created, before its deploy stage starts: the gateway's chat
    /// (tasks `CreateRun` with `asked_by`) records here that `by` approved the deploy that the run's trigger-er asked
    /// for. Same roles and four eyes as [`Pipeline::approve`]. Jobs the gate alone holds are released now when the
    /// stage is already waiting, or carry the approval until it starts ([`Pipeline::requeue`] honours it once); a job
    /// with its own `requires_approval` still waits for its own approval. A run the environment does not gate has
    /// nothing to approve ([`TransitionError::NoGate`]).
    pub fn pre_approve(&mut self, by: &Actor, now: DateTime<Utc>) -> Fx {
        self.refuse_tracked("approve its jobs")?;
        let last = self.stages.len() - 1;
        if !self.stage_gated_by_environment(last) {
            return Err(TransitionError::NoGate);
        }
        self.check_approver(by, true)?;
        let mut fx = Vec::new();
        for j in 0..self.stages[last].jobs.len() {
            let job = &mut self.stages[last].jobs[j];
            if job.spec.requires_approval {
                continue;
            }
            match job.status {
                JobStatus::WaitingApproval => self.release((last, j), by, now, &mut fx),
                JobStatus::Pending => {
                    job.approved_by = Some(by.subject.clone());
                    job.approved_at = Some(now);
                }
                _ => {}
            }
        }
        self.settle(now, &mut fx);
        Ok(fx)
    }

    /// Refuses a job waiting for approval (same roles as [`Pipeline::approve`], the trigger-er included): the job
    /// fails with the reason and so does the pipeline; every job that has not started (the rest of a gated stage
    /// included) is cancelled and never runs.
    pub fn reject(&mut self, job: JobId, by: &Actor, reason: &str, now: DateTime<Utc>) -> Fx {
        self.refuse_tracked("reject its jobs")?;
        let at = self.waiting(job, "reject")?;
        self.check_approver(by, false)?;
        let mut fx = Vec::new();
        let j = &mut self.stages[at.0].jobs[at.1];
        j.rejected_by = Some(by.subject.clone());
        j.exit_reason = Some(format!("rejected by {}: {reason}", by.subject));
        j.finished_at = Some(now);
        let name = j.spec.name.clone();
        self.set_job_status(at, JobStatus::Failed, &mut fx);
        self.fail(&format!("pipeline failed: job {name} rejected"), now, &mut fx);
        Ok(fx)
    }

    fn release(&mut self, at: (usize, usize), by: &Actor, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        let j = &mut self.stages[at.0].jobs[at.1];
        j.approved_by = Some(by.subject.clone());
        j.approved_at = Some(now);
        let (job, attempt) = (j.id, j.attempt);
        self.set_job_status(at, JobStatus::Queued, fx);
        fx.push(Effect::Enqueue { job, attempt });
    }

    fn waiting(&self, job: JobId, action: &'static str) -> Result<(usize, usize), TransitionError> {
        if self.status.is_terminal() {
            return Err(TransitionError::PipelineState {
                status: self.status,
                action,
            });
        }
        let at = self.locate(job)?;
        let status = self.stages[at.0].jobs[at.1].status;
        if status != JobStatus::WaitingApproval {
            return Err(TransitionError::JobState { job, status, action });
        }
        Ok(at)
    }

    fn check_approver(&self, by: &Actor, approving: bool) -> Result<(), TransitionError> {
        let target = self.meta.target.as_ref();
        let production = target.is_some_and(|t| t.tier == Tier::Production);
        let four_eyes = target.is_some_and(|t| t.protected || t.tier == Tier::Production);
        match by.role {
            Role::Admin => {}
            Role::Operator if !production => {}
            Role::Operator => return Err(TransitionError::Denied("only an admin approves a production deploy")),
            Role::Viewer | Role::Service => {
                return Err(TransitionError::Denied("approving needs the operator or admin role"));
            }
        }
        if approving && four_eyes && by.subject == self.meta.triggered_by {
            return Err(TransitionError::Denied(
                "four eyes: a deploy to a protected or production environment needs an approver other than who \
                 triggered it",
            ));
        }
        Ok(())
    }
}
