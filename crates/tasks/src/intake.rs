//! The webhook inbox's processor: takes due deliveries (leased, see `store::inbox`) and processes up to
//! [`CONCURRENCY`] at once through [`Intake::process`], until `shutdown`; then it lets the deliveries in flight finish
//! (their lease keeps others off them) and returns, so the service's shutdown waits for the drain. A delivery in
//! flight when the process is killed is taken again once its lease lapses. Delivery ids older than the dedup window
//! are pruned every [`PRUNE_EVERY`].

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::app::intake::{Attempt, Intake};

/// Deliveries processed at the same time.
pub const CONCURRENCY: usize = 8;
/// How often an empty inbox is looked at again.
const POLL: Duration = Duration::from_millis(200);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Runs until `shutdown`, then drains what is in flight.
pub async fn run(intake: Arc<Intake>, shutdown: CancellationToken) {
    let mut in_flight = FuturesUnordered::new();
    let mut last_prune: Option<tokio::time::Instant> = None;
    let mut failures = 0u32;
    loop {
        if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(tokio::time::Instant::now());
            match intake.prune().await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "old webhook delivery ids pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning webhook delivery ids failed"),
            }
        }
        let room = CONCURRENCY - in_flight.len();
        let taken = if room == 0 {
            Vec::new()
        } else {
            match intake.take_due(room as u32).await {
                Ok(taken) => {
                    failures = 0;
                    taken
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(error = %e, failures, "webhook inbox: taking due deliveries failed");
                    }
                    Vec::new()
                }
            }
        };
        let took = taken.len();
        for delivery in taken {
            let intake = intake.clone();
            in_flight.push(tokio::spawn(async move {
                let outcome = intake.process(&delivery).await;
                report(&delivery.delivery_id, delivery.id, outcome);
            }));
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = in_flight.next(), if !in_flight.is_empty() => {}
            () = tokio::time::sleep(POLL), if took < room || room == 0 => {}
        }
    }
    while in_flight.next().await.is_some() {}
}

fn report(delivery_id: &str, id: uuid::Uuid, outcome: Result<Attempt, crate::error::Error>) {
    match outcome {
        Ok(Attempt::Done) => tracing::info!(%id, delivery_id, "webhook delivery processed"),
        Ok(Attempt::Gone) => tracing::debug!(%id, delivery_id, "webhook delivery settled by another processor"),
        Ok(Attempt::Retried(why)) => tracing::warn!(%id, delivery_id, %why, "webhook delivery failed; will retry"),
        Ok(Attempt::Parked(why)) => {
            tracing::error!(%id, delivery_id, %why, "webhook delivery parked: an admin may replay it")
        }
        Err(e) => tracing::warn!(%id, delivery_id, error = %e,
            "webhook delivery: settling the attempt failed; it is taken again after its lease"),
    }
}
