//! Use-cases for workers: start an attempt, finish it, report a lapsed lease. Each is one compare-and-set transition;
//! a duplicate or out-of-date delivery gets `TransitionError::Stale` (mapped to `Error::Aborted`) and changes nothing.

use crate::domain::{JobId, Outcome, Pipeline, PipelineId};
use crate::error::Error;

use super::TasksApp;

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
}
