//! The GitHub webhook intake: the gateway hands over each delivery as received ([`Intake::receive`]); the projects
//! service checks its signature (it keeps the secrets; verification only); a verified delivery is recorded in the
//! inbox (its id, deduplicated for 7 days, and the raw body, in one atomic write) before the answer. The processor
//! (`crate::intake`) then maps each delivery ([`mapping`]) and applies it: tracked runs at once, through the
//! TrackExternalRun use-case; metrics events and projects deployments through the outboxes, stored atomically with
//! the delivery's completion. A failed attempt is retried with backoff; after [`IntakeSettings::max_attempts`] the
//! delivery is parked with its reason, for an admin to list and replay.
//!
//! Every effect is idempotent downstream (ids derived from the payload, see [`mapping`]), so a delivery processed
//! again after a crash mid-processing changes nothing twice.

mod mapping;
pub mod payload;
mod status;

use std::sync::Arc;

use chrono::TimeDelta;
use prost::Message;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use devopstrack_platform::auth::{Principal, Role};
use devopstrack_proto::projects::v1 as projects_pb;

use super::{TasksApp, require};
use crate::convert;
use crate::domain::PipelineId;
use crate::error::Error;
use crate::projects::Verification;
use crate::store::inbox::{InboxDelivery, InboxEffects, InboxState, InboxStore, NewDelivery, Received};
use crate::store::{MetricEvent, MetricEventKind, OutboxEntry};

pub use mapping::{Action, BadPayload, GithubEvent, Mapped, map};

/// Largest body accepted (the gateway refuses larger ones with 413 before calling).
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
const PAGE_SIZE_DEFAULT: u32 = 20;
const PAGE_SIZE_MAX: u32 = 100;

/// How the processor retries.
#[derive(Debug, Clone, Copy)]
pub struct IntakeSettings {
    /// Failed attempts after which a delivery is parked.
    pub max_attempts: u32,
    /// How long a delivery taken for processing stays out of other processors' way (then it is taken again).
    pub lease: TimeDelta,
    /// The wait after the first failure, doubled after each one up to `max_backoff`.
    pub first_backoff: TimeDelta,
    pub max_backoff: TimeDelta,
}

impl Default for IntakeSettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            lease: TimeDelta::minutes(2),
            first_backoff: TimeDelta::seconds(1),
            max_backoff: TimeDelta::minutes(5),
        }
    }
}

/// One delivery as the gateway received it.
#[derive(Debug, Clone)]
pub struct GithubDelivery {
    /// A project id or slug (from the webhook's URL).
    pub project: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// `X-GitHub-Delivery`.
    pub delivery_id: String,
    /// `X-Hub-Signature-256`.
    pub signature: String,
    pub body: Vec<u8>,
}

/// What the intake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Recorded; processed in the background. The inbox id.
    Accepted(Uuid),
    /// Verified, nothing to record (the reason).
    Ignored(&'static str),
    /// The delivery id was recorded within the dedup window.
    Duplicate,
}

/// One page of [`Intake::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPage {
    pub deliveries: Vec<InboxDelivery>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// How one processing attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Applied and removed from the inbox.
    Done,
    /// Failed; due again later.
    Retried(String),
    /// Failed for the last time (or cannot ever succeed): parked.
    Parked(String),
    /// Another processor completed or parked it meanwhile.
    Gone,
}

pub struct Intake {
    app: Arc<TasksApp>,
    inbox: Arc<dyn InboxStore>,
    settings: IntakeSettings,
}

impl Intake {
    pub fn new(app: Arc<TasksApp>, inbox: Arc<dyn InboxStore>, settings: IntakeSettings) -> Self {
        Self { app, inbox, settings }
    }

    pub fn settings(&self) -> IntakeSettings {
        self.settings
    }

    /// Verifies the delivery with projects and, when valid, records it (or only its id, when it maps to nothing).
    /// Nothing is written for a delivery that is not verified, so unsigned floods cost no inbox space or processing.
    #[tracing::instrument(skip_all, fields(project = %delivery.project, delivery_id = %delivery.delivery_id, event = %delivery.event))]
    pub async fn receive(&self, delivery: GithubDelivery) -> Result<Verdict, Error> {
        check_input(&delivery)?;
        let verified = self
            .app
            .projects()
            .verify_github_webhook(
                &delivery.project,
                &delivery.delivery_id,
                &delivery.signature,
                &delivery.body,
            )
            .await?;
        let (project_id, project_slug) = match verified {
            Verification::Valid { project_id, slug } => (project_id, slug),
            Verification::InvalidSignature => {
                return Err(Error::Unauthenticated(
                    "signature: does not match the payload and the project's webhook secret".into(),
                ));
            }
            Verification::NotConfigured => {
                return Err(Error::NotFound(format!(
                    "project: no GitHub webhook is configured for project {:?}",
                    delivery.project
                )));
            }
        };
        let event = GithubEvent::parse(&delivery.event);
        let ignored = match map(event, &project_slug, &delivery.body) {
            Ok(Mapped::Actions(_)) => None,
            Ok(Mapped::Ignored(reason)) => Some(reason),
            Err(bad) if bad.syntax => return Err(Error::invalid("body", format!("not JSON: {bad}"))),
            Err(bad) => return Err(Error::invalid("body", bad)),
        };
        let id = Uuid::now_v7();
        let record = NewDelivery {
            id,
            project_id,
            project_slug,
            delivery_id: delivery.delivery_id,
            event: delivery.event,
            body: ignored.is_none().then_some(delivery.body),
        };
        let received = self.inbox.receive(&record, self.app.now()).await?;
        Ok(match (received, ignored) {
            (Received::Duplicate, _) => Verdict::Duplicate,
            (Received::Recorded, Some(reason)) => Verdict::Ignored(reason),
            (Received::Recorded, None) => {
                tracing::info!(%id, project = %record.project_slug, "webhook delivery accepted");
                Verdict::Accepted(id)
            }
        })
    }

    /// Admin only: deliveries in `state`, in arrival order, a page at a time.
    pub async fn list(
        &self,
        principal: &Principal,
        state: Option<InboxState>,
        page_size: u32,
        page_token: &str,
    ) -> Result<DeliveryPage, Error> {
        require(principal, Role::Admin, "listing webhook deliveries")?;
        let state = state.ok_or_else(|| Error::invalid("state", "is required: pending or parked"))?;
        let size = match page_size {
            0 => PAGE_SIZE_DEFAULT,
            n if n <= PAGE_SIZE_MAX => n,
            n => {
                return Err(Error::invalid(
                    "pageSize",
                    format!("must be 1 to {PAGE_SIZE_MAX}, not {n}"),
                ));
            }
        };
        let after = match page_token {
            "" => None,
            token => Some(Uuid::parse_str(token).map_err(|_| Error::invalid("pageToken", "is not a page token"))?),
        };
        let mut deliveries = self.inbox.list(state, after, size + 1).await?;
        let next_page_token = if deliveries.len() > size as usize {
            deliveries.truncate(size as usize);
            deliveries.last().map(|d| d.id.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(DeliveryPage {
            deliveries,
            next_page_token,
        })
    }

    /// Admin only: a parked delivery is processed again from its first attempt.
    pub async fn replay(&self, principal: &Principal, id: &str) -> Result<InboxDelivery, Error> {
        require(principal, Role::Admin, "replaying webhook deliveries")?;
        let id = Uuid::parse_str(id).map_err(|_| Error::invalid("id", "must be a webhook delivery id (a UUID)"))?;
        let replayed = self.inbox.replay(id, self.app.now()).await?;
        let delivery = replayed.ok_or_else(|| Error::NotFound(format!("id: no parked webhook delivery {id}")))?;
        tracing::info!(%id, delivery_id = %delivery.delivery_id, "parked webhook delivery replayed");
        Ok(delivery)
    }

    /// Takes up to `limit` due deliveries (leased for [`IntakeSettings::lease`]).
    /// How many deliveries are parked (the gauge behind the parked-deliveries alert).
    pub async fn parked(&self) -> Result<u64, Error> {
        Ok(self.inbox.count(InboxState::Parked).await?)
    }

    pub async fn take_due(&self, limit: u32) -> Result<Vec<InboxDelivery>, Error> {
        Ok(self.inbox.take_due(self.app.now(), self.settings.lease, limit).await?)
    }

    /// Forgets delivery ids older than the dedup window.
    pub async fn prune(&self) -> Result<u64, Error> {
        Ok(self
            .inbox
            .prune_ids(self.app.now() - crate::store::inbox::DEDUP_WINDOW)
            .await?)
    }

    /// One processing attempt of a taken delivery.
    #[tracing::instrument(skip_all, fields(id = %delivery.id, delivery_id = %delivery.delivery_id, event = %delivery.event))]
    pub async fn process(&self, delivery: &InboxDelivery) -> Result<Attempt, Error> {
        let failure = match self.apply(delivery).await {
            Ok(effects) => {
                return Ok(if self.inbox.complete(delivery.id, &effects).await? {
                    Attempt::Done
                } else {
                    Attempt::Gone
                });
            }
            Err(failure) => failure,
        };
        let now = self.app.now();
        let attempts = delivery.attempts.saturating_add(1);
        let (settled, attempt) = match failure {
            Failure::Final(why) => (self.inbox.park(delivery.id, &why, now).await?, Attempt::Parked(why)),
            Failure::Retry(why) if attempts >= self.settings.max_attempts => {
                (self.inbox.park(delivery.id, &why, now).await?, Attempt::Parked(why))
            }
            Failure::Retry(why) => {
                let at = now + backoff(&self.settings, attempts);
                (self.inbox.retry(delivery.id, &why, at).await?, Attempt::Retried(why))
            }
        };
        Ok(if settled { attempt } else { Attempt::Gone })
    }

    /// Maps the delivery and makes its direct calls; answers what goes to the outboxes.
    async fn apply(&self, delivery: &InboxDelivery) -> Result<InboxEffects, Failure> {
        let event = GithubEvent::parse(&delivery.event);
        let actions = match map(event, &delivery.project_slug, &delivery.body) {
            Ok(Mapped::Actions(actions)) => actions,
            Ok(Mapped::Ignored(_)) => return Ok(InboxEffects::default()),
            Err(bad) => return Err(Failure::Final(format!("the body no longer maps: {bad}"))),
        };
        let now = self.app.now();
        let metrics_on = self.app.metrics_service().is_some();
        let mut effects = InboxEffects::default();
        for action in actions {
            let metric = |kind: MetricEventKind, payload: Vec<u8>| MetricEvent { kind, payload };
            match action {
                Action::TrackRun(request) => self.track(request).await?,
                Action::JobRun(run) => effects
                    .metrics
                    .push(metric(MetricEventKind::JobRun, run.encode_to_vec())),
                Action::MetricsDeployment(d) => effects
                    .metrics
                    .push(metric(MetricEventKind::Deployment, d.encode_to_vec())),
                Action::Changes(changes) => effects.metrics.extend(
                    changes
                        .into_iter()
                        .map(|c| metric(MetricEventKind::Change, c.encode_to_vec())),
                ),
                Action::Incident(i) => effects
                    .metrics
                    .push(metric(MetricEventKind::Incident, i.encode_to_vec())),
                Action::ProjectDeployment(deployment) => effects.outbox.push(OutboxEntry {
                    id: outbox_id(&deployment.id),
                    payload: projects_pb::RecordDeploymentRequest {
                        deployment: Some(deployment),
                    }
                    .encode_to_vec(),
                    attempts: 0,
                    due_at: now,
                }),
            }
        }
        if !metrics_on {
            // Delivery is off: keep nothing for it, as pipeline writes do.
            effects.metrics.clear();
        }
        Ok(effects)
    }

    /// TrackExternalRun as this service. A refusal for good (invalid, unknown project) is logged and dropped: a
    /// retry would be refused again.
    async fn track(&self, request: devopstrack_proto::tasks::v1::TrackExternalRunRequest) -> Result<(), Failure> {
        let track = match convert::track_external_run(request) {
            Ok(track) => track,
            Err(e) => {
                tracing::warn!(error = %e, "webhook delivery: the run is refused; dropped");
                return Ok(());
            }
        };
        let bearer = self
            .app
            .projects()
            .service_bearer()
            .await
            .map_err(|e| Failure::Retry(format!("no service token: {e}")))?;
        match self.app.track_external_run(&service_principal(), &bearer, track).await {
            Ok(_) => Ok(()),
            Err(e @ (Error::InvalidInput(_) | Error::NotFound(_) | Error::FailedPrecondition(_))) => {
                tracing::warn!(error = %e, "webhook delivery: the run is refused; dropped");
                Ok(())
            }
            Err(e @ Error::PermissionDenied(_)) => Err(Failure::Final(format!("tracking the run: {e}"))),
            Err(
                e @ (Error::Unauthenticated(_)
                | Error::Aborted(_)
                | Error::NotYet(_)
                | Error::Contention(_)
                | Error::Unavailable(_)
                | Error::Internal(_)),
            ) => {
                if matches!(e, Error::Unauthenticated(_)) {
                    self.app.projects().service_tokens().forget().await;
                }
                Err(Failure::Retry(format!("tracking the run: {e:#}")))
            }
        }
    }
}

enum Failure {
    /// May pass: retried with backoff, parked after the last attempt.
    Retry(String),
    /// Will not pass by itself: parked at once.
    Final(String),
}

/// The principal the processor acts as (the service's own token goes with it to projects).
fn service_principal() -> Principal {
    Principal {
        subject: "service:tasks".into(),
        role: Role::Service,
        name: "tasks webhook intake".into(),
        token_id: String::new(),
        expires_at: 0,
    }
}

/// The deployment outbox is keyed by a UUID: the projects deployment id (`gh-deploy-status:<id>`), hashed.
fn outbox_id(deployment_id: &str) -> PipelineId {
    let digest = Sha256::digest(format!("webhook-deployment:{deployment_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    PipelineId::parse(&Uuid::from_bytes(bytes).to_string()).unwrap_or_default()
}

/// `first_backoff · 2^(attempts-1)`, at most `max_backoff`.
fn backoff(settings: &IntakeSettings, attempts: u32) -> TimeDelta {
    let factor = 1i32.checked_shl(attempts.saturating_sub(1).min(20)).unwrap_or(i32::MAX);
    (settings.first_backoff * factor).min(settings.max_backoff)
}

/// The checks that need no peer: ids and names GitHub sends, a body within the limit.
fn check_input(delivery: &GithubDelivery) -> Result<(), Error> {
    if delivery.project.is_empty() || delivery.project.len() > 100 {
        return Err(Error::invalid("project", "is required: a project id or slug"));
    }
    let id_ok = (1..=128).contains(&delivery.delivery_id.len())
        && delivery
            .delivery_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if !id_ok {
        return Err(Error::invalid(
            "deliveryId",
            "must be 1 to 128 characters of [A-Za-z0-9._:-]",
        ));
    }
    let event_ok =
        (1..=64).contains(&delivery.event.len()) && delivery.event.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if !event_ok {
        return Err(Error::invalid(
            "event",
            "must be 1 to 64 characters of [a-z_] (a GitHub event name)",
        ));
    }
    if delivery.signature.is_empty() {
        return Err(Error::Unauthenticated("signature: the delivery is not signed".into()));
    }
    if delivery.body.len() > MAX_BODY_BYTES {
        return Err(Error::invalid("body", format!("is over {MAX_BODY_BYTES} bytes")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(event: &str, id: &str) -> GithubDelivery {
        GithubDelivery {
            project: "api".into(),
            event: event.into(),
            delivery_id: id.into(),
            signature: "sha256=00".into(),
            body: b"{}".to_vec(),
        }
    }

    #[test]
    fn bad_headers_are_invalid_input_naming_the_field() {
        for (d, field) in [
            (delivery("Push", "d-1"), "event:"),
            (delivery("push", ""), "deliveryId:"),
            (delivery("push", "d 1"), "deliveryId:"),
            (delivery("", "d-1"), "event:"),
        ] {
            match check_input(&d) {
                Err(Error::InvalidInput(message)) => assert!(message.starts_with(field), "{message}"),
                other => panic!("{field}: {other:?}"),
            }
        }
        let mut unsigned = delivery("push", "d-1");
        unsigned.signature.clear();
        assert!(matches!(check_input(&unsigned), Err(Error::Unauthenticated(_))));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let settings = IntakeSettings::default();
        assert_eq!(backoff(&settings, 1), TimeDelta::seconds(1));
        assert_eq!(backoff(&settings, 3), TimeDelta::seconds(4));
        assert_eq!(backoff(&settings, 30), TimeDelta::minutes(5));
    }

    #[test]
    fn a_deployments_outbox_id_is_stable_and_its_own() {
        assert_eq!(outbox_id("gh-deploy-status:1"), outbox_id("gh-deploy-status:1"));
        assert_ne!(outbox_id("gh-deploy-status:1"), outbox_id("gh-deploy-status:2"));
    }
}
