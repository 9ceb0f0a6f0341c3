//! `/api/v1/users`: user administration (admin; auth enforces it).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use devopstrack_platform::auth::Role;
use devopstrack_proto::auth::v1 as pb;

use super::dto::{Page, PageQuery, RoleSchema, UserBody, next_token, role_to_proto};
use crate::error::ApiError;
use crate::extract::{Caller, Json, Query, RequestId, upstream};
use crate::openapi::ErrorBody;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/users", web::get().to(list))
        .route("/api/v1/users", web::post().to(create))
        .route("/api/v1/users/{id}", web::patch().to(update))
        .route("/api/v1/users/{id}/password", web::put().to(set_password));
}

/// Lists users (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", operation_id = "listUsers", params(PageQuery),
    responses(
        (status = 200, description = "One page of users", body = Page<UserBody>),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::ListUsersRequest {
        page_size: query.size()?,
        page_token: query.page_token.clone().unwrap_or_default(),
    };
    let page = state
        .auth
        .clone()
        .list_users(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Ok().json(Page {
        items: page.users.into_iter().map(UserBody::from).collect(),
        next_page_token: next_token(page.next_page_token),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateUserRequest)]
struct CreateBody {
    email: String,
    name: String,
    #[schema(value_type = RoleSchema)]
    role: Role,
    password: String,
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", operation_id = "createUser", request_body = CreateBody,
    responses(
        (status = 201, description = "Created", body = UserBody,
            headers(("location" = String, description = "`/api/v1/users/{id}`"))),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody),
    ))]

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
    let user = state
        .auth
        .clone()
        .create_user(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/api/v1/users/{}", user.id)))
        .json(UserBody::from(user)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = UpdateUserRequest)]
struct UpdateBody {
    name: Option<String>,
    #[schema(value_type = Option<RoleSchema>)]
    role: Option<Role>,
    /// Disabling revokes the user's sessions.
    disabled: Option<bool>,
}

/// Changes a user's name, role or disabled flag (admin; you cannot demote or disable yourself).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", operation_id = "updateUser",
    request_body = UpdateBody,
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The updated user", body = UserBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "You cannot demote or disable yourself", body = ErrorBody),
    ))]

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
    let user = state
        .auth
        .clone()
        .update_user(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = SetPasswordRequest)]
struct PasswordBody {
    new_password: String,
}

/// Sets a user's password and ends their sessions (admin).
#[utoipa::path(put, path = "/api/v1/users/{id}/password", tag = "users", operation_id = "setUserPassword",
    request_body = PasswordBody,
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "A password that is too weak", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]

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
    state
        .auth
        .clone()
        .change_password(upstream(message, Some(&caller), &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
