//! Use-cases for workers: start attempts, finish them, report a lapsed lease. Each is one compare-and-set transition;
//! a duplicate or out-of-date delivery gets `TransitionError::Stale` (mapped to `Error::Aborted`) and changes nothing.
//!
//! The batch forms ([`TasksApp::start_jobs`], [`TasksApp::finish_jobs`]) apply several attempts of one pipeline in
//! one write, each attempt succeeding or failing on its own: the jobs of a stage delivered together start in one
//! write, and the outcomes ready together are recorded (and their deliveries acked) in one write, instead of racing
//! each other's compare-and-set.

use crate::domain::{Effect, JobId, Outcome, Pipeline, PipelineId, TransitionError};
use crate::error::Error;
use crate::store::{Delivery, StoredPipeline};

use super::TasksApp;

/// What a batch did: the pipeline as stored after it (`None` when no attempt of the batch applied, so nothing was
/// written), and one result per attempt, in order.
#[derive(Debug)]
pub struct Batch {
    pub stored: Option<StoredPipeline>,
    pub results: Vec<Result<(), Error>>,
}

impl TasksApp {
    pub async fn start_job(
        &self,
        pipeline: PipelineId,
        job: JobId,
        attempt: u32,
        worker: &str,
    ) -> Result<Pipeline, Error> {
        Ok(self
            .transition(pipeline, |p, now| p.start_job(job, attempt, worker, now))
            .await?
            .0)
    }

    pub async fn finish_job(
        &self,
        pipeline: PipelineId,
        job: JobId,
        attempt: u32,
        outcome: Outcome,
    ) -> Result<Pipeline, Error> {
        Ok(self
            .transition(pipeline, |p, now| p.finish_job(job, attempt, outcome.clone(), now))
            .await?
            .0)
    }

    pub async fn lease_lapsed(&self, pipeline: PipelineId, job: JobId, attempt: u32) -> Result<Pipeline, Error> {
        Ok(self
            .transition(pipeline, |p, now| p.lease_lapsed(job, attempt, now))
            .await?
            .0)
    }

    /// Starts the delivered attempts (all of pipeline `pipeline`) in one write. `known`: the caller's copy of the
    /// pipeline, if any (else the one this process just created, else the stored one).
    pub async fn start_jobs(
        &self,
        pipeline: PipelineId,
        deliveries: &[Delivery],
        worker: &str,
        known: Option<StoredPipeline>,
    ) -> Result<Batch, Error> {
        let known = known.or_else(|| self.handoff.take(pipeline));
        self.batch(pipeline, known, deliveries, &[], |p, d, now| {
            p.start_job(d.job, d.attempt, worker, now)
        })
        .await
    }

    /// Records the outcomes (one per delivery, all of pipeline `pipeline`) in one write that also acks every
    /// delivery of the batch, applied or refused as stale. When none applies nothing is written and the caller acks.
    pub async fn finish_jobs(
        &self,
        pipeline: PipelineId,
        finished: &[(Delivery, Outcome)],
        known: Option<StoredPipeline>,
    ) -> Result<Batch, Error> {
        let deliveries: Vec<Delivery> = finished.iter().map(|(d, _)| d.clone()).collect();
        self.batch(pipeline, known, &deliveries, &deliveries, |p, d, now| {
            let outcome = finished
                .iter()
                .find(|(f, _)| f.entry == d.entry)
                .map_or(Outcome::Succeeded, |(_, o)| o.clone());
            p.finish_job(d.job, d.attempt, outcome, now)
        })
        .await
    }

    /// Applies `each` to every delivery, keeping the effects of those that apply; writes them (acking `ack`) unless
    /// none applied.
    async fn batch<F>(
        &self,
        pipeline: PipelineId,
        known: Option<StoredPipeline>,
        deliveries: &[Delivery],
        ack: &[Delivery],
        mut each: F,
    ) -> Result<Batch, Error>
    where
        F: FnMut(&mut Pipeline, &Delivery, chrono::DateTime<chrono::Utc>) -> Result<Vec<Effect>, TransitionError>,
    {
        let mut results: Vec<Result<(), TransitionError>> = Vec::with_capacity(deliveries.len());
        let written = self
            .write(
                pipeline,
                known,
                |p, now| {
                    results.clear();
                    let mut effects = Vec::new();
                    for d in deliveries {
                        match each(p, d, now) {
                            Ok(mut fx) => {
                                effects.append(&mut fx);
                                results.push(Ok(()));
                            }
                            Err(e) => results.push(Err(e)),
                        }
                    }
                    // Nothing applied: nothing to write (the first refusal stands for all of them).
                    match results.iter().find_map(|r| r.as_ref().err()) {
                        Some(e) if effects.is_empty() => Err(e.clone()),
                        _ => Ok(effects),
                    }
                },
                ack,
            )
            .await;
        let stored =
            match written {
                Ok((stored, _)) => Some(stored),
                // Every attempt was refused on the stored pipeline: the results say why, one by one.
                Err(
                    Error::Aborted(_) | Error::FailedPrecondition(_) | Error::NotYet(_) | Error::PermissionDenied(_),
                ) if results.len() == deliveries.len() => None,
                Err(Error::NotFound(_)) if results.len() == deliveries.len() && !results.is_empty() => None,
                Err(e) => return Err(e),
            };
        Ok(Batch {
            stored,
            results: results.into_iter().map(|r| r.map_err(Error::from)).collect(),
        })
    }
}
