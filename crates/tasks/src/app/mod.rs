//! Use-cases of the tasks service: the only code the transports and the workers call. Each checks the caller's role,
//! validates its input, and drives the domain through [`TasksApp::transition`]: load the pipeline, apply one
//! transition, store it compare-and-set together with its queue writes, events and outbox entry, retry on a lost race.
//!
//! Permissions: viewer reads and watches; operator also creates and cancels pipelines, retries jobs and approves
//! non-production deploys (the domain checks approvals); admin does everything.

mod jobs;
mod pipelines;
mod writes;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use devopstrack_platform::auth::{Principal, Role};

use crate::domain::{Effect, Pipeline, PipelineId, TransitionError};
use crate::error::Error;
use crate::projects::Projects;
use crate::store::TaskStore;

pub use pipelines::{CreatePipeline, JobLog, PipelinePage, PipelineQuery};

/// Where "now" comes from: the system clock, or a test's.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How many times a transition re-reads and retries after losing a compare-and-set to a concurrent writer.
const CAS_ATTEMPTS: usize = 16;

pub struct TasksApp {
    store: Arc<dyn TaskStore>,
    projects: Projects,
    clock: Clock,
}

impl TasksApp {
    pub fn new(store: Arc<dyn TaskStore>, projects: Projects, clock: Clock) -> Self {
        Self { store, projects, clock }
    }

    pub fn system_clock() -> Clock {
        Arc::new(Utc::now)
    }

    pub fn store(&self) -> &Arc<dyn TaskStore> {
        &self.store
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
    pub async fn transition<F>(&self, id: PipelineId, mut change: F) -> Result<(Pipeline, Vec<Effect>), Error>
    where
        F: FnMut(&mut Pipeline, DateTime<Utc>) -> Result<Vec<Effect>, TransitionError>,
    {
        for round in 0..CAS_ATTEMPTS {
            if round > 0 {
                // Lost to a concurrent writer (usually a sibling job of the same pipeline): back off a little, with
                // jitter, so the writers spread out instead of colliding again.
                let ms = rand::random::<u64>() % (1 + 2 * round as u64);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            let stored = self
                .store
                .pipeline(id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("pipeline {id} not found")))?;
            let mut pipeline = stored.pipeline;
            let now = self.now();
            let effects = change(&mut pipeline, now)?;
            let writes = writes::for_effects(&pipeline, &effects, now);
            if self.store.update_pipeline(&pipeline, stored.version, &writes).await? {
                return Ok((pipeline, effects));
            }
        }
        Err(Error::Contention(format!(
            "pipeline {id} kept changing under this request; read it again and retry"
        )))
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
