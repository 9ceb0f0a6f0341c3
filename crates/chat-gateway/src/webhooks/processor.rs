//! The asynchronous half of the intake: a background task takes verified, mapped deliveries off a bounded queue and
//! makes their calls on tasks, metrics and projects with the gateway's service token. A call that fails for a reason
//! that may pass (a service down or not deployed yet, a token refused) is retried with exponential backoff, up to
//! [`MAX_ATTEMPTS`]; a call the service refuses for good (invalid, unknown environment) is logged and dropped. Every
//! call is idempotent downstream (ids derived from the payload), so a retry after a lost answer changes nothing.
//!
//! Up to [`CONCURRENCY`] deliveries are processed at once, the calls of each concurrently (they do not depend on each
//! other; a call's retries keep their order). The task ends when every sender is gone (the gateway stopped), after
//! the queue is drained.
//!
//! Every verified delivery ends with `FinishGithubDelivery` on projects, which ends the claim verification took:
//! PROCESSED when every call was done or refused for good (later copies are duplicates), FAILED when a call gave up or
//! the payload could not be mapped (the delivery id is forgotten, so GitHub's redelivery is processed). A gateway that
//! dies mid-delivery finishes nothing; once the claim is older than projects' claim TTL (15 minutes by default),
//! [`recovery`](super::recovery) in a running gateway takes it over and queues it here again.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::sync::{Semaphore, mpsc};

use devopstrack_proto::metrics::v1 as metrics_pb;
use devopstrack_proto::projects::v1 as projects_pb;

use super::mapping::{Action, GithubEvent};
use super::token::ServiceToken;
use crate::clients::{MetricsClient, ProjectsClient, TasksClient};

/// Calls of one action, the first included.
pub const MAX_ATTEMPTS: u32 = 8;
/// Deliveries processed at the same time.
pub const CONCURRENCY: usize = 8;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A verified delivery and what it maps to.
#[derive(Debug)]
pub struct Delivery {
    pub event: GithubEvent,
    pub delivery_id: String,
    /// As VerifyGithubWebhook answered it: where the claim is finished.
    pub project_id: String,
    /// Empty for a delivery with nothing to record (ignored) or one that could not be mapped (`unmapped`).
    pub actions: Vec<Action>,
    /// The payload was not what its event should be (answered 400): the claim is released, not kept.
    pub unmapped: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub action: String,
    /// `done`, `rejected` (refused for good) or `gave_up` (still failing after every attempt).
    pub result: String,
}

/// What the processor calls.
pub struct Upstreams {
    pub projects: ProjectsClient,
    pub tasks: TasksClient,
    pub metrics: MetricsClient,
    pub token: Arc<ServiceToken>,
    pub outcomes: Family<ActionLabels, Counter>,
}

enum Failure {
    Retry(String),
    Rejected(String),
}

/// Runs until the queue is closed and drained.
pub async fn run(mut queue: mpsc::Receiver<Delivery>, upstreams: Arc<Upstreams>) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    while let Some(delivery) = queue.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let upstreams = upstreams.clone();
        tokio::spawn(async move {
            process(&upstreams, delivery).await;
            drop(slot);
        });
    }
    // Wait for the deliveries in flight.
    let _all = slots.acquire_many(CONCURRENCY as u32).await;
}

/// The calls of one delivery are independent of each other, so they go at once: metrics being down does not hold up
/// the deployment recorded in projects.
async fn process(upstreams: &Upstreams, delivery: Delivery) {
    let calls = delivery
        .actions
        .iter()
        .map(|action| attempt_counted(upstreams, action, &delivery));
    let results = futures::future::join_all(calls).await;
    let outcome = outcome(delivery.unmapped, &results);
    let finish = Action::FinishDelivery(projects_pb::FinishGithubDeliveryRequest {
        project: delivery.project_id.clone(),
        delivery_id: delivery.delivery_id.clone(),
        outcome: outcome.into(),
    });
    attempt_counted(upstreams, &finish, &delivery).await;
}

/// How a delivery's processing ended, from its calls' results (`done`, `rejected`, `gave_up`): a call refused for
/// good will be refused again, so only a call that gave up (or a payload that could not be mapped) is worth a
/// redelivery.
fn outcome(unmapped: bool, results: &[&str]) -> projects_pb::DeliveryOutcome {
    if unmapped || results.contains(&"gave_up") {
        projects_pb::DeliveryOutcome::Failed
    } else {
        projects_pb::DeliveryOutcome::Processed
    }
}

/// [`attempt`], counted in `devopstrack_webhook_actions_total`.
async fn attempt_counted(upstreams: &Upstreams, action: &Action, delivery: &Delivery) -> &'static str {
    let result = attempt(upstreams, action, delivery).await;
    upstreams
        .outcomes
        .get_or_create(&ActionLabels {
            action: action.name().to_owned(),
            result: result.to_owned(),
        })
        .inc();
    result
}

async fn attempt(upstreams: &Upstreams, action: &Action, delivery: &Delivery) -> &'static str {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=MAX_ATTEMPTS {
        match call(upstreams, action).await {
            Ok(()) => {
                tracing::debug!(delivery_id = %delivery.delivery_id, action = action.name(), "webhook action done");
                return "done";
            }
            Err(Failure::Rejected(why)) => {
                tracing::warn!(delivery_id = %delivery.delivery_id, event = delivery.event.label(),
                    action = action.name(), %why, "webhook action refused; dropped");
                return "rejected";
            }
            Err(Failure::Retry(why)) if attempt == MAX_ATTEMPTS => {
                tracing::error!(delivery_id = %delivery.delivery_id, event = delivery.event.label(),
                    action = action.name(), attempts = attempt, %why, "webhook action still failing; gave up");
            }
            Err(Failure::Retry(why)) => {
                tracing::warn!(delivery_id = %delivery.delivery_id, action = action.name(), attempt, %why,
                    retry_in_ms = backoff.as_millis() as u64, "webhook action failed; will retry");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    "gave_up"
}

async fn call(upstreams: &Upstreams, action: &Action) -> Result<(), Failure> {
    let token = &upstreams.token;
    let retry_token = |e: super::token::TokenError| Failure::Retry(e.to_string());
    let answer = match action.clone() {
        Action::TrackRun(request) => {
            let request = token.request(request).await.map_err(retry_token)?;
            upstreams.tasks.clone().track_external_run(request).await.map(drop)
        }
        Action::JobRun(run) => {
            let message = metrics_pb::RecordJobRunRequest { runs: vec![run] };
            let request = token.request(message).await.map_err(retry_token)?;
            upstreams.metrics.clone().record_job_run(request).await.map(drop)
        }
        Action::MetricsDeployment(deployment) => {
            let message = metrics_pb::RecordDeploymentRequest {
                deployments: vec![deployment],
            };
            let request = token.request(message).await.map_err(retry_token)?;
            upstreams.metrics.clone().record_deployment(request).await.map(drop)
        }
        Action::ProjectDeployment(deployment) => {
            let message = projects_pb::RecordDeploymentRequest {
                deployment: Some(deployment),
            };
            let request = token.request(message).await.map_err(retry_token)?;
            upstreams.projects.clone().record_deployment(request).await.map(drop)
        }
        Action::Changes(changes) => {
            let message = metrics_pb::RecordChangeRequest { changes };
            let request = token.request(message).await.map_err(retry_token)?;
            upstreams.metrics.clone().record_change(request).await.map(drop)
        }
        Action::Incident(incident) => {
            let message = metrics_pb::RecordIncidentRequest {
                incidents: vec![incident],
            };
            let request = token.request(message).await.map_err(retry_token)?;
            upstreams.metrics.clone().record_incident(request).await.map(drop)
        }
        Action::FinishDelivery(message) => {
            let request = token.request(message).await.map_err(retry_token)?;
            upstreams
                .projects
                .clone()
                .finish_github_delivery(request)
                .await
                .map(drop)
        }
    };
    match answer {
        Ok(()) => Ok(()),
        Err(status) => Err(classify(token, status).await),
    }
}

/// Refusals for good vs. failures that may pass.
async fn classify(token: &ServiceToken, status: tonic::Status) -> Failure {
    use tonic::Code;
    let why = format!("{:?}: {}", status.code(), status.message());
    match status.code() {
        Code::InvalidArgument
        | Code::NotFound
        | Code::FailedPrecondition
        | Code::PermissionDenied
        | Code::AlreadyExists
        | Code::OutOfRange => Failure::Rejected(why),
        Code::Unauthenticated => {
            token.invalidate().await;
            Failure::Retry(why)
        }
        // Unimplemented included: a service of an older release may gain the call when it is upgraded.
        Code::Ok
        | Code::Cancelled
        | Code::Unknown
        | Code::DeadlineExceeded
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::Unimplemented
        | Code::Internal
        | Code::Unavailable
        | Code::DataLoss => Failure::Retry(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use projects_pb::DeliveryOutcome::{Failed, Processed};

    #[test]
    fn only_a_call_that_gave_up_or_an_unmapped_payload_releases_the_delivery() {
        assert_eq!(outcome(false, &[]), Processed, "ignored: nothing to do");
        assert_eq!(outcome(false, &["done", "rejected"]), Processed);
        assert_eq!(outcome(false, &["done", "gave_up"]), Failed);
        assert_eq!(outcome(true, &[]), Failed);
    }
}
