//! What the metrics service is told, derived from a transition's status changes: a `JobRun` for every attempt that
//! ended, and a `Deployment` when a deploy pipeline ends. Each carries an id derived from what it describes, so the
//! same fact written twice (a retried write, a redelivery) is stored once by metrics:
//!
//! - job run `<job id>:<attempt>`: an attempt ends once (the compare-and-set on `(job, attempt)` guarantees it);
//! - deployment `<pipeline id>:<finished µs>`: the same id projects gets; a retried pipeline that ends again is a new
//!   deployment. It carries the pipeline's commit (sha and time) when the caller named one, for DORA lead time.
//!
//! An attempt ended when its job leaves `running`: for a final status, or back to `queued` as the next attempt (a
//! retried failure or timeout, or a lapsed lease). Jobs of a run tracked from GitHub report a final status without
//! being seen running here, so any move of theirs into a final status is a run too. A job cancelled before it
//! started never ran and is not reported.

use chrono::{DateTime, Utc};
use prost::Message;

use devopstrack_proto::metrics::v1 as pb;

use crate::convert;
use crate::domain::{CommitRef, JobId, JobStatus, Pipeline, PipelineStatus, Source, StateChange, Trigger};
use crate::store::{Delivery, MetricEvent, MetricEventKind};

/// A running attempt before a transition: `(job, attempt, started_at)`.
pub type Running = (JobId, u32, Option<DateTime<Utc>>);

/// The job run a status change ends, if it ends one.
pub(super) fn job_run(
    p: &Pipeline,
    change: &StateChange,
    now: DateTime<Utc>,
    running: &[Running],
    deliveries: &[Delivery],
) -> Option<MetricEvent> {
    let StateChange::Job {
        job: id,
        attempt,
        from,
        to,
    } = change
    else {
        return None;
    };
    let tracked = p.meta.source != Source::DevOpsTrack;
    let job = p.job(*id)?;
    let (attempt, status) = match (from, to) {
        (JobStatus::Running, to) if to.is_terminal() => (*attempt, *to),
        // Retried or lost: the attempt that ended is the one before the queued one.
        (JobStatus::Running, JobStatus::Queued) => {
            let timed_out = format!("timed out after {}s", job.spec.timeout_s);
            let status = if job.exit_reason.as_deref() == Some(timed_out.as_str()) {
                JobStatus::TimedOut
            } else {
                JobStatus::Failed
            };
            (attempt.checked_sub(1)?, status)
        }
        (from, to) if tracked && !from.is_terminal() && to.is_terminal() => (*attempt, *to),
        _ => return None,
    };
    let started_at = running
        .iter()
        .find(|(j, a, _)| j == id && *a == attempt)
        .and_then(|(_, _, at)| *at)
        .or(job.started_at);
    let finished_at = if to.is_terminal() {
        job.finished_at.unwrap_or(now)
    } else {
        now
    };
    let queued_at = deliveries
        .iter()
        .find(|d| d.job == *id && d.attempt == attempt)
        .and_then(|d| d.queued_at);
    let run = pb::JobRun {
        event_id: format!("{id}:{attempt}"),
        project: p.meta.project.clone(),
        environment: p.meta.environment().to_owned(),
        pipeline_id: p.id.to_string(),
        job_id: id.to_string(),
        job_name: job.spec.name.as_str().to_owned(),
        status: run_status(status).into(),
        source: source(&p.meta.source).into(),
        attempt,
        queued_at: queued_at.map(convert::timestamp),
        started_at: started_at.map(convert::timestamp),
        finished_at: Some(convert::timestamp(finished_at)),
    };
    Some(MetricEvent {
        kind: MetricEventKind::JobRun,
        payload: run.encode_to_vec(),
    })
}

/// The deployment an ended deploy pipeline reports (as for projects: not for runs GitHub reports itself).
pub(super) fn deployment(p: &Pipeline, now: DateTime<Utc>) -> Option<MetricEvent> {
    let target = p.meta.target.as_ref()?;
    if p.meta.source != Source::DevOpsTrack {
        return None;
    }
    let status = match p.status {
        PipelineStatus::Succeeded => pb::DeploymentStatus::Succeeded,
        PipelineStatus::Failed => pb::DeploymentStatus::Failed,
        _ => return None,
    };
    let finished = p.finished_at.unwrap_or(now);
    let deployment = pb::Deployment {
        event_id: format!("{}:{}", p.id, finished.timestamp_micros()),
        project: p.meta.project.clone(),
        environment: target.environment.clone(),
        status: status.into(),
        version: target.version.clone(),
        // With the commit's time, metrics counts this deploy's lead time (finished_at − commit_time).
        commit_sha: p.meta.commit.as_ref().map(|c| c.sha().to_owned()).unwrap_or_default(),
        commit_time: p.meta.commit.as_ref().and_then(CommitRef::time).map(convert::timestamp),
        started_at: Some(convert::timestamp(p.started_at.unwrap_or(p.created_at))),
        finished_at: Some(convert::timestamp(finished)),
        pipeline_id: p.id.to_string(),
        source: source(&p.meta.source).into(),
        // DORA counts a rollback as remediation (see crates/metrics/README.md).
        rollback: p.meta.trigger == Trigger::Rollback,
    };
    Some(MetricEvent {
        kind: MetricEventKind::Deployment,
        payload: deployment.encode_to_vec(),
    })
}

fn run_status(status: JobStatus) -> pb::JobRunStatus {
    match status {
        JobStatus::Succeeded => pb::JobRunStatus::Succeeded,
        JobStatus::Failed => pb::JobRunStatus::Failed,
        JobStatus::Cancelled => pb::JobRunStatus::Cancelled,
        JobStatus::TimedOut => pb::JobRunStatus::TimedOut,
        JobStatus::Pending | JobStatus::Queued | JobStatus::WaitingApproval | JobStatus::Running => {
            pb::JobRunStatus::Unspecified
        }
    }
}

fn source(source: &Source) -> pb::Source {
    match source {
        Source::DevOpsTrack => pb::Source::Devopstrack,
        Source::Github { .. } => pb::Source::Github,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::domain::spec::{JobInput, RetryInput, StageInput};
    use crate::domain::{DeployTarget, Effect, Outcome, PipelineInput, PipelineMeta, PipelineSpec, Tier, Trigger};

    /// A one-job pipeline (a deploy to staging when `deploy`), its job allowed `attempts` attempts.
    fn pipeline(deploy: bool, attempts: i64) -> Pipeline {
        let input = PipelineInput {
            stages: vec![StageInput {
                name: "build".into(),
                jobs: vec![JobInput {
                    name: "compile".into(),
                    timeout_s: Some(30),
                    retry: Some(RetryInput {
                        max_attempts: Some(attempts),
                        ..RetryInput::default()
                    }),
                    ..JobInput::default()
                }],
            }],
        };
        let meta = PipelineMeta {
            project: "web".into(),
            target: deploy.then(|| DeployTarget {
                environment: "staging".into(),
                version: "1.2.3".into(),
                tier: Tier::Staging,
                protected: false,
            }),
            trigger: Trigger::Api,
            triggered_by: "u".into(),
            idempotency_key: None,
            source: Source::DevOpsTrack,
            commit: None,
        };
        Pipeline::new(PipelineSpec::parse(&input).expect("a valid spec"), meta, Utc::now()).0
    }

    /// The job runs a transition writes, as `app::write` derives them.
    fn runs(p: &mut Pipeline, change: impl FnOnce(&mut Pipeline) -> Vec<Effect>) -> Vec<pb::JobRun> {
        let running = super::super::writes::running_attempts(p);
        let effects = change(p);
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Event(change) => job_run(p, change, Utc::now(), &running, &[]),
                _ => None,
            })
            .map(|m| {
                assert_eq!(m.kind, MetricEventKind::JobRun);
                pb::JobRun::decode(m.payload.as_slice()).expect("a JobRun")
            })
            .collect()
    }

    #[test]
    fn a_finished_attempt_is_one_run_named_by_job_and_attempt() {
        let mut p = pipeline(true, 1);
        let job = p.stages[0].jobs[0].id;
        let t = Utc::now();
        assert!(
            runs(&mut p, |p| p.start_job(job, 1, "w", t).unwrap()).is_empty(),
            "starting ends nothing"
        );

        let got = runs(&mut p, |p| p.finish_job(job, 1, Outcome::Succeeded, t).unwrap());

        let [run] = got.as_slice() else {
            panic!("one run: {got:?}")
        };
        assert_eq!(run.event_id, format!("{job}:1"));
        assert_eq!((run.project.as_str(), run.environment.as_str()), ("web", "staging"));
        assert_eq!((run.job_name.as_str(), run.attempt), ("compile", 1));
        assert_eq!(run.status, i32::from(pb::JobRunStatus::Succeeded));
        assert_eq!(run.started_at, Some(convert::timestamp(t)));
        assert!(run.finished_at.is_some());
    }

    #[test]
    fn a_retried_attempt_is_a_run_of_the_attempt_that_ended_with_its_start() {
        let mut p = pipeline(false, 3);
        let job = p.stages[0].jobs[0].id;
        let t = Utc::now() - TimeDelta::seconds(5);
        runs(&mut p, |p| p.start_job(job, 1, "w", t).unwrap());

        let failed = runs(&mut p, |p| {
            let reason = "exit 1".to_owned();
            p.finish_job(job, 1, Outcome::Failed { reason }, Utc::now()).unwrap()
        });
        let retry_at = p.stages[0].jobs[0].not_before.expect("a retry time");
        runs(&mut p, |p| p.start_job(job, 2, "w", retry_at).unwrap());
        let timed_out = runs(&mut p, |p| p.finish_job(job, 2, Outcome::TimedOut, retry_at).unwrap());

        assert_eq!(
            failed
                .iter()
                .map(|r| (r.event_id.clone(), r.status, r.started_at))
                .collect::<Vec<_>>(),
            [(
                format!("{job}:1"),
                i32::from(pb::JobRunStatus::Failed),
                Some(convert::timestamp(t))
            )]
        );
        assert_eq!(
            timed_out.iter().map(|r| (r.attempt, r.status)).collect::<Vec<_>>(),
            [(2, i32::from(pb::JobRunStatus::TimedOut))]
        );
    }

    #[test]
    fn a_job_cancelled_before_it_ran_is_no_run() {
        let mut p = pipeline(false, 1);
        assert!(runs(&mut p, |p| p.cancel("u", Utc::now()).unwrap()).is_empty());
    }

    #[test]
    fn only_an_ended_deploy_is_a_deployment() {
        let mut deploy = pipeline(true, 1);
        let job = deploy.stages[0].jobs[0].id;
        let now = Utc::now();
        deploy.start_job(job, 1, "w", now).unwrap();
        assert!(deployment(&deploy, now).is_none(), "still running");
        deploy.finish_job(job, 1, Outcome::Succeeded, now).unwrap();
        let mut build = pipeline(false, 1);
        let build_job = build.stages[0].jobs[0].id;
        build.start_job(build_job, 1, "w", now).unwrap();
        build.finish_job(build_job, 1, Outcome::Succeeded, now).unwrap();

        let event = deployment(&deploy, now).expect("a deployment");
        let d = pb::Deployment::decode(event.payload.as_slice()).expect("a Deployment");

        assert_eq!(event.kind, MetricEventKind::Deployment);
        assert_eq!((d.environment.as_str(), d.version.as_str()), ("staging", "1.2.3"));
        assert_eq!(d.status, i32::from(pb::DeploymentStatus::Succeeded));
        let finished = deploy.finished_at.expect("ended");
        assert_eq!(d.event_id, format!("{}:{}", deploy.id, finished.timestamp_micros()));
        assert_eq!((d.commit_sha.as_str(), d.commit_time), ("", None), "no commit named");
        assert!(deployment(&build, now).is_none(), "not a deploy");
    }

    #[test]
    fn a_deployment_carries_the_pipelines_commit() {
        let now = Utc::now();
        let committed = now - TimeDelta::hours(3);
        let mut deploy = pipeline(true, 1);
        deploy.meta.commit = CommitRef::parse("ABCDEF1234567", Some(committed), now).expect("a valid commit");
        let job = deploy.stages[0].jobs[0].id;
        deploy.start_job(job, 1, "w", now).unwrap();
        deploy.finish_job(job, 1, Outcome::Succeeded, now).unwrap();

        let event = deployment(&deploy, now).expect("a deployment");
        let d = pb::Deployment::decode(event.payload.as_slice()).expect("a Deployment");

        assert_eq!(d.commit_sha, "abcdef1234567");
        assert_eq!(d.commit_time, Some(convert::timestamp(committed)));
    }
}
