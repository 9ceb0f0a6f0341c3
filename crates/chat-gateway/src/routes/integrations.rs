//! `/api/v1/projects/{slug}/integrations/github`: a project's GitHub webhook secret. An admin sets it (PUT); anyone who
//! may read the project sees whether one is set and since when (GET). The secret is stored encrypted by the projects
//! service and never answered back, here or anywhere.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use devopstrack_proto::projects::v1 as pb;

use super::dto::time;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{Json, Upstream, upstream};

const PATH: &str = "/api/v1/projects/{slug}/integrations/github";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::put().to(put)).route(PATH, web::get().to(get));
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = SetGithubIntegrationRequest)]
pub(crate) struct SetBody {
    /// The secret entered in GitHub's webhook settings: 16 to 256 characters, no control characters. Never answered
    /// back.
    #[schema(value_type = crate::openapi::contract::WebhookSecret)]
    webhook_secret: SecretString,
}

/// Whether a webhook secret is set; never the secret.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GithubIntegration, example = json!({"configured": true, "updatedAt": "2026-11-02T10:00:00Z"}))]
pub(crate) struct IntegrationBody {
    configured: bool,
    /// When the secret was last set; absent when not configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime<Utc>>,
}

impl From<pb::GithubIntegration> for IntegrationBody {
    fn from(integration: pb::GithubIntegration) -> Self {
        Self {
            configured: integration.configured,
            updated_at: time(integration.updated_at),
        }
    }
}

/// Sets (or replaces) the project's GitHub webhook secret (admin). Point the GitHub webhook at
/// `POST /api/v1/webhooks/github/{slug}` with the same secret.
#[utoipa::path(put, path = "/api/v1/projects/{slug}/integrations/github", tag = "webhooks",
    operation_id = "setGithubIntegration", request_body = SetBody,
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "Configured (the secret is not echoed)", body = IntegrationBody),
        (status = 400, description = "The secret is too short, too long or has control characters", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "The project is archived, or the projects service has no encryption key \
            (DEVOPSTRACK_PROJECTS__SECRETS_KEY)", body = ErrorBody),
    ))]
async fn put(
    Upstream { state, caller, id }: Upstream,
    slug: web::Path<String>,
    body: Json<SetBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::SetGithubIntegrationRequest {
        project: slug.into_inner(),
        webhook_secret: body.0.webhook_secret.expose_secret().to_owned(),
    };
    let integration = state
        .projects
        .clone()
        .set_github_integration(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Ok().json(IntegrationBody::from(integration)))
}

/// Whether the project has a GitHub webhook secret (viewer).
#[utoipa::path(get, path = "/api/v1/projects/{slug}/integrations/github", tag = "webhooks",
    operation_id = "getGithubIntegration",
    params(("slug" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)")),
    responses(
        (status = 200, description = "Configured or not", body = IntegrationBody),
        (status = 400, description = "`slug` is not a project slug or id", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    ))]
async fn get(Upstream { state, caller, id }: Upstream, slug: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let message = pb::GetGithubIntegrationRequest {
        project: slug.into_inner(),
    };
    let integration = state
        .projects
        .clone()
        .get_github_integration(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Ok().json(IntegrationBody::from(integration)))
}
