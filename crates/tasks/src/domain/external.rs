//! Runs tracked from an external CI (GitHub Actions): DevOpsTrack follows them, it never runs them.
//!
//! A tracked run is a [`Pipeline`] with `source: github` and one stage named after the workflow. Its jobs are keyed by
//! their id at the source ([`ExternalJobRef`], kept as the job's executor so it travels with the stored document) and
//! their DevOpsTrack names are slugs of the source's names, numbered when two collide.
//!
//! Deliveries (webhooks) arrive in any order and more than once, so [`Pipeline::merge_external`] is a join: every field
//! moves one way only (a status never goes back; among conflicting final statuses the worse wins: `failed` >
//! `timed_out` > `cancelled` > `succeeded`; earliest start, latest finish), and job names are recomputed from the
//! whole set of jobs sorted by external id. Any order of the same deliveries therefore ends in the same run (see the
//! permutation test), exactly so when the deliveries carry their times (a run said to be running with no start time
//! anywhere is dated when it is processed, a finished one with no finish time at its start). A job's `started_at`
//! counts from a running or final delivery only, its `finished_at` from a final one. The run's status is the given one, else derived from its jobs (`running` once one has
//! started); it turns final only when the source says so, since more jobs may still come. Merging never enqueues:
//! the transitions that would run, cancel, retry or approve a job refuse tracked runs with
//! [`TransitionError::Tracked`]. The run's commit is set by the first delivery that names one and never erased; later
//! ones only add its time (see [`super::CommitRef::merge`]: a run's commit does not change, so deliveries agree).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::executor::ExecutorSpec;
use super::meta::{JobId, PipelineId, PipelineMeta, Source};
use super::pipeline::{Effect, Job, Pipeline, Stage, StateChange, TransitionError};
use super::spec::{DEFAULT_TIMEOUT_S, JobSpec, Name, RetryPolicy};
use super::state::{JobStatus, PipelineStatus};

mod input;

pub use super::external_ref::{ExternalJobRef, MAX_EXTERNAL_ID_CHARS, MAX_EXTERNAL_NAME_CHARS, MAX_EXTERNAL_URL_CHARS};
pub use input::{ExternalJob, ExternalJobInput, ExternalRun, ExternalRunInput};

/// TrackExternalRun as received, the app's input (the run's own fields already in the domain's raw shape).
#[derive(Debug, Clone, Default)]
pub struct TrackExternalRun {
    pub project: String,
    /// Both or neither: the run deployed `version` to `environment` (informative: GitHub records the deployment).
    pub environment: String,
    pub version: String,
    /// Who triggered it at the source (a GitHub login); stored as `github:<login>`.
    pub triggered_by: String,
    /// Optional: the commit the run is for (see [`crate::domain::CommitRef::parse`]); `commit_time` needs
    /// `commit_sha`. A later delivery may add them to a run that has none; one without them erases nothing.
    pub commit_sha: String,
    pub commit_time: Option<DateTime<Utc>>,
    pub run: ExternalRunInput,
}

/// Jobs in one tracked run, in all deliveries together.
pub const MAX_EXTERNAL_JOBS: usize = 200;
/// Longest slug before a `-N` suffix, so that a numbered name still fits [`Name`]'s 63 characters.
const MAX_SLUG_CHARS: usize = 58;

/// A valid [`Name`] from free text: lower-case ASCII letters and digits kept (with `.` and `_`), anything else a `-`,
/// runs of `-` collapsed, at most `max` characters, starting and ending with a letter or digit; `fallback` if nothing
/// is left.
pub fn slug(raw: &str, fallback: &str, max: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(max));
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_') {
            c
        } else {
            '-'
        };
        if out.is_empty() && !c.is_ascii_alphanumeric() || c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
        if out.len() == max {
            break;
        }
    }
    let out = out.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    if out.is_empty() {
        fallback.to_owned()
    } else {
        out.to_owned()
    }
}

/// [`slug`] as a [`Name`] (a slug of at most 58 characters, or with a `-N` suffix, always is one).
fn slug_name(raw: &str, fallback: &'static str) -> Name {
    Name::parse(&slug(raw, fallback, MAX_SLUG_CHARS + 5))
        .or_else(|_| Name::parse(fallback))
        .unwrap_or_else(|e| unreachable!("the fallback is a valid name: {e}"))
}

/// Order of statuses for the join: later wins. Among final statuses the worse outcome is later.
fn job_rank(s: JobStatus) -> u8 {
    match s {
        JobStatus::Pending => 0,
        JobStatus::Queued | JobStatus::WaitingApproval => 1,
        JobStatus::Running => 2,
        JobStatus::Succeeded => 3,
        JobStatus::Cancelled => 4,
        JobStatus::TimedOut => 5,
        JobStatus::Failed => 6,
    }
}

fn pipeline_rank(s: PipelineStatus) -> u8 {
    match s {
        PipelineStatus::Queued => 0,
        PipelineStatus::Running | PipelineStatus::WaitingApproval => 1,
        PipelineStatus::Succeeded => 2,
        PipelineStatus::Cancelled => 3,
        PipelineStatus::Failed => 4,
    }
}

fn later_job(a: JobStatus, b: JobStatus) -> JobStatus {
    if job_rank(b) > job_rank(a) { b } else { a }
}

fn later_pipeline(a: PipelineStatus, b: PipelineStatus) -> PipelineStatus {
    if pipeline_rank(b) > pipeline_rank(a) { b } else { a }
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn latest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    a.max(b)
}

/// Source ids in their natural order (GitHub's are numbers: shorter is smaller), then as text.
fn id_order(job: &Job) -> (usize, &str) {
    match &job.spec.executor {
        ExecutorSpec::External(r) => (r.external_id.len(), r.external_id.as_str()),
        _ => (usize::MAX, ""),
    }
}

impl Pipeline {
    /// Whether DevOpsTrack only follows this run (its source runs it).
    pub fn is_tracked(&self) -> bool {
        !matches!(self.meta.source, Source::DevOpsTrack)
    }

    /// The refusal every transition that would act on a tracked run answers.
    pub(super) fn refuse_tracked(&self, action: &'static str) -> Result<(), TransitionError> {
        if self.is_tracked() {
            Err(TransitionError::Tracked { action })
        } else {
            Ok(())
        }
    }

    /// A new tracked run from its first delivery: one stage named after the workflow, then the delivery merged in.
    /// The effects are events only (a `pipeline.updated` always, so watchers see the run appear).
    pub fn track(
        run: &ExternalRun,
        meta: PipelineMeta,
        now: DateTime<Utc>,
    ) -> Result<(Self, Vec<Effect>), TransitionError> {
        let mut p = Self {
            id: PipelineId::new(),
            number: 0,
            definition: None,
            meta,
            stages: vec![Stage {
                name: slug_name(&run.name, "workflow"),
                jobs: Vec::new(),
            }],
            status: PipelineStatus::Queued,
            active_stage: 0,
            created_at: run.created_at.unwrap_or(now),
            started_at: None,
            finished_at: None,
            cancelled_by: None,
        };
        let mut fx = p.merge_external(run, now)?;
        if !fx
            .iter()
            .any(|e| matches!(e, Effect::Event(StateChange::Pipeline { .. })))
        {
            fx.push(Effect::Event(StateChange::Pipeline {
                from: PipelineStatus::Queued,
                to: p.status,
            }));
        }
        Ok((p, fx))
    }

    /// Merges one delivery into this tracked run (see the module docs for the rules). Events: one per job that was
    /// added or changed, then one for the run when its status or times changed. Never an enqueue.
    pub fn merge_external(&mut self, run: &ExternalRun, now: DateTime<Utc>) -> Result<Vec<Effect>, TransitionError> {
        let Source::Github { external_id, .. } = &self.meta.source else {
            return Err(TransitionError::PipelineState {
                status: self.status,
                action: "merge an external run into a pipeline DevOpsTrack runs",
            });
        };
        if *external_id != run.external_id {
            return Err(TransitionError::Denied("the delivery is for another external run"));
        }
        let known: HashSet<&str> = run.jobs.iter().map(|j| j.reference.external_id.as_str()).collect();
        let stage = &self.stages[0];
        let adding = known
            .iter()
            .filter(|id| !stage.jobs.iter().any(|j| id_order(j).1 == **id))
            .count();
        if stage.jobs.len() + adding > MAX_EXTERNAL_JOBS {
            return Err(TransitionError::TooManyJobs {
                max: MAX_EXTERNAL_JOBS,
                have: stage.jobs.len(),
                adding,
            });
        }
        let before: HashMap<JobId, Job> = stage.jobs.iter().map(|j| (j.id, j.clone())).collect();
        for ext in &run.jobs {
            self.upsert_external_job(ext);
        }
        relabel(&mut self.stages[0]);

        let mut fx = Vec::new();
        for job in &self.stages[0].jobs {
            let old = before.get(&job.id);
            if old != Some(job) {
                fx.push(Effect::Event(StateChange::Job {
                    job: job.id,
                    attempt: job.attempt,
                    from: old.map_or(JobStatus::Pending, |j| j.status),
                    to: job.status,
                }));
            }
        }
        let header = (
            self.status,
            self.created_at,
            self.started_at,
            self.finished_at,
            self.meta.clone(),
        );
        self.merge_header(run, now);
        if header
            != (
                self.status,
                self.created_at,
                self.started_at,
                self.finished_at,
                self.meta.clone(),
            )
        {
            fx.push(Effect::Event(StateChange::Pipeline {
                from: header.0,
                to: self.status,
            }));
        }
        Ok(fx)
    }

    fn upsert_external_job(&mut self, ext: &ExternalJob) {
        let jobs = &mut self.stages[0].jobs;
        let Some(job) = jobs.iter_mut().find(|j| id_order(j).1 == ext.reference.external_id) else {
            jobs.push(Job {
                id: JobId::new(),
                spec: JobSpec {
                    // Numbered by `relabel` right after, if it collides.
                    name: slug_name(&ext.reference.name, "job"),
                    executor: ExecutorSpec::External(ext.reference.clone()),
                    timeout_s: DEFAULT_TIMEOUT_S,
                    retry: RetryPolicy::default(),
                    allow_failure: false,
                    requires_approval: false,
                },
                gated: false,
                status: ext.status,
                attempt: 1,
                not_before: None,
                worker: None,
                cancel_requested: false,
                started_at: ext.started_at,
                finished_at: ext.finished_at,
                exit_reason: exit_reason(ext.status),
                approved_by: None,
                approved_at: None,
                rejected_by: None,
                lease_losses: 0,
            });
            return;
        };
        if let ExecutorSpec::External(r) = &mut job.spec.executor {
            // Free text may differ between deliveries: keep the greater, whatever the order.
            if ext.reference.name > r.name {
                r.name.clone_from(&ext.reference.name);
            }
            if ext.reference.url > r.url {
                r.url.clone_from(&ext.reference.url);
            }
        }
        job.status = later_job(job.status, ext.status);
        job.started_at = earliest(job.started_at, ext.started_at);
        job.finished_at = latest(job.finished_at, ext.finished_at);
        job.exit_reason = exit_reason(job.status);
    }

    fn merge_header(&mut self, run: &ExternalRun, now: DateTime<Utc>) {
        if let Source::Github { external_url, .. } = &mut self.meta.source
            && run.external_url > *external_url
        {
            external_url.clone_from(&run.external_url);
        }
        // A delivery may name the commit a first one did not (or add its time); one that does not erases nothing.
        if let Some(commit) = &run.commit {
            match &mut self.meta.commit {
                Some(known) => known.merge(commit),
                None => self.meta.commit = Some(commit.clone()),
            }
        }
        if let Some(created) = run.created_at {
            self.created_at = self.created_at.min(created);
        }
        let jobs = &self.stages[0].jobs;
        let derived = if jobs.iter().any(|j| job_rank(j.status) >= job_rank(JobStatus::Running)) {
            PipelineStatus::Running
        } else {
            PipelineStatus::Queued
        };
        let mut status = later_pipeline(self.status, derived);
        if let Some(given) = run.status {
            status = later_pipeline(status, given);
        }
        self.status = status;
        // Earliest start of the run or of a job that started; `now` when nothing says (any real time is earlier, so
        // it replaces it whatever the order).
        let first_job = jobs
            .iter()
            .filter(|j| job_rank(j.status) >= job_rank(JobStatus::Running))
            .filter_map(|j| j.started_at)
            .min();
        self.started_at = earliest(earliest(self.started_at, run.started_at), first_job);
        if status != PipelineStatus::Queued && self.started_at.is_none() {
            self.started_at = Some(now);
        }
        // Latest finish of the run or its jobs; when nothing says, its start (any real time is later).
        if status.is_terminal() {
            let last_job = jobs.iter().filter_map(|j| j.finished_at).max();
            let known = latest(latest(self.finished_at, run.finished_at), last_job);
            self.finished_at = known.or(self.started_at).or(Some(self.created_at));
        }
    }
}

fn exit_reason(status: JobStatus) -> Option<String> {
    (status.is_terminal() && status != JobStatus::Succeeded).then(|| format!("{status} on GitHub"))
}

/// Sorts the jobs by external id and names each after its source name's slug, numbering collisions (`test`,
/// `test-2`, …) in that order, so the names depend only on the set of jobs.
fn relabel(stage: &mut Stage) {
    stage.jobs.sort_by(|a, b| id_order(a).cmp(&id_order(b)));
    let mut used = HashSet::new();
    for job in &mut stage.jobs {
        let ExecutorSpec::External(r) = &job.spec.executor else {
            continue;
        };
        let base = slug(&r.name, "job", MAX_SLUG_CHARS);
        let mut name = base.clone();
        let mut n = 1;
        while !used.insert(name.clone()) {
            n += 1;
            name = format!("{base}-{n}");
        }
        job.spec.name = slug_name(&name, "job");
    }
}

#[cfg(test)]
mod tests;
