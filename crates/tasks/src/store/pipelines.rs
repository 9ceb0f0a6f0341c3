//! [`PipelineStore`]: pipelines stored whole, numbered per project at creation, replaced compare-and-set on a version
//! together with the [`Writes`] a transition carries (queue entries, events, outbox entries), all or nothing.

use async_trait::async_trait;

use super::{Created, PipelineFilter, StoreResult, StoredPipeline, Writes};
use crate::domain::{JobId, Pipeline, PipelineId};

#[async_trait]
pub trait PipelineStore: Send + Sync {
    /// Stores a new pipeline at version 1 with its writes, unless its `(project, idempotency key)` was used before
    /// (then nothing is written). Also indexes every job id to the pipeline, and numbers it: the project's next run
    /// number, stored with it and appended to the payload of each of `writes.events` about it
    /// ([`super::number_stamp`]). `pipeline.number` is ignored.
    async fn create_pipeline(&self, pipeline: &Pipeline, writes: &Writes) -> StoreResult<Created>;
    async fn pipeline(&self, id: PipelineId) -> StoreResult<Option<StoredPipeline>>;
    /// The pipeline numbered `number` in `project` (exact slug).
    async fn pipeline_by_number(&self, project: &str, number: u64) -> StoreResult<Option<StoredPipeline>>;
    async fn pipeline_of_job(&self, job: JobId) -> StoreResult<Option<PipelineId>>;
    /// Newest first (by id: ids are time-ordered UUIDv7), strictly older than `before`, at most `limit`.
    async fn list_pipelines(
        &self,
        filter: &PipelineFilter,
        before: Option<PipelineId>,
        limit: u32,
    ) -> StoreResult<Vec<Pipeline>>;
    /// Replaces the pipeline if its stored version is `expected_version` (the new version is `expected_version + 1`)
    /// and applies `writes`, all or nothing. `false` when the version moved or the pipeline is gone.
    async fn update_pipeline(&self, pipeline: &Pipeline, expected_version: u64, writes: &Writes) -> StoreResult<bool>;
}
