//! `/api/v1/users`: user administration (admin; auth enforces it).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use devopstrack_platform::auth::Role;
use devopstrack_proto::auth::v1 as pb;

use super::dto::{Page, PageQuery, UserBody, next_token, role_to_proto};
use crate::error::ApiError;
use crate::extract::{Caller, Json, RequestId, upstream};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/users", web::get().to(list))
        .route("/api/v1/users", web::post().to(create))
        .route("/api/v1/users/{id}", web::patch().to(update))
        .route("/api/v1/users/{id}/password", web::put().to(set_password));
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::ListUsersRequest { page_size: query.size()?, page_token: query.page_token.clone().unwrap_or_default() };
    let page = state.auth.clone().list_users(upstream(message, Some(&caller), &id)).await?.into_inner();
    Ok(HttpResponse::Ok().json(Page {
        items: page.users.into_iter().map(UserBody::from).collect(),
        next_page_token: next_token(page.next_page_token),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    email: String,
    name: String,
    role: Role,
    password: String,
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    Json(body): Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::CreateUserRequest {
        email: body.email,
        name: body.name,
        role: role_to_proto(body.role) as i32,
        password: body.password,
    };
    let user = state.auth.clone().create_user(upstream(message, Some(&caller), &id)).await?.into_inner();
    Ok(HttpResponse::Created().insert_header(("location", format!("/api/v1/users/{}", user.id))).json(UserBody::from(user)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateBody {
    name: Option<String>,
    role: Option<Role>,
    disabled: Option<bool>,
}

async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    path: web::Path<String>,
    Json(body): Json<UpdateBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::UpdateUserRequest {
        id: path.into_inner(),
        name: body.name,
        role: body.role.map(|r| role_to_proto(r) as i32),
        disabled: body.disabled,
    };
    let user = state.auth.clone().update_user(upstream(message, Some(&caller), &id)).await?.into_inner();
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PasswordBody {
    new_password: String,
}

async fn set_password(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    path: web::Path<String>,
    Json(body): Json<PasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::ChangePasswordRequest {
        user_id: path.into_inner(),
        current_password: String::new(),
        new_password: body.new_password,
    };
    state.auth.clone().change_password(upstream(message, Some(&caller), &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
