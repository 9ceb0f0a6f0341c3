//! Pipelines: one hash each (the codec's document, its version and status) with sorted-set indexes per list filter.
//! Creates and updates are the `create` / `update` scripts, carrying the write's [`Writes`].

use ::redis::{FromRedisValue, Script, ScriptInvocation};
use chrono::Utc;

use super::{GROUP, RedisStore, corrupt, millis};
use crate::domain::{JobId, Pipeline, PipelineId, PipelineStatus};
use crate::store::{
    Created, MAX_EVENTS, PipelineFilter, StoreResult, StoredPipeline, Writes, decode_pipeline, encode_pipeline,
};

/// A stop flag outlives the longest job timeout (24 h) plus time spent queued.
const STOP_TTL: std::time::Duration = std::time::Duration::from_secs(2 * 24 * 3600);

/// Which script a pipeline write runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Create,
    Update,
}

impl RedisStore {
    /// The create or update script with the arguments described in `writes.lua`. `check` is the idempotency field
    /// (create) or the expected version (update).
    fn pipeline_write<'s>(
        &self,
        script: &'s Script,
        p: &Pipeline,
        check: &str,
        next_version: u64,
        writes: &Writes,
        kind: Kind,
    ) -> ScriptInvocation<'s> {
        let k = &self.keys;
        let id = p.id.to_string();
        let project = p.meta.project.as_str();
        let mut inv = script.prepare_invoke();
        inv.key(k.pipeline(&id))
            .key(k.job_pipelines())
            .key(k.idempotency())
            .key(k.index(None, None))
            .key(k.index(Some(project), None))
            .key(k.index(None, Some(p.status)))
            .key(k.index(Some(project), Some(p.status)))
            .key(k.queue())
            .key(k.delayed())
            .key(k.events())
            .key(k.outbox_payloads())
            .key(k.outbox_attempts())
            .key(k.outbox_due())
            .key(k.metric_events())
            .key(k.run_counters())
            .key(k.by_number(project));
        // An update moves the pipeline out of its stored status's indexes (the script knows which that is).
        let others: Vec<PipelineStatus> = match kind {
            Kind::Update => PipelineStatus::ALL.into_iter().filter(|s| *s != p.status).collect(),
            Kind::Create => Vec::new(),
        };
        for s in &others {
            inv.key(k.index(None, Some(*s))).key(k.index(Some(project), Some(*s)));
        }
        for (job, attempt) in &writes.stop {
            inv.key(k.stop(*job, *attempt));
        }

        inv.arg(&id)
            .arg(encode_pipeline(p))
            .arg(check)
            .arg(next_version)
            .arg(p.status.as_str())
            .arg(project)
            .arg(Utc::now().timestamp_millis())
            .arg(MAX_EVENTS)
            .arg(millis(STOP_TTL))
            .arg(GROUP);
        // Jobs never change after creation, except in a run tracked from GitHub (they arrive with its deliveries):
        // only the create indexes them, or any write of a tracked run.
        if matches!(kind, Kind::Create) || p.is_tracked() {
            inv.arg(p.jobs().count());
            for job in p.jobs() {
                inv.arg(job.id.to_string());
            }
        } else {
            inv.arg(0);
        }
        inv.arg(others.len());
        for s in &others {
            inv.arg(s.as_str());
        }
        inv.arg(writes.enqueue.len());
        for q in &writes.enqueue {
            inv.arg(q.pipeline.to_string())
                .arg(q.job.to_string())
                .arg(q.attempt)
                .arg(
                    q.not_before
                        .map_or_else(String::new, |t| t.timestamp_millis().to_string()),
                );
        }
        inv.arg(writes.stop.len()).arg(writes.events.len());
        for e in &writes.events {
            inv.arg(&e.project).arg(e.pipeline.to_string()).arg(&e.payload[..]);
        }
        match &writes.outbox {
            None => inv.arg("0"),
            Some(o) => inv
                .arg("1")
                .arg(o.id.to_string())
                .arg(&o.payload[..])
                .arg(o.attempts)
                .arg(o.due_at.timestamp_millis()),
        };
        inv.arg(writes.metric_events.len());
        for m in &writes.metric_events {
            inv.arg(m.kind.as_str()).arg(&m.payload[..]);
        }
        // Entry ids this store never issued are entries that are gone: nothing to remove.
        let acks: Vec<&str> = writes
            .ack
            .iter()
            .map(|d| d.entry.as_str())
            .filter(|e| super::EntryId::parse(e).is_some())
            .collect();
        inv.arg(acks.len());
        for entry in acks {
            inv.arg(entry);
        }
        inv
    }

    /// Also answers [`Created::Existing`] when a pipeline with this id is already stored (a retried create).
    #[tracing::instrument(name = "store.create_pipeline", skip_all, fields(db.system = "redis"))]
    pub(super) async fn create(&self, pipeline: &Pipeline, writes: &Writes) -> StoreResult<Created> {
        let check = match &pipeline.meta.idempotency_key {
            Some(key) => idempotency_field(&pipeline.meta.project, key),
            None => String::new(),
        };
        let answer: ::redis::Value = self
            .pipeline_write(&self.scripts.create, pipeline, &check, 1, writes, Kind::Create)
            .invoke_async(&mut self.conn())
            .await?;
        let existing = match answer {
            ::redis::Value::Int(number) => {
                let number = u64::try_from(number).map_err(|_| corrupt(format!("run number {number}")))?;
                return Ok(Created::Created { number });
            }
            other => String::from_redis_value(other).map_err(|e| corrupt(format!("the create script answered {e}")))?,
        };
        let id = PipelineId::parse(&existing).map_err(|e| corrupt(format!("idempotency index: {e}")))?;
        match self.get(id).await? {
            Some(stored) => Ok(Created::Existing(stored)),
            None => Err(corrupt(format!("idempotency index names missing pipeline {id}"))),
        }
    }

    pub(super) async fn get(&self, id: PipelineId) -> StoreResult<Option<StoredPipeline>> {
        let (doc, version, number): (Option<Vec<u8>>, Option<String>, Option<String>) = ::redis::cmd("HMGET")
            .arg(self.keys.pipeline(&id.to_string()))
            .arg("doc")
            .arg("version")
            .arg("number")
            .query_async(&mut self.conn())
            .await?;
        let (Some(doc), Some(version)) = (doc, version) else {
            return Ok(None);
        };
        let version = version
            .parse()
            .map_err(|_| corrupt(format!("pipeline {id}: version {version:?}")))?;
        Ok(Some(StoredPipeline {
            pipeline: numbered(&doc, number)?,
            version,
        }))
    }

    pub(super) async fn by_number(&self, project: &str, number: u64) -> StoreResult<Option<StoredPipeline>> {
        let id: Option<String> = ::redis::cmd("HGET")
            .arg(self.keys.by_number(project))
            .arg(number)
            .query_async(&mut self.conn())
            .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        let id = PipelineId::parse(&id).map_err(|e| corrupt(format!("run {project}#{number}: {e}")))?;
        self.get(id).await
    }

    pub(super) async fn of_job(&self, job: JobId) -> StoreResult<Option<PipelineId>> {
        let id: Option<String> = ::redis::cmd("HGET")
            .arg(self.keys.job_pipelines())
            .arg(job.to_string())
            .query_async(&mut self.conn())
            .await?;
        id.map(|id| PipelineId::parse(&id).map_err(|e| corrupt(format!("pipeline of job {job}: {e}"))))
            .transpose()
    }

    pub(super) async fn list(
        &self,
        filter: &PipelineFilter,
        before: Option<PipelineId>,
        limit: u32,
    ) -> StoreResult<Vec<Pipeline>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ::redis::cmd("ZREVRANGEBYLEX")
            .arg(self.keys.index(filter.project.as_deref(), filter.status))
            .arg(before.map_or_else(|| "+".to_owned(), |b| format!("({b}")))
            .arg("-")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut self.conn())
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = ::redis::pipe();
        for id in &ids {
            pipe.cmd("HMGET").arg(self.keys.pipeline(id)).arg("doc").arg("number");
        }
        let docs: Vec<(Option<Vec<u8>>, Option<String>)> = pipe.query_async(&mut self.conn()).await?;
        // Pipelines are never deleted, so a listed id always has its document.
        docs.into_iter()
            .filter_map(|(doc, number)| Some((doc?, number)))
            .map(|(doc, number)| numbered(&doc, number))
            .collect()
    }

    /// The project and idempotency key are fixed at creation: the indexes use the pipeline's project as given.
    pub(super) async fn update(
        &self,
        pipeline: &Pipeline,
        expected_version: u64,
        writes: &Writes,
    ) -> StoreResult<bool> {
        let Some(next) = expected_version.checked_add(1) else {
            return Ok(false);
        };
        let applied: i64 = self
            .pipeline_write(
                &self.scripts.update,
                pipeline,
                &expected_version.to_string(),
                next,
                writes,
                Kind::Update,
            )
            .invoke_async(&mut self.conn())
            .await?;
        Ok(applied == 1)
    }
}

/// The pipeline in `doc` with its run number (the hash's `number` field; 0 only for a pipeline stored before run
/// numbers that the backfill at connect has not reached, i.e. written by an older version since).
fn numbered(doc: &[u8], number: Option<String>) -> StoreResult<Pipeline> {
    let mut pipeline = decode_pipeline(doc)?;
    if let Some(number) = number {
        pipeline.number = number
            .parse()
            .map_err(|_| corrupt(format!("pipeline {}: run number {number:?}", pipeline.id)))?;
    }
    Ok(pipeline)
}

/// Length-prefixed, so no `(project, key)` pair can collide with another.
pub(super) fn idempotency_field(project: &str, key: &str) -> String {
    format!("{}:{project}{key}", project.len())
}
