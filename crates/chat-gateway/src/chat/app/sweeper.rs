//! Expires actions nobody decided in time and ends those a stopped gateway left executing ([`super::recovery`]),
//! on every replica, from its start (the store changes each action once however many replicas sweep), and says so
//! in their rooms.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::ChatApp;

pub const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Sweeps now and then every `every` until `stop` is cancelled.
pub async fn run_sweeper(chat: Arc<ChatApp>, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match chat.sweep(Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "chat actions expired"),
            Err(e) => tracing::warn!(error = %e, "chat sweep failed; trying again"),
        }
        match chat.recover_stuck(Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                recovered = n,
                "chat actions left executing by a stopped gateway were ended"
            ),
            Err(e) => tracing::warn!(error = %e, "chat recovery failed; trying again"),
        }
    }
}
