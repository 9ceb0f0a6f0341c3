//! PLACEHOLDER: being written (issue 4).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::domain::{JobId, Pipeline, PipelineId};

pub struct RedisStore;

impl RedisStore {
    pub async fn connect(_url: &str, _prefix: &str) -> StoreResult<Self> {
        Err(StoreError::Url("not implemented yet".into()))
    }
}

#[async_trait]
impl TaskStore for RedisStore {
    async fn ping(&self) -> StoreResult<()> { unimplemented!() }
    async fn create_pipeline(&self, _p: &Pipeline, _w: &Writes) -> StoreResult<Created> { unimplemented!() }
    async fn pipeline(&self, _id: PipelineId) -> StoreResult<Option<StoredPipeline>> { unimplemented!() }
    async fn pipeline_of_job(&self, _job: JobId) -> StoreResult<Option<PipelineId>> { unimplemented!() }
    async fn list_pipelines(&self, _f: &PipelineFilter, _b: Option<PipelineId>, _l: u32) -> StoreResult<Vec<Pipeline>> { unimplemented!() }
    async fn update_pipeline(&self, _p: &Pipeline, _v: u64, _w: &Writes) -> StoreResult<bool> { unimplemented!() }
    async fn lease(&self, _w: &str, _m: usize, _l: Duration, _wait: Duration) -> StoreResult<Vec<Delivery>> { unimplemented!() }
    async fn renew(&self, _w: &str, _d: &Delivery, _l: Duration) -> StoreResult<bool> { unimplemented!() }
    async fn ack(&self, _d: &Delivery) -> StoreResult<()> { unimplemented!() }
    async fn release(&self, _w: &str, _d: &Delivery) -> StoreResult<()> { unimplemented!() }
    async fn stop_requested(&self, _j: JobId, _a: u32) -> StoreResult<bool> { unimplemented!() }
    async fn queue_depth(&self) -> StoreResult<QueueDepth> { unimplemented!() }
    async fn append_log(&self, _j: JobId, _a: u32, _o: u64, _l: &[String]) -> StoreResult<()> { unimplemented!() }
    async fn read_log(&self, _j: JobId, _a: u32, _o: u64, _l: u32) -> StoreResult<LogPage> { unimplemented!() }
    async fn append_events(&self, _e: &[NewEvent]) -> StoreResult<()> { unimplemented!() }
    async fn read_events(&self, _a: Option<&str>, _l: usize, _w: Duration) -> StoreResult<Vec<StoredEvent>> { unimplemented!() }
    async fn last_event_id(&self) -> StoreResult<Option<String>> { unimplemented!() }
    async fn due_outbox(&self, _n: DateTime<Utc>, _l: u32) -> StoreResult<Vec<OutboxEntry>> { unimplemented!() }
    async fn outbox_delivered(&self, _id: PipelineId) -> StoreResult<()> { unimplemented!() }
    async fn outbox_retry(&self, _id: PipelineId, _at: DateTime<Utc>) -> StoreResult<()> { unimplemented!() }
}
