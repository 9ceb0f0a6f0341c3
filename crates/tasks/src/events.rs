//! The live event fan-out of one process: one task tails the store's event stream and broadcasts every event to the
//! watchers of this process (gRPC `WatchEvents` streams). A watcher that resumes from an event id first reads the
//! retained history from the store, then switches to the broadcast, skipping what it already sent.
//!
//! A watcher that falls more than [`BROADCAST_CAPACITY`] events behind is told so and must resume from its last id:
//! a slow consumer never slows the others.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::app::TasksApp;
use crate::store::{StoredEvent, event_order};

pub const BROADCAST_CAPACITY: usize = 4096;
/// Events read from the store per round trip.
const BATCH: usize = 512;
/// How long one tail read blocks waiting for a new event.
const TAIL_WAIT: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct EventHub {
    sender: broadcast::Sender<Arc<StoredEvent>>,
}

impl EventHub {
    /// Starts tailing the event stream from its newest event until `shutdown`.
    pub async fn start(app: Arc<TasksApp>, shutdown: CancellationToken) -> Self {
        let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
        let hub = Self { sender };
        let start = match app.newest_event_id().await {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(error = %e, "event stream: reading the newest event id failed; starting from the oldest");
                None
            }
        };
        tokio::spawn(tail(app, hub.sender.clone(), start, shutdown));
        hub
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.sender.subscribe()
    }

    /// Live watchers in this process.
    pub fn watchers(&self) -> usize {
        self.sender.receiver_count()
    }
}

async fn tail(
    app: Arc<TasksApp>,
    sender: broadcast::Sender<Arc<StoredEvent>>,
    mut after: Option<String>,
    shutdown: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        let read = tokio::select! {
            () = shutdown.cancelled() => return,
            read = app.events_after(after.as_deref(), BATCH, TAIL_WAIT) => read,
        };
        match read {
            Ok(events) => {
                failures = 0;
                for event in events {
                    after = Some(event.id.clone());
                    // No receiver is fine: nobody is watching.
                    let _ = sender.send(Arc::new(event));
                }
            }
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(error = %e, failures, "event stream: tail read failed; retrying");
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }
}

/// Whether `id` comes strictly after `last` in the store's order (unparseable ids are treated as new).
pub fn is_after(id: &str, last: Option<(u64, u64)>) -> bool {
    match (event_order(id), last) {
        (Some(id), Some(last)) => id > last,
        _ => true,
    }
}
