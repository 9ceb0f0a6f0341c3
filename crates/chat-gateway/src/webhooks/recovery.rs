//! Recovery after a crash: a gateway that dies between its 202 and the end of processing leaves its claims
//! unfinished, and their effects lost until GitHub redelivers. Projects keeps each claim's payload and event, and
//! `ClaimStaleGithubDeliveries` hands over the claims left unfinished past its claim TTL (15 minutes by default),
//! taking each over for the caller (atomically: two gateways never get the same one; the TTL restarts). This task
//! asks for them shortly after start and then every `webhook_recovery_interval_ms`, maps each as the route does and
//! queues it for the [`processor`](super::processor), which finishes it as usual.
//!
//! It waits for room in the queue (a taken-over delivery is not refused like an HTTP one: nobody would redeliver
//! it), never stops on an error (logged, tried again at the next tick), and ends once the intake's queue is closed:
//! it holds the queue only while it hands deliveries over, so it never keeps the processor from ending.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;

use devopstrack_proto::projects::v1 as pb;

use super::mapping::{GithubEvent, Mapped, map};
use super::processor::Delivery;
use super::token::ServiceToken;
use crate::clients::ProjectsClient;

/// Deliveries asked for per call (projects also caps an answer at about 4 MiB of payload).
pub const PAGE: i32 = 20;
/// The first look, after start: soon, but not before the other services had a moment to come up.
const FIRST_LOOK: Duration = Duration::from_secs(5);

/// Why stale claims could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Projects is of a release without ClaimStaleGithubDeliveries; it may gain it when upgraded.
    #[error("the projects service does not offer ClaimStaleGithubDeliveries yet")]
    Unimplemented,
    /// Anything else (projects or auth down, the token refused, …): worth trying again later.
    #[error("{0}")]
    Failed(String),
}

/// Where stale claims come from (a trait so the loop is tested without projects).
pub trait StaleClaims: Send + Sync + 'static {
    /// Takes over at most `limit` stale claims.
    fn claim(&self, limit: i32) -> impl Future<Output = Result<Vec<pb::StaleGithubDelivery>, ClaimError>> + Send;
}

/// Projects' `ClaimStaleGithubDeliveries`, with the gateway's service token.
pub struct ProjectsClaims {
    pub projects: ProjectsClient,
    pub token: Arc<ServiceToken>,
}

impl StaleClaims for ProjectsClaims {
    async fn claim(&self, limit: i32) -> Result<Vec<pb::StaleGithubDelivery>, ClaimError> {
        let request = self
            .token
            .request(pb::ClaimStaleGithubDeliveriesRequest { limit })
            .await
            .map_err(|e| ClaimError::Failed(e.to_string()))?;
        match self.projects.clone().claim_stale_github_deliveries(request).await {
            Ok(answer) => Ok(answer.into_inner().deliveries),
            Err(status) if status.code() == tonic::Code::Unimplemented => Err(ClaimError::Unimplemented),
            Err(status) => {
                if status.code() == tonic::Code::Unauthenticated {
                    // Auth's keys may have rotated: the next tick asks for a new token.
                    self.token.invalidate().await;
                }
                Err(ClaimError::Failed(format!("{:?}: {}", status.code(), status.message())))
            }
        }
    }
}

/// Whether the loop goes on.
enum Sweep {
    Done,
    Failed(ClaimError),
    /// The intake's queue is closed: the gateway is stopping.
    Stopped,
}

/// Looks for stale claims after [`FIRST_LOOK`] (or `every`, if sooner), then every `every`, until the queue closes.
pub async fn run(claims: impl StaleClaims, queue: mpsc::WeakSender<Delivery>, every: Duration, recovered: Counter) {
    let mut wait = every.min(FIRST_LOOK);
    let mut said_unimplemented = false;
    loop {
        tokio::time::sleep(wait).await;
        wait = every;
        match sweep(&claims, &queue, &recovered).await {
            Sweep::Done => said_unimplemented = false,
            Sweep::Stopped => break,
            Sweep::Failed(ClaimError::Unimplemented) => {
                if !said_unimplemented {
                    tracing::info!(
                        retry_in_ms = every.as_millis() as u64,
                        "projects has no ClaimStaleGithubDeliveries yet; webhook recovery waits for its upgrade"
                    );
                    said_unimplemented = true;
                }
            }
            Sweep::Failed(error) => {
                tracing::warn!(%error, retry_in_ms = every.as_millis() as u64,
                    "cannot take over stale webhook deliveries; will retry");
            }
        }
    }
    tracing::debug!("webhook recovery stopped");
}

/// Takes over stale claims, a page at a time, until projects has none left. A page shorter than [`PAGE`] does not
/// mean none are left (projects caps an answer's payload), so only an empty one ends the sweep; each call takes over
/// other deliveries (their TTL restarts), so it ends.
async fn sweep(claims: &impl StaleClaims, queue: &mpsc::WeakSender<Delivery>, recovered: &Counter) -> Sweep {
    loop {
        // Before the call: a delivery taken over while the gateway stops would wait out the TTL again.
        let Some(sender) = queue.upgrade() else {
            return Sweep::Stopped;
        };
        let page = match claims.claim(PAGE).await {
            Ok(page) => page,
            Err(error) => return Sweep::Failed(error),
        };
        if page.is_empty() {
            return Sweep::Done;
        }
        for stale in page {
            let delivery = delivery(stale);
            tracing::info!(delivery_id = %delivery.delivery_id, event = delivery.event.label(),
                calls = delivery.actions.len(), "webhook delivery taken over after its processing died");
            recovered.inc();
            if sender.send(delivery).await.is_err() {
                // Taken over but not processed: it is stale again after the TTL.
                return Sweep::Stopped;
            }
        }
    }
}

/// A taken-over delivery, mapped with the event and payload it was verified with, as the route maps it: one that
/// maps to nothing finishes processed, one that cannot be mapped finishes failed (its id forgotten).
fn delivery(stale: pb::StaleGithubDelivery) -> Delivery {
    let event = GithubEvent::parse(&stale.event);
    let mut delivery = Delivery {
        event,
        delivery_id: stale.delivery_id,
        project_id: stale.project_id,
        actions: Vec::new(),
        unmapped: false,
    };
    match map(event, &stale.project_slug, &stale.payload) {
        Ok(Mapped::Actions(actions)) => delivery.actions = actions,
        Ok(Mapped::Ignored(_)) => {}
        Err(error) => {
            tracing::warn!(delivery_id = %delivery.delivery_id, event = event.label(), %error,
                "a taken-over webhook delivery cannot be mapped; it is released");
            delivery.unmapped = true;
        }
    }
    delivery
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    /// Answers what it is given, in order, then empty pages; counts the calls.
    struct Scripted {
        answers: Mutex<VecDeque<Result<Vec<pb::StaleGithubDelivery>, ClaimError>>>,
        calls: Arc<Mutex<Vec<i32>>>,
    }

    impl StaleClaims for Scripted {
        async fn claim(&self, limit: i32) -> Result<Vec<pb::StaleGithubDelivery>, ClaimError> {
            self.calls.lock().expect("not poisoned").push(limit);
            let next = self.answers.lock().expect("not poisoned").pop_front();
            next.unwrap_or(Ok(Vec::new()))
        }
    }

    fn stale(id: &str, event: &str, payload: &[u8]) -> pb::StaleGithubDelivery {
        pb::StaleGithubDelivery {
            project_id: "p-1".into(),
            project_slug: "api".into(),
            delivery_id: id.into(),
            event: event.into(),
            payload: payload.to_vec(),
        }
    }

    fn scripted(answers: Vec<Result<Vec<pb::StaleGithubDelivery>, ClaimError>>) -> (Scripted, Arc<Mutex<Vec<i32>>>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let claims = Scripted {
            answers: Mutex::new(answers.into()),
            calls: calls.clone(),
        };
        (claims, calls)
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/api/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    #[tokio::test]
    async fn errors_are_survived_and_later_deliveries_still_queued() {
        // Arrange
        let (claims, calls) = scripted(vec![
            Err(ClaimError::Failed("Unavailable: projects is down".into())),
            Err(ClaimError::Unimplemented),
            Err(ClaimError::Unimplemented),
            Ok(vec![stale("d-1", "ping", b"{}")]),
        ]);
        let (queue, mut receiver) = mpsc::channel(4);
        let recovered = Counter::default();

        // Act
        tokio::spawn(run(
            claims,
            queue.downgrade(),
            Duration::from_millis(5),
            recovered.clone(),
        ));
        let delivery = tokio::time::timeout(Duration::from_secs(5), receiver.recv())
            .await
            .expect("a delivery after the errors")
            .expect("the queue is open");

        // Assert
        assert_eq!(delivery.delivery_id, "d-1");
        assert_eq!(delivery.project_id, "p-1");
        assert_eq!(delivery.event, GithubEvent::Ping);
        assert!(
            delivery.actions.is_empty() && !delivery.unmapped,
            "ignored: finished processed"
        );
        assert_eq!(recovered.get(), 1);
        assert!(calls.lock().expect("not poisoned").len() >= 4);
    }

    #[tokio::test]
    async fn pages_are_asked_for_until_one_comes_back_empty() {
        // Arrange: a short page first (projects' payload cap), then one more, then none.
        let (claims, calls) = scripted(vec![
            Ok(vec![stale("d-1", "ping", b"{}")]),
            Ok(vec![stale("d-2", "zen", b"{}"), stale("d-3", "ping", b"{}")]),
        ]);
        let (queue, mut receiver) = mpsc::channel(8);
        let recovered = Counter::default();

        // Act
        let outcome = sweep(&claims, &queue.downgrade(), &recovered).await;

        // Assert
        assert!(matches!(outcome, Sweep::Done));
        assert_eq!(*calls.lock().expect("not poisoned"), vec![PAGE, PAGE, PAGE]);
        let ids: Vec<_> = std::iter::from_fn(|| receiver.try_recv().ok())
            .map(|d| d.delivery_id)
            .collect();
        assert_eq!(ids, ["d-1", "d-2", "d-3"]);
        assert_eq!(recovered.get(), 3);
    }

    #[test]
    fn a_taken_over_delivery_is_mapped_with_its_stored_event() {
        let run = fixture("workflow_run.completed.json");
        let tracked = delivery(stale("d-1", "workflow_run", &run));
        assert_eq!(tracked.event, GithubEvent::WorkflowRun);
        assert_eq!(
            tracked.actions,
            match map(GithubEvent::WorkflowRun, "api", &run).expect("the fixture maps") {
                Mapped::Actions(actions) => actions,
                Mapped::Ignored(why) => panic!("the fixture is ignored: {why}"),
            },
            "as the route maps it"
        );
        assert!(!tracked.actions.is_empty() && !tracked.unmapped);

        let truncated = delivery(stale("d-2", "workflow_run", b"{\"action\": "));
        assert!(
            truncated.unmapped && truncated.actions.is_empty(),
            "released: finished failed"
        );

        let other = delivery(stale("d-3", "star", b"{}"));
        assert_eq!(other.event, GithubEvent::Other);
        assert!(
            other.actions.is_empty() && !other.unmapped,
            "ignored: finished processed"
        );
    }

    #[tokio::test]
    async fn the_loop_ends_once_the_queue_is_closed() {
        // Arrange
        let (claims, _calls) = scripted(Vec::new());
        let (queue, receiver) = mpsc::channel::<Delivery>(1);
        let task = tokio::spawn(run(
            claims,
            queue.downgrade(),
            Duration::from_millis(5),
            Counter::default(),
        ));

        // Act
        drop(queue);
        drop(receiver);

        // Assert
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the loop ended")
            .expect("without panicking");
    }

    #[tokio::test]
    async fn a_full_queue_is_waited_for_not_skipped() {
        // Arrange: the queue holds one delivery, and one is already waiting in it.
        let (claims, _calls) = scripted(vec![Ok(vec![stale("d-1", "ping", b"{}")])]);
        let (queue, mut receiver) = mpsc::channel(1);
        queue
            .try_send(delivery(stale("d-0", "ping", b"{}")))
            .expect("room for one");
        let recovered = Counter::default();
        let weak = queue.downgrade();

        // Act
        let sweeping = tokio::spawn(async move { sweep(&claims, &weak, &recovered).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let still_waiting = !sweeping.is_finished();
        let first = receiver.recv().await.expect("the one waiting");
        let second = receiver.recv().await.expect("the taken-over one, once there is room");

        // Assert
        assert!(still_waiting, "the sweep waits for room");
        assert_eq!(
            (first.delivery_id.as_str(), second.delivery_id.as_str()),
            ("d-0", "d-1")
        );
        assert!(matches!(sweeping.await.expect("no panic"), Sweep::Done));
    }
}
