//! The queue of the edge's audit records and its single writer: a request's record is queued
//! ([`AuditLog::record`]) after its answer, and one writer commits what is queued in one transaction per batch (up to
//! [`MAX_BATCH`]), so a burst of writes costs one store commit per batch, not one per request. A full queue holds the
//! request back (up to [`QUEUE_WAIT`]) rather than drop its record. On shutdown the writer commits everything queued
//! before it returns. What the records hold is [`crate::middleware::audit`]'s business; this module knows only the
//! chat store, so the app state can hold the queue without depending on the middleware.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use devopstrack_peers::Backoff;
use devopstrack_platform::metrics::MetricsRegistry;

use crate::chat::store::{ChatStore, NewAuditRecord, StoreError};

/// Records queued before a request waits for room.
pub const QUEUE: usize = 4_096;
/// Records committed in one transaction at most.
pub const MAX_BATCH: usize = 512;
/// How long a request waits for room in a full queue before its record is dropped (and counted).
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);
/// The wait before writing a batch again after the store failed.
const RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

/// The queue into the trail; clones share it.
#[derive(Clone)]
pub struct AuditLog {
    sender: mpsc::Sender<NewAuditRecord>,
    dropped: Counter,
}

/// The writer's end, started with [`AuditWriter::spawn`].
pub struct AuditWriter {
    store: Arc<dyn ChatStore>,
    receiver: mpsc::Receiver<NewAuditRecord>,
}

impl AuditLog {
    pub fn new(store: Arc<dyn ChatStore>, metrics: &MetricsRegistry) -> (Self, AuditWriter) {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let dropped = Counter::default();
        metrics.register(
            "devopstrack_audit_records_dropped",
            "Audit records of requests dropped because the audit queue stayed full (the chat store was too slow or down)",
            dropped.clone(),
        );
        (Self { sender, dropped }, AuditWriter { store, receiver })
    }

    /// Queues the record of a mutating request that was answered.
    pub async fn record(&self, record: NewAuditRecord) {
        let queued = match self.sender.try_send(record) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(record)) => self
                .sender
                .send_timeout(record, QUEUE_WAIT)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(why) = queued {
            self.dropped.inc();
            tracing::error!(why, "an audit record was dropped");
        }
    }
}

impl AuditWriter {
    /// Commits queued records until `stop`, then what is still queued, and returns.
    pub fn spawn(self, stop: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(self.run(stop))
    }

    async fn run(mut self, stop: CancellationToken) {
        loop {
            let first = tokio::select! {
                biased;
                record = self.receiver.recv() => record,
                () = stop.cancelled() => None,
            };
            let Some(first) = first else { break };
            let batch = self.batch(first);
            self.commit(batch, &stop).await;
        }
        // Stopping: the server has answered its last request, so what is queued now is all there will be.
        self.receiver.close();
        while let Some(first) = self.receiver.recv().await {
            let batch = self.batch(first);
            self.commit(batch, &stop).await;
        }
    }

    /// `first` and whatever else is queued, up to [`MAX_BATCH`].
    fn batch(&mut self, first: NewAuditRecord) -> Vec<NewAuditRecord> {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match self.receiver.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        batch
    }

    /// Writes `batch` in one transaction, retrying while the store fails (a few times once stopping). A record
    /// the store refuses is logged and left out, never the others.
    async fn commit(&self, batch: Vec<NewAuditRecord>, stop: &CancellationToken) {
        let mut delays = RETRY.delays();
        let mut attempts_after_stop = 0;
        loop {
            match self.store.append_audit_batch(&batch).await {
                Ok(()) => return,
                Err(StoreError::InvalidInput(_)) if batch.len() > 1 => {
                    for record in batch {
                        Box::pin(self.commit(vec![record], stop)).await;
                    }
                    return;
                }
                Err(StoreError::InvalidInput(why)) => {
                    tracing::error!(why, kind = batch[0].kind, "an audit record was refused by the store");
                    return;
                }
                Err(error) => {
                    if stop.is_cancelled() {
                        attempts_after_stop += 1;
                        if attempts_after_stop > 3 {
                            tracing::error!(%error, lost = batch.len(), "audit records lost at shutdown");
                            return;
                        }
                    }
                    let delay = delays.next_delay();
                    tracing::warn!(%error, records = batch.len(), retry_in_ms = delay.as_millis() as u64, "writing audit records failed");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}
