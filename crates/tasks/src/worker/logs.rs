//! A running attempt's log lines: written to the job log and the event stream in batches.

use std::sync::Arc;

use chrono::Utc;
use prost::Message;
use tokio::sync::mpsc;

use devopstrack_proto::tasks::v1 as pb;

use crate::app::TasksApp;
use crate::convert;
use crate::domain::{JobId, Pipeline};
use crate::store::NewEvent;

/// Log lines are written in batches of at most this many, or every [`LOG_FLUSH`].
const LOG_BATCH: usize = 200;
const LOG_FLUSH: std::time::Duration = std::time::Duration::from_millis(50);

/// Writes the executor's lines to the job log and the event stream in batches, until the executor drops its sink.
/// The proto snapshots the log events carry are built on the first line, so a job that logs nothing costs nothing.
pub(super) async fn pump_logs(
    app: Arc<TasksApp>,
    pipeline: Arc<Pipeline>,
    stage: String,
    job_id: JobId,
    attempt: u32,
    mut rx: mpsc::Receiver<String>,
) {
    let Some(first) = rx.recv().await else { return };
    let header = convert::pipeline_header(&pipeline);
    let Some(job) = pipeline.jobs().find(|j| j.id == job_id) else {
        return;
    };
    let job = convert::job(&pipeline, &stage, job);
    let mut offset = 0u64;
    let mut batch = vec![first];
    loop {
        let deadline = tokio::time::Instant::now() + LOG_FLUSH;
        while batch.len() < LOG_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(line)) => batch.push(line),
                Ok(None) | Err(_) => break,
            }
        }
        let lines = std::mem::take(&mut batch);
        if let Err(e) = app.append_log_lines(job_id, attempt, offset, &lines).await {
            tracing::warn!(error = %e, "writing job log lines failed; they are lost");
        }
        let event = pb::Event {
            r#type: pb::EventType::JobLog.into(),
            at: Some(convert::timestamp(Utc::now())),
            pipeline: Some(header.clone()),
            job: Some(job.clone()),
            log_offset: offset,
            log_lines: lines,
            ..Default::default()
        };
        offset += event.log_lines.len() as u64;
        let event = NewEvent {
            project: pipeline.meta.project.clone(),
            pipeline: pipeline.id,
            payload: event.encode_to_vec(),
        };
        if let Err(e) = app.publish_events(&[event]).await {
            tracing::warn!(error = %e, "publishing job log lines failed");
        }
        match rx.recv().await {
            Some(line) => batch.push(line),
            None => return,
        }
    }
}
