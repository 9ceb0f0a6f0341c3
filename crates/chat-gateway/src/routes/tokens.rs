//! `/api/v1/tokens`: API tokens for scripts and CI.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use devopstrack_platform::auth::Role;
use devopstrack_proto::auth::v1 as pb;

use super::dto::{ApiTokenBody, Page, PageQuery, next_token, role_to_proto};
use crate::error::ApiError;
use crate::extract::{Caller, Json, RequestId, upstream};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/tokens", web::get().to(list))
        .route("/api/v1/tokens", web::post().to(create))
        .route("/api/v1/tokens/{id}", web::delete().to(revoke));
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::ListApiTokensRequest {
        page_size: query.size()?,
        page_token: query.page_token.clone().unwrap_or_default(),
        all_users: query.all.unwrap_or(false),
    };
    let page = state.auth.clone().list_api_tokens(upstream(message, Some(&caller), &id)).await?.into_inner();
    Ok(HttpResponse::Ok().json(Page {
        items: page.tokens.into_iter().map(ApiTokenBody::from).collect(),
        next_page_token: next_token(page.next_page_token),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    name: String,
    role: Option<Role>,
    /// Omitted or 0: never expires.
    expires_in_days: Option<u32>,
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    Json(body): Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::CreateApiTokenRequest {
        name: body.name,
        role: body.role.map_or(pb::Role::Unspecified as i32, |r| role_to_proto(r) as i32),
        expires_in_days: body.expires_in_days.unwrap_or(0),
    };
    let created = state.auth.clone().create_api_token(upstream(message, Some(&caller), &id)).await?.into_inner();
    Ok(HttpResponse::Created().insert_header(("cache-control", "no-store")).json(serde_json::json!({
        "token": created.token.map(ApiTokenBody::from),
        "secret": created.secret,
    })))
}

async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::RevokeApiTokenRequest { id: path.into_inner() };
    state.auth.clone().revoke_api_token(upstream(message, Some(&caller), &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
