//! Use-cases of the tasks service: the only code the transports, the workers, the outbox loops and the event fan-out
//! call; only this module holds the store (`scripts/check-store-door.py` keeps it so). Each use-case for callers checks
//! the caller's role, validates its input, and drives the domain through [`TasksApp::transition`]: load the pipeline, apply one
//! transition, store it compare-and-set together with its queue writes, events and outbox entry, retry on a lost race.
//!
//! Permissions: viewer reads and watches; operator also creates and cancels pipelines, retries jobs and approves
//! non-production deploys (the domain checks approvals); admin does everything.
//!
//! Fewer reads: a transition may start from a copy of the pipeline its caller already holds (the one a worker wrote
//! last, or the one this process just created, see [`handoff`]); a stale copy only costs a lost compare-and-set, after
//! which the loop reads the stored pipeline as usual.

mod definitions;
mod external;
mod handoff;
pub mod intake;
mod jobs;
mod metric_events;
mod outboxes;
mod pipelines;
mod queue;
mod rollback;
mod stream;
mod writes;

/// The page token codec, for the cargo-fuzz targets in `fuzz/`. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::pipelines::{decode_token, encode_token};
}

use std::sync::Arc;

use chrono::{DateTime, Utc};

use devopstrack_platform::auth::{Principal, Role};

use crate::domain::{Effect, Pipeline, PipelineId, TransitionError};
use crate::error::Error;
use crate::metrics_service::MetricsService;
use crate::projects::Projects;
use crate::prometheus::TaskCounters;
use crate::store::{Delivery, StoredPipeline, TaskStore};

pub use jobs::Batch;
pub use queue::Redelivered;

pub use crate::domain::external::TrackExternalRun;
pub use definitions::CreateRun;
pub use external::require_tracker;
pub use pipelines::{CreatePipeline, JobLog, PipelinePage, PipelineQuery};
pub use rollback::{RollbackRun, RolledBack};

/// Where "now" comes from: the system clock, or a test's.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How many times a transition re-reads and retries after losing a compare-and-set to a concurrent writer.
const CAS_ATTEMPTS: usize = 16;

pub struct TasksApp {
    store: Arc<dyn TaskStore>,
    projects: Projects,
    metrics_service: Option<MetricsService>,
    /// Business counters fed by every stored write (see [`crate::prometheus`]).
    counters: TaskCounters,
    clock: Clock,
    handoff: handoff::Handoff,
}

impl TasksApp {
    pub fn new(store: Arc<dyn TaskStore>, projects: Projects, clock: Clock) -> Self {
        Self {
            store,
            projects,
            metrics_service: None,
            counters: TaskCounters::default(),
            clock,
            handoff: handoff::Handoff::default(),
        }
    }

    /// Where job runs and deployments are delivered (`None`: delivery is off; the events stay in the outbox).
    pub fn with_metrics_service(mut self, metrics_service: Option<MetricsService>) -> Self {
        self.metrics_service = metrics_service;
        self
    }

    pub fn metrics_service(&self) -> Option<&MetricsService> {
        self.metrics_service.as_ref()
    }

    /// The business counters, to register on the admin registry.
    pub fn counters(&self) -> &TaskCounters {
        &self.counters
    }

    pub fn system_clock() -> Clock {
        Arc::new(Utc::now)
    }

    pub fn projects(&self) -> &Projects {
        &self.projects
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// For `/readyz`: the store answers.
    pub async fn ready(&self) -> Result<(), String> {
        self.store.ping().await.map_err(|e| format!("store: {e}"))
    }

    /// Applies `change` to the stored pipeline and stores the result with its effects, compare-and-set; re-reads and
    /// retries when a concurrent writer won. Returns the pipeline after the change and the effects carried out.
    pub async fn transition<F>(&self, id: PipelineId, change: F) -> Result<(Pipeline, Vec<Effect>), Error>
    where
        F: FnMut(&mut Pipeline, DateTime<Utc>) -> Result<Vec<Effect>, TransitionError>,
    {
        let (stored, effects) = self.write(id, None, change, &[]).await?;
        Ok((stored.pipeline, effects))
    }

    /// The transition loop. `known` is a copy the caller holds, tried first: a stale one loses its compare-and-set
    /// (or fails its change) and the loop goes on from the stored pipeline. `ack` names queue entries removed in the
    /// same write (the deliveries this write is the outcome of). Returns the pipeline as stored and the effects.
    async fn write<F>(
        &self,
        id: PipelineId,
        mut known: Option<StoredPipeline>,
        mut change: F,
        ack: &[Delivery],
    ) -> Result<(StoredPipeline, Vec<Effect>), Error>
    where
        F: FnMut(&mut Pipeline, DateTime<Utc>) -> Result<Vec<Effect>, TransitionError>,
    {
        let mut lost = 0u64;
        for _ in 0..CAS_ATTEMPTS {
            if lost > 0 {
                // Lost to a concurrent writer (usually a sibling job of the same pipeline): back off a little, with
                // jitter, so the writers spread out instead of colliding again.
                let ms = rand::random::<u64>() % (1 + 2 * lost);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            let from_known = known.is_some();
            let StoredPipeline { mut pipeline, version } = match known.take() {
                Some(copy) => copy,
                None => self
                    .store
                    .pipeline(id)
                    .await?
                    .ok_or_else(|| Error::NotFound(format!("pipeline {id} not found")))?,
            };
            let now = self.now();
            let running = writes::running_attempts(&pipeline);
            let effects = match change(&mut pipeline, now) {
                Ok(effects) => effects,
                // The copy may be what is out of date: decide on the stored pipeline.
                Err(_) if from_known => continue,
                Err(e) => return Err(e.into()),
            };
            let mut writes = writes::for_effects_with(&pipeline, &effects, now, &running, ack);
            writes.ack = ack.to_vec();
            if self.metrics_service.is_none() {
                // Delivery is off: keep nothing for it (see `config::Settings::metrics_url`).
                writes.metric_events.clear();
            }
            if self.store.update_pipeline(&pipeline, version, &writes).await? {
                self.counters.observe(&pipeline, &effects);
                return Ok((
                    StoredPipeline {
                        pipeline,
                        version: version + 1,
                    },
                    effects,
                ));
            }
            if !from_known {
                lost += 1;
            }
        }
        Err(Error::Contention(format!(
            "pipeline {id} kept changing under this request; read it again and retry"
        )))
    }

    /// Keeps the pipeline this process just created for the worker that starts it (see [`handoff`]).
    fn created(&self, pipeline: &Pipeline) {
        self.handoff.put(StoredPipeline {
            pipeline: pipeline.clone(),
            version: 1,
        });
    }

    async fn pipeline_of_job(&self, job: crate::domain::JobId) -> Result<PipelineId, Error> {
        self.store
            .pipeline_of_job(job)
            .await?
            .ok_or_else(|| Error::NotFound(format!("job {job} not found")))
    }
}

/// Refuses a caller below `role` (the `service` role is not on the ladder and is refused too).
fn require(principal: &Principal, role: Role, action: &str) -> Result<(), Error> {
    if principal.role != Role::Service && principal.role.at_least(role) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "{action} needs the {role} role; you are {}",
            principal.role
        )))
    }
}
