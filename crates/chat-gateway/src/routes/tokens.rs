//! `/api/v1/tokens`: API tokens for scripts and CI.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use devopstrack_platform::auth::Role;
use devopstrack_proto::auth::v1 as pb;

use super::dto::{ApiTokenBody, CreatedTokenBody, Page, PageQuery, role_to_proto};
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{Json, Query, Upstream, upstream};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/tokens", web::get().to(list))
        .route("/api/v1/tokens", web::post().to(create))
        .route("/api/v1/tokens/{id}", web::delete().to(revoke));
}

/// Lists your API tokens (`?all=true`: everyone's, admin).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", operation_id = "listApiTokens", params(PageQuery),
    responses(
        (status = 200, description = "One page of tokens (never their secrets)", body = Page<ApiTokenBody>),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 403, description = "`all=true` without the admin role", body = ErrorBody),
    ))]
async fn list(Upstream { state, caller, id }: Upstream, query: Query<PageQuery>) -> Result<HttpResponse, ApiError> {
    let message = pb::ListApiTokensRequest {
        page_size: query.size()?,
        page_token: query.page_token.clone().unwrap_or_default(),
        all_users: query.all.unwrap_or(false),
    };
    let page = state
        .auth
        .clone()
        .list_api_tokens(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Ok().json(Page::<ApiTokenBody>::of(page.tokens, page.next_page_token)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateApiTokenRequest)]
struct CreateBody {
    #[schema(value_type = crate::openapi::contract::DisplayName)]
    name: String,
    /// Capped at your role; omitted: your role.
    #[schema(value_type = Option<crate::openapi::contract::UserRole>)]
    role: Option<Role>,
    /// Omitted or 0: never expires; at most 3650 (ten years).
    #[schema(maximum = 3650)]
    expires_in_days: Option<u32>,
}

/// Creates an API token; its `dtk_…` secret is answered this once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", operation_id = "createApiToken",
    request_body = CreateBody,
    responses(
        (status = 201, description = "Created", body = CreatedTokenBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "A role above yours", body = ErrorBody),
    ))]
async fn create(
    Upstream { state, caller, id }: Upstream,
    Json(body): Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::CreateApiTokenRequest {
        name: body.name,
        role: body
            .role
            .map_or(pb::Role::Unspecified as i32, |r| role_to_proto(r) as i32),
        expires_in_days: body.expires_in_days.unwrap_or(0),
    };
    let created = state
        .auth
        .clone()
        .create_api_token(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Created()
        .insert_header(("cache-control", "no-store"))
        .json(CreatedTokenBody {
            token: created.token.map(ApiTokenBody::from),
            secret: created.secret,
        }))
}

/// Revokes an API token (yours; anyone's for an admin).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", operation_id = "revokeApiToken",
    params(("id" = crate::openapi::contract::Uuid, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 403, description = "Someone else's token without the admin role", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
    ))]
async fn revoke(Upstream { state, caller, id }: Upstream, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let message = pb::RevokeApiTokenRequest { id: path.into_inner() };
    state
        .auth
        .clone()
        .revoke_api_token(upstream(message, Some(&caller), &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
