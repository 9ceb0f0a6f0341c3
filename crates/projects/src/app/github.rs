//! The GitHub integration's use-cases: an admin sets a project's webhook secret (sealed at rest, never answered back),
//! anyone who reads sees whether one is set, and tasks' webhook intake (the `service` role only) asks whether a
//! delivery is signed with it. Verification only: the intake's inbox (in tasks) deduplicates and keeps deliveries. The
//! secret never leaves this service.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use devopstrack_platform::auth::{Principal, Role};

use super::releases::ensure_active;
use super::{ProjectRef, ProjectsApp, require, store_err};
use crate::domain::{
    GithubEvent, GithubIntegrationRecord, ProjectRecord, Slug, WebhookVerdict, check_webhook_secret, parse_delivery_id,
    signature_matches,
};
use crate::error::Error;
use crate::secrets::SecretsKey;

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
    /// `X-GitHub-Event`; optional (checked when given).
    pub event: &'a str,
}

/// The verdict, with the project it is for (`None` for [`WebhookVerdict::NotConfigured`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookVerification {
    pub verdict: WebhookVerdict,
    pub project: Option<(Uuid, Slug)>,
}

impl ProjectsApp {
    /// The key that seals webhook secrets (`DEVOPSTRACK_PROJECTS__SECRETS_KEY`); without one, setting a secret is
    /// refused and stored ones cannot be used.
    pub fn with_secrets_key(mut self, key: Option<SecretsKey>) -> Self {
        self.secrets = key.map(Arc::new);
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

    /// The `service` role only. Valid when the signature matches the project's secret; nothing is recorded.
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
        parse_delivery_id(delivery.delivery_id).map_err(|e| Error::invalid("deliveryId", e))?;
        if !delivery.event.is_empty() {
            GithubEvent::parse(delivery.event).map_err(|e| Error::invalid("event", e))?;
        }
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
        Ok(WebhookVerification {
            verdict: WebhookVerdict::Valid,
            project: found,
        })
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
