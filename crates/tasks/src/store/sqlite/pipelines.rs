//! Pipelines: stored whole as the codec's document, with copies of the filter keys (project, status, idempotency key)
//! in columns, and the run number in its own column (taken from `run_counters` in the create transaction). Every write
//! is one transaction carrying its [`Writes`].

use chrono::Utc;
use sqlx::sqlite::{Sqlite, SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row};

use super::rows::Statements;
use super::{SqliteStore, Tx, corrupt, events, outbox, pipeline_id_col, queue, u64_col};
use crate::domain::{JobId, Pipeline, PipelineId};
use crate::store::{
    Created, PipelineFilter, StoreResult, StoredPipeline, Writes, decode_pipeline, encode_pipeline, number_stamp,
};

#[tracing::instrument(name = "store.create_pipeline", skip_all, fields(db.system = "sqlite"))]
pub(super) async fn create(store: &SqliteStore, pipeline: &Pipeline, writes: &Writes) -> StoreResult<Created> {
    let mut tx = store.begin_write().await?;
    if let Some(key) = &pipeline.meta.idempotency_key {
        let existing =
            sqlx::query("SELECT id, version, doc, number FROM pipelines WHERE project = ?1 AND idempotency_key = ?2")
                .bind(&pipeline.meta.project)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(row) = existing {
            return Ok(Created::Existing(stored_from_row(&row)?));
        }
    }
    // Under the writer lock of this transaction: numbers follow each other with no gap, and a rollback returns its own.
    let stored_number: i64 = sqlx::query_scalar(
        "INSERT INTO run_counters (project, last) VALUES (?1, 1) \
         ON CONFLICT (project) DO UPDATE SET last = last + 1 RETURNING last",
    )
    .bind(&pipeline.meta.project)
    .fetch_one(&mut *tx)
    .await?;
    let number = u64::try_from(stored_number).map_err(|_| corrupt(format!("run number {stored_number}")))?;
    let mut statements = Statements::new();
    statements
        .one(&mut tx, 7, |query| {
            query
                .push("INSERT INTO pipelines (id, project, status, idempotency_key, version, doc, created_at, number) VALUES (")
                .push_bind(pipeline.id.to_string())
                .push(", ")
                .push_bind(pipeline.meta.project.clone())
                .push(", ")
                .push_bind(pipeline.status.as_str())
                .push(", ")
                .push_bind(pipeline.meta.idempotency_key.clone())
                .push(", 1, ")
                .push_bind(encode_pipeline(pipeline))
                .push(", ")
                .push_bind(devopstrack_platform::sqlite::micros(pipeline.created_at))
                .push(", ")
                .push_bind(stored_number)
                .push(")");
        })
        .await?;
    index_jobs(
        &mut statements,
        &mut tx,
        pipeline,
        "INSERT INTO pipeline_jobs (job, pipeline)",
    )
    .await?;
    let stamped = stamp_events(pipeline, writes, number);
    apply_writes(&mut statements, &mut tx, &stamped).await?;
    statements.send(&mut tx).await?;
    tx.commit().await?;
    store.committed(!writes.enqueue.is_empty(), writes.events.len()).await;
    Ok(Created::Created { number })
}

/// `writes` with [`number_stamp`] appended to the events about `pipeline`.
fn stamp_events(pipeline: &Pipeline, writes: &Writes, number: u64) -> Writes {
    let stamp = number_stamp(number);
    let mut stamped = writes.clone();
    for event in stamped.events.iter_mut().filter(|e| e.pipeline == pipeline.id) {
        event.payload.extend_from_slice(&stamp);
    }
    stamped
}

pub(super) async fn get(pool: &SqlitePool, id: PipelineId) -> StoreResult<Option<StoredPipeline>> {
    let row = sqlx::query("SELECT id, version, doc, number FROM pipelines WHERE id = ?1")
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(stored_from_row).transpose()
}

pub(super) async fn by_number(pool: &SqlitePool, project: &str, number: u64) -> StoreResult<Option<StoredPipeline>> {
    // No stored number is that large.
    let Ok(number) = i64::try_from(number) else {
        return Ok(None);
    };
    let row = sqlx::query("SELECT id, version, doc, number FROM pipelines WHERE project = ?1 AND number = ?2")
        .bind(project)
        .bind(number)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(stored_from_row).transpose()
}

pub(super) async fn of_job(pool: &SqlitePool, job: JobId) -> StoreResult<Option<PipelineId>> {
    let row = sqlx::query("SELECT pipeline FROM pipeline_jobs WHERE job = ?1")
        .bind(job.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(|r| pipeline_id_col(r, "pipeline")).transpose()
}

/// Each filter combination walks one index (see the migration) backwards from `before`.
pub(super) async fn list(
    pool: &SqlitePool,
    filter: &PipelineFilter,
    before: Option<PipelineId>,
    limit: u32,
) -> StoreResult<Vec<Pipeline>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut query = QueryBuilder::<Sqlite>::new("SELECT id, doc, number FROM pipelines WHERE 1 = 1");
    if let Some(project) = &filter.project {
        query.push(" AND project = ").push_bind(project.clone());
    }
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(before) = before {
        query.push(" AND id < ").push_bind(before.to_string());
    }
    query.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
    let rows = query.build().fetch_all(pool).await?;
    rows.iter().map(pipeline_from_row).collect()
}

pub(super) async fn update(
    store: &SqliteStore,
    pipeline: &Pipeline,
    expected_version: u64,
    writes: &Writes,
) -> StoreResult<bool> {
    // No stored version is that large (they count writes from 1), so it cannot match.
    let Ok(expected) = i64::try_from(expected_version) else {
        return Ok(false);
    };
    let mut tx = store.begin_write().await?;
    let updated =
        sqlx::query("UPDATE pipelines SET status = ?1, doc = ?2, version = version + 1 WHERE id = ?3 AND version = ?4")
            .bind(pipeline.status.as_str())
            .bind(encode_pipeline(pipeline))
            .bind(pipeline.id.to_string())
            .bind(expected)
            .execute(&mut *tx)
            .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    // A run tracked from GitHub gains jobs with its deliveries; any other pipeline's jobs were indexed at creation.
    let mut statements = Statements::new();
    if pipeline.is_tracked() {
        index_jobs(
            &mut statements,
            &mut tx,
            pipeline,
            "INSERT OR IGNORE INTO pipeline_jobs (job, pipeline)",
        )
        .await?;
    }
    apply_writes(&mut statements, &mut tx, writes).await?;
    statements.send(&mut tx).await?;
    tx.commit().await?;
    store.committed(!writes.enqueue.is_empty(), writes.events.len()).await;
    Ok(true)
}

/// Indexes the pipeline's jobs (`head`: the insert, which may ignore rows already there).
async fn index_jobs(statements: &mut Statements, tx: &mut Tx, pipeline: &Pipeline, head: &str) -> StoreResult<()> {
    let id = pipeline.id.to_string();
    let jobs: Vec<JobId> = pipeline.jobs().map(|j| j.id).collect();
    statements
        .insert(tx, head, 2, &jobs, |mut row, job| {
            row.push_bind(job.to_string()).push_bind(id.clone());
        })
        .await
}

/// Adds what a pipeline write carries to its statements: one statement per kind of row.
async fn apply_writes(statements: &mut Statements, tx: &mut Tx, writes: &Writes) -> StoreResult<()> {
    let now = Utc::now();
    queue::enqueue(statements, tx, &writes.enqueue, now).await?;
    queue::request_stop(statements, tx, &writes.stop, now).await?;
    events::insert(statements, tx, &writes.events).await?;
    if let Some(entry) = &writes.outbox {
        outbox::put(statements, tx, entry).await?;
    }
    outbox::put_metrics(statements, tx, &writes.metric_events).await?;
    queue::ack_in(statements, tx, &writes.ack).await
}

/// Decodes the document and checks it is the row's pipeline (a document copied between rows by hand is corrupt).
fn pipeline_from_row(row: &SqliteRow) -> StoreResult<Pipeline> {
    let id = pipeline_id_col(row, "id")?;
    let doc: Vec<u8> = row.try_get("doc")?;
    let mut pipeline = decode_pipeline(&doc)?;
    pipeline.number = u64_col(row, "number")?;
    if pipeline.id != id {
        return Err(corrupt(format!(
            "pipeline {id}: the document is pipeline {}",
            pipeline.id
        )));
    }
    Ok(pipeline)
}

fn stored_from_row(row: &SqliteRow) -> StoreResult<StoredPipeline> {
    Ok(StoredPipeline {
        pipeline: pipeline_from_row(row)?,
        version: u64_col(row, "version")?,
    })
}
