//! The GitHub integration's use-cases: an admin sets a project's webhook secret (sealed at rest, never answered back),
//! anyone who reads sees whether one is set, and the gateway's webhook intake (the `service` role only) asks whether a
//! delivery is signed with it and new (claiming it, with its event and payload kept), then says how processing it
//! ended. After a crash between the two, the gateway takes over the claims left unfinished past the claim TTL and
//! processes them again from what they kept. The secret never leaves this service.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use devopstrack_platform::auth::{Principal, Role};

use super::releases::ensure_active;
use super::{ProjectRef, ProjectsApp, require, store_err};
use crate::domain::{
    DELIVERY_DEDUP_WINDOW, DeliveryOutcome, GithubEvent, GithubIntegrationRecord, KeptDelivery, ProjectRecord, Slug,
    WebhookVerdict, check_webhook_secret, parse_delivery_id, signature_matches,
};
use crate::error::Error;
use crate::secrets::SecretsKey;

/// Delivery ids older than the dedup window are pruned at most this often (by whichever delivery comes first).
const PRUNE_EVERY: TimeDelta = TimeDelta::hours(1);
/// ClaimStaleGithubDeliveries' `limit` when 0, and its largest.
const STALE_LIMIT_DEFAULT: u32 = 20;
const STALE_LIMIT_MAX: u32 = 100;
/// About how much payload one ClaimStaleGithubDeliveries answer carries (one larger delivery still goes alone): the
/// proto's promise, and tonic's default decoding limit on the caller's side.
const STALE_MAX_BYTES: usize = 4 * 1024 * 1024;
/// How many times recovery hands out the same abandoned delivery (once a claim TTL each) before leaving it alone: a
/// delivery whose processing dies every time must not be retried forever. A redelivery from GitHub starts afresh.
pub const MAX_TAKEOVERS: u32 = 5;

/// What anyone who may read sees of a project's integration: never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubIntegrationView {
    pub project_id: Uuid,
    pub project_slug: Slug,
    pub configured: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

/// One delivery as the gateway received it.
#[derive(Debug, Clone, Copy)]
pub struct WebhookDelivery<'a> {
    /// A project id or slug (from the webhook's URL).
    pub project: &'a str,
    pub delivery_id: &'a str,
    pub signature_header: &'a str,
    pub payload: &'a [u8],
    /// `X-GitHub-Event`; empty from a caller that predates it (then nothing is kept with the claim).
    pub event: &'a str,
}

/// The verdict, with the project it is for (`None` for [`WebhookVerdict::NotConfigured`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookVerification {
    pub verdict: WebhookVerdict,
    pub project: Option<(Uuid, Slug)>,
}

/// A claim taken over after its processor died: the delivery as it was verified, with its project's slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleGithubDelivery {
    pub project_id: Uuid,
    pub project_slug: Slug,
    pub delivery_id: String,
    pub event: GithubEvent,
    pub payload: Vec<u8>,
}

impl ProjectsApp {
    /// The key that seals webhook secrets (`DEVOPSTRACK_PROJECTS__SECRETS_KEY`); without one, setting a secret is
    /// refused and stored ones cannot be used.
    pub fn with_secrets_key(mut self, key: Option<SecretsKey>) -> Self {
        self.secrets = key.map(Arc::new);
        self
    }

    /// How long a delivery claim may stay unfinished before a redelivery or
    /// [`Self::claim_stale_github_deliveries`] may take it over (`DEVOPSTRACK_PROJECTS__WEBHOOK_CLAIM_TTL_SECONDS`;
    /// [`crate::domain::DELIVERY_CLAIM_TTL`] unless set).
    pub fn with_webhook_claim_ttl(mut self, ttl: TimeDelta) -> Self {
        self.claim_ttl = ttl;
        self
    }

    /// Admin only. Replaces any earlier secret; the answer says only that one is configured.
    #[tracing::instrument(skip_all, fields(project = %project))]
    pub async fn set_github_integration(
        &self,
        principal: &Principal,
        project: &str,
        webhook_secret: &SecretString,
    ) -> Result<GithubIntegrationView, Error> {
        require(principal, Role::Admin)?;
        check_webhook_secret(webhook_secret.expose_secret()).map_err(|e| Error::invalid("webhookSecret", e))?;
        let key = self.secrets_key()?;
        let project = self.project("project", project).await?;
        ensure_active("project", &project)?;
        let record = GithubIntegrationRecord {
            project_id: project.id,
            sealed_secret: key.seal(project.id, webhook_secret.expose_secret().as_bytes()),
            updated_at: self.now(),
        };
        self.store
            .put_github_integration(&record)
            .await
            .map_err(store_err("storing the GitHub integration"))?;
        tracing::info!(project_id = %project.id, "GitHub webhook secret set");
        Ok(view(&project, Some(&record)))
    }

    /// Viewer and up.
    pub async fn github_integration(
        &self,
        principal: &Principal,
        project: &str,
    ) -> Result<GithubIntegrationView, Error> {
        require(principal, Role::Viewer)?;
        let project = self.project("project", project).await?;
        let record = self
            .store
            .github_integration(project.id)
            .await
            .map_err(store_err("loading the GitHub integration"))?;
        Ok(view(&project, record.as_ref()))
    }

    /// The `service` role only. Valid only when the signature matches the project's secret; then, and only then, the
    /// delivery id is claimed for the caller, with its event and payload kept until the claim ends (nothing is kept
    /// without an event), and an id processed before (within [`DELIVERY_DEDUP_WINDOW`]) or claimed within the claim
    /// TTL answers `Duplicate`. The caller ends the claim with [`Self::finish_github_delivery`].
    /// A secret that no longer opens (the key changed) is FAILED_PRECONDITION: never accepted.
    #[tracing::instrument(skip_all, fields(project = %delivery.project, delivery_id = %delivery.delivery_id))]
    pub async fn verify_github_webhook(
        &self,
        principal: &Principal,
        delivery: WebhookDelivery<'_>,
    ) -> Result<WebhookVerification, Error> {
        require_service(principal, "verifying webhooks")?;
        if delivery.project.is_empty() {
            return Err(Error::invalid("project", "is required: a project id or slug"));
        }
        let delivery_id = parse_delivery_id(delivery.delivery_id).map_err(|e| Error::invalid("deliveryId", e))?;
        let event = if delivery.event.is_empty() {
            None
        } else {
            Some(GithubEvent::parse(delivery.event).map_err(|e| Error::invalid("event", e))?)
        };
        let not_configured = WebhookVerification {
            verdict: WebhookVerdict::NotConfigured,
            project: None,
        };
        // Anything that names no project answers like a project without a secret: the caller learns nothing more.
        let Ok(key) = ProjectRef::parse("project", delivery.project) else {
            return Ok(not_configured);
        };
        let project = match self.project_by_ref("project", delivery.project, key).await {
            Ok(project) => project,
            Err(Error::NotFound(_)) => return Ok(not_configured),
            Err(other) => return Err(other),
        };
        let Some(record) = self
            .store
            .github_integration(project.id)
            .await
            .map_err(store_err("loading the GitHub integration"))?
        else {
            return Ok(not_configured);
        };
        let secret = self.secrets_key()?.open(project.id, &record.sealed_secret).map_err(|_| {
            tracing::error!(project_id = %project.id, "the stored webhook secret does not open with the configured key");
            Error::FailedPrecondition(format!(
                "project {}: its webhook secret cannot be decrypted with the configured \
                 DEVOPSTRACK_PROJECTS__SECRETS_KEY (was the key changed?); an admin must set the secret again",
                project.slug
            ))
        })?;
        let found = Some((project.id, project.slug.clone()));
        if !signature_matches(secret.expose_secret(), delivery.signature_header, delivery.payload) {
            return Ok(WebhookVerification {
                verdict: WebhookVerdict::InvalidSignature,
                project: found,
            });
        }
        let now = self.now();
        let kept = event.as_ref().map(|event| KeptDelivery {
            event,
            payload: delivery.payload,
        });
        let recorded = self
            .store
            .record_webhook_delivery(project.id, &delivery_id, now, now - self.claim_ttl, kept)
            .await
            .map_err(store_err("recording a webhook delivery"))?;
        if recorded {
            self.prune_deliveries_now_and_then(now).await;
        }
        Ok(WebhookVerification {
            verdict: if recorded {
                WebhookVerdict::Valid
            } else {
                WebhookVerdict::Duplicate
            },
            project: found,
        })
    }

    /// The `service` role only: ends the claim a `Valid` verification (or a takeover) took. `Processed` keeps the id
    /// (and drops the payload), `Failed` forgets it so GitHub's redelivery is processed. `false` when there is no
    /// unfinished claim (already finished, pruned, never verified, or an unknown project): nothing changes.
    #[tracing::instrument(skip_all, fields(project = %project, delivery_id = %delivery_id, ?outcome))]
    pub async fn finish_github_delivery(
        &self,
        principal: &Principal,
        project: &str,
        delivery_id: &str,
        outcome: Option<DeliveryOutcome>,
    ) -> Result<bool, Error> {
        require_service(principal, "finishing webhook deliveries")?;
        if project.is_empty() {
            return Err(Error::invalid("project", "is required: a project id or slug"));
        }
        let delivery_id = parse_delivery_id(delivery_id).map_err(|e| Error::invalid("deliveryId", e))?;
        let outcome = outcome.ok_or_else(|| Error::invalid("outcome", "is required: processed or failed"))?;
        let key = ProjectRef::parse("project", project)?;
        let project = match self.project_by_ref("project", project, key).await {
            Ok(project) => project,
            Err(Error::NotFound(_)) => return Ok(false),
            Err(other) => return Err(other),
        };
        let found = self
            .store
            .finish_webhook_delivery(project.id, &delivery_id, outcome, self.now())
            .await
            .map_err(store_err("finishing a webhook delivery"))?;
        if found && outcome == DeliveryOutcome::Failed {
            tracing::warn!(project = %project.slug, "webhook delivery released after a failure: a redelivery will be processed");
        }
        Ok(found)
    }

    /// The `service` role only: takes over (restarting their TTL) the claims left unfinished for longer than the claim
    /// TTL that kept a payload, oldest first, at most `limit` (0: 20; at most 100) and about 4 MiB of payload, and
    /// answers them as verified for the caller to process again and finish as usual. A delivery whose project was
    /// deleted between the takeover and the slug's look-up is left out (its claim went with the project).
    #[tracing::instrument(skip_all, fields(limit = limit))]
    pub async fn claim_stale_github_deliveries(
        &self,
        principal: &Principal,
        limit: i32,
    ) -> Result<Vec<StaleGithubDelivery>, Error> {
        require_service(principal, "taking over webhook deliveries")?;
        let limit = match u32::try_from(limit) {
            Ok(0) => STALE_LIMIT_DEFAULT,
            Ok(limit) if limit <= STALE_LIMIT_MAX => limit,
            _ => {
                return Err(Error::invalid(
                    "limit",
                    format!("must be 1 to {STALE_LIMIT_MAX} (0: {STALE_LIMIT_DEFAULT}), not {limit}"),
                ));
            }
        };
        let now = self.now();
        let taken = self
            .store
            .claim_stale_webhook_deliveries(now - self.claim_ttl, now, limit, STALE_MAX_BYTES, MAX_TAKEOVERS)
            .await
            .map_err(store_err("taking over stale webhook deliveries"))?;
        let mut slugs: HashMap<Uuid, Option<Slug>> = HashMap::new();
        let mut answer = Vec::with_capacity(taken.len());
        for delivery in taken {
            let slug = match slugs.get(&delivery.project_id) {
                Some(slug) => slug.clone(),
                None => {
                    let slug = self
                        .store
                        .project_by_id(delivery.project_id)
                        .await
                        .map_err(store_err("loading a project"))?
                        .map(|project| project.slug);
                    slugs.insert(delivery.project_id, slug.clone());
                    slug
                }
            };
            let Some(project_slug) = slug else {
                continue;
            };
            tracing::warn!(
                project = %project_slug,
                delivery_id = %delivery.delivery_id,
                event = %delivery.event,
                "webhook delivery taken over: its processor did not finish it within the claim TTL"
            );
            answer.push(StaleGithubDelivery {
                project_id: delivery.project_id,
                project_slug,
                delivery_id: delivery.delivery_id,
                event: delivery.event,
                payload: delivery.payload,
            });
        }
        Ok(answer)
    }

    fn secrets_key(&self) -> Result<&SecretsKey, Error> {
        self.secrets.as_deref().ok_or_else(|| {
            Error::FailedPrecondition(
                "webhook secrets cannot be stored: the projects service has no encryption key; set \
                 DEVOPSTRACK_PROJECTS__SECRETS_KEY to the base64 of 32 random bytes (`openssl rand -base64 32`)"
                    .into(),
            )
        })
    }

    /// Forgets delivery ids older than the dedup window, at most once per [`PRUNE_EVERY`]; a failure is only logged
    /// (the next delivery after the interval tries again).
    async fn prune_deliveries_now_and_then(&self, now: DateTime<Utc>) {
        {
            let mut last = self.last_prune.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if last.is_some_and(|at| now - at < PRUNE_EVERY && at <= now) {
                return;
            }
            *last = Some(now);
        }
        match self.store.prune_webhook_deliveries(now - DELIVERY_DEDUP_WINDOW).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old webhook delivery ids pruned"),
            Err(error) => tracing::warn!(%error, "pruning webhook delivery ids failed"),
        }
    }
}

/// The webhook intake's use-cases are for the `service` role only (`doing` says which, in the message).
fn require_service(principal: &Principal, doing: &str) -> Result<(), Error> {
    if principal.role == Role::Service {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "{doing} is for the service role only; you are {}",
            principal.role
        )))
    }
}

fn view(project: &ProjectRecord, record: Option<&GithubIntegrationRecord>) -> GithubIntegrationView {
    GithubIntegrationView {
        project_id: project.id,
        project_slug: project.slug.clone(),
        configured: record.is_some(),
        updated_at: record.map(|r| r.updated_at),
    }
}
