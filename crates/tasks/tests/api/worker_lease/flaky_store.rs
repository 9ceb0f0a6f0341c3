//! A real store (SQLite or Redis) whose lease renewals a test can make fail or hang, and which remembers the
//! deliveries it handed out (so a test can take one away from its worker). Everything else goes straight through.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use devopstrack_tasks::domain::{JobId, Pipeline, PipelineId};
use devopstrack_tasks::store::{
    Backlog, Created, Delivery, DeploymentOutbox, EventLog, JobQueue, LogPage, MetricEventOutbox, NewEvent,
    OutboxEntry, PendingMetricEvent, PipelineFilter, PipelineStore, QueueDepth, StoreError, StoreResult, StoredEvent,
    StoredPipeline, TaskStore, Writes,
};

/// What `renew` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Renewals {
    PassThrough = 0,
    Fail = 1,
    Hang = 2,
}

pub struct FlakyStore {
    pub inner: Arc<dyn TaskStore>,
    renewals: AtomicU8,
    /// Renewal calls that reached this store (whatever they did).
    pub renew_calls: AtomicUsize,
    leased: Mutex<Vec<Delivery>>,
    /// Off: `lease` hands nothing out (so a test's worker cannot take back a delivery it lost).
    leasing: AtomicBool,
}

impl FlakyStore {
    pub fn new(inner: Arc<dyn TaskStore>) -> Self {
        Self {
            inner,
            renewals: AtomicU8::new(Renewals::PassThrough as u8),
            renew_calls: AtomicUsize::new(0),
            leased: Mutex::default(),
            leasing: AtomicBool::new(true),
        }
    }

    /// From now on the workers over this store get no more deliveries.
    pub fn stop_leasing(&self) {
        self.leasing.store(false, Ordering::SeqCst);
    }

    pub fn set(&self, renewals: Renewals) {
        self.renewals.store(renewals as u8, Ordering::SeqCst);
    }

    /// Every delivery handed out so far.
    pub fn leased(&self) -> Vec<Delivery> {
        self.leased.lock().unwrap().clone()
    }
}

#[async_trait]
impl PipelineStore for FlakyStore {
    async fn create_pipeline(&self, pipeline: &Pipeline, writes: &Writes) -> StoreResult<Created> {
        self.inner.create_pipeline(pipeline, writes).await
    }

    async fn pipeline(&self, id: PipelineId) -> StoreResult<Option<StoredPipeline>> {
        self.inner.pipeline(id).await
    }

    async fn pipeline_by_number(&self, project: &str, number: u64) -> StoreResult<Option<StoredPipeline>> {
        self.inner.pipeline_by_number(project, number).await
    }

    async fn pipeline_of_job(&self, job: JobId) -> StoreResult<Option<PipelineId>> {
        self.inner.pipeline_of_job(job).await
    }

    async fn list_pipelines(
        &self,
        filter: &PipelineFilter,
        before: Option<PipelineId>,
        limit: u32,
    ) -> StoreResult<Vec<Pipeline>> {
        self.inner.list_pipelines(filter, before, limit).await
    }

    async fn update_pipeline(&self, pipeline: &Pipeline, expected_version: u64, writes: &Writes) -> StoreResult<bool> {
        self.inner.update_pipeline(pipeline, expected_version, writes).await
    }
}

#[async_trait]
impl JobQueue for FlakyStore {
    async fn lease(&self, worker: &str, max: usize, lease: Duration, wait: Duration) -> StoreResult<Vec<Delivery>> {
        if !self.leasing.load(Ordering::SeqCst) {
            tokio::time::sleep(wait).await;
            return Ok(Vec::new());
        }
        let leased = self.inner.lease(worker, max, lease, wait).await?;
        self.leased.lock().unwrap().extend(leased.iter().cloned());
        Ok(leased)
    }

    async fn renew(&self, worker: &str, delivery: &Delivery, lease: Duration) -> StoreResult<bool> {
        self.renew_calls.fetch_add(1, Ordering::SeqCst);
        match self.renewals.load(Ordering::SeqCst) {
            1 => Err(StoreError::Corrupt("renewal refused by the test".into())),
            2 => std::future::pending().await,
            _ => self.inner.renew(worker, delivery, lease).await,
        }
    }

    async fn ack(&self, delivery: &Delivery) -> StoreResult<()> {
        self.inner.ack(delivery).await
    }

    async fn release(&self, worker: &str, delivery: &Delivery) -> StoreResult<()> {
        self.inner.release(worker, delivery).await
    }

    async fn stop_requested(&self, job: JobId, attempt: u32) -> StoreResult<bool> {
        self.inner.stop_requested(job, attempt).await
    }

    async fn queue_depth(&self) -> StoreResult<QueueDepth> {
        self.inner.queue_depth().await
    }
}

#[async_trait]
impl EventLog for FlakyStore {
    async fn append_log(&self, job: JobId, attempt: u32, offset: u64, lines: &[String]) -> StoreResult<()> {
        self.inner.append_log(job, attempt, offset, lines).await
    }

    async fn read_log(&self, job: JobId, attempt: u32, offset: u64, limit: u32) -> StoreResult<LogPage> {
        self.inner.read_log(job, attempt, offset, limit).await
    }

    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()> {
        self.inner.append_events(events).await
    }

    async fn read_events(&self, after: Option<&str>, limit: usize, wait: Duration) -> StoreResult<Vec<StoredEvent>> {
        self.inner.read_events(after, limit, wait).await
    }

    async fn last_event_id(&self) -> StoreResult<Option<String>> {
        self.inner.last_event_id().await
    }
}

#[async_trait]
impl DeploymentOutbox for FlakyStore {
    async fn due_outbox(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        self.inner.due_outbox(now, limit).await
    }

    async fn outbox_delivered(&self, id: PipelineId) -> StoreResult<()> {
        self.inner.outbox_delivered(id).await
    }

    async fn outbox_retry(&self, id: PipelineId, at: DateTime<Utc>) -> StoreResult<()> {
        self.inner.outbox_retry(id, at).await
    }
}

#[async_trait]
impl MetricEventOutbox for FlakyStore {
    async fn pending_metric_events(&self, limit: usize) -> StoreResult<Vec<PendingMetricEvent>> {
        self.inner.pending_metric_events(limit).await
    }

    async fn metric_events_delivered(&self, ids: &[String]) -> StoreResult<()> {
        self.inner.metric_events_delivered(ids).await
    }

    async fn metric_events_backlog(&self) -> StoreResult<u64> {
        self.inner.metric_events_backlog().await
    }
}

#[async_trait]
impl TaskStore for FlakyStore {
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    async fn backlog(&self) -> StoreResult<Backlog> {
        self.inner.backlog().await
    }
}
