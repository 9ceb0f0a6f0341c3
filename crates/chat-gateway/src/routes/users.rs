//! `/api/v1/users`: user administration (admin; auth enforces it), and `/api/v1/users/names`, which turns the user ids
//! the other resources carry (who triggered a pipeline, who owns a project) into display names for anyone signed in.

use actix_web::{HttpRequest, HttpResponse, guard, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use devopstrack_platform::auth::Role;
use devopstrack_proto::auth::v1 as pb;

use super::dto::{Page, PageQuery, UserBody, role_to_proto};
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{Caller, Json, Query, RequestId, Upstream, read_upstream, upstream};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/users", web::get().to(list))
        .route("/api/v1/users", web::post().to(create))
        // Before `/api/v1/users/{id}`, so `names` is never taken for an id, and another method on `names` is its
        // 405 (with `Allow: GET`), not an update of a user called "names".
        .route("/api/v1/users/names", web::get().to(names))
        .route(
            "/api/v1/users/{id}",
            web::patch()
                .guard(guard::fn_guard(|ctx| ctx.head().uri.path() != "/api/v1/users/names"))
                .to(update),
        )
        .route("/api/v1/users/{id}/password", web::put().to(set_password));
}

/// Lists users (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", operation_id = "listUsers", params(PageQuery),
    responses(
        (status = 200, description = "One page of users", body = Page<UserBody>),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
async fn list(Upstream { state, caller, id }: Upstream, query: Query<PageQuery>) -> Result<HttpResponse, ApiError> {
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
    Ok(HttpResponse::Ok().json(Page::<UserBody>::of(page.users, page.next_page_token)))
}

/// The most ids one `GET /api/v1/users/names` takes (auth's limit too).
pub const MAX_NAME_IDS: usize = 100;

/// Who a user id is: only the id and the display name, never the email, role or disabled state.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UserName)]
pub struct UserNameBody {
    pub id: String,
    pub name: String,
}

/// `GET /api/v1/users/names`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UserNames)]
pub struct UserNamesBody {
    /// The known users among the ids asked, each once, in the order first asked; unknown ids (deleted users,
    /// service accounts) are absent.
    pub users: Vec<UserNameBody>,
}

/// The display names of up to 100 users (anyone signed in): what the dashboard shows for "triggered by" and "owner".
#[utoipa::path(get, path = "/api/v1/users/names", tag = "users", operation_id = "lookupUserNames",
    params(("id" = Vec<crate::openapi::contract::Uuid>, Query, style = Form, explode, min_items = 1, max_items = 100,
        description = "A user id (UUID); repeat it for more (`?id=…&id=…`), 1–100 in all")),
    responses(
        (status = 200, description = "The names of the known users among the ids", body = UserNamesBody),
        (status = 400, description = "No id, more than 100, or one that is not a UUID (the message names `id`)",
            body = ErrorBody),
    ))]
async fn names(Upstream { state, caller, id }: Upstream, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let message = pb::LookupUsersRequest {
        ids: name_ids(req.query_string())?,
    };
    let found = read_upstream(&state.auth, &caller, &id, message, |mut c, r| async move {
        c.lookup_users(r).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserNamesBody {
        users: found
            .users
            .into_iter()
            .map(|u| UserNameBody { id: u.id, name: u.name })
            .collect(),
    }))
}

/// The `id` parameters of a query string (repeated keys, which serde's URL-encoded maps cannot hold), each a UUID,
/// 1..=[`MAX_NAME_IDS`] of them. Every error names `id` (or the unknown parameter).
fn name_ids(query: &str) -> Result<Vec<String>, ApiError> {
    let mut ids = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key != "id" {
            return Err(ApiError::invalid(format!(
                "{key}: unknown query parameter; expected `id`"
            )));
        }
        let parsed = Uuid::parse_str(&value)
            .map_err(|_| ApiError::invalid(format!("id: {value:?} is not a user id (a UUID)")))?;
        ids.push(parsed.to_string());
    }
    match ids.len() {
        0 => Err(ApiError::invalid("id: give 1 to 100 user ids (`?id=…&id=…`)")),
        n if n > MAX_NAME_IDS => Err(ApiError::invalid(format!(
            "id: at most {MAX_NAME_IDS} user ids per request, got {n}"
        ))),
        _ => Ok(ids),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateUserRequest)]
struct CreateBody {
    #[schema(value_type = crate::openapi::contract::Email)]
    email: String,
    #[schema(value_type = crate::openapi::contract::DisplayName)]
    name: String,
    #[schema(value_type = crate::openapi::contract::UserRole)]
    role: Role,
    #[schema(value_type = crate::openapi::contract::NewPassword)]
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
    Upstream { state, caller, id }: Upstream,
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
    #[schema(value_type = Option<crate::openapi::contract::DisplayName>)]
    name: Option<String>,
    #[schema(value_type = Option<crate::openapi::contract::UserRole>)]
    role: Option<Role>,
    /// Disabling revokes the user's sessions.
    disabled: Option<bool>,
}

/// Changes a user's name, role or disabled flag (admin; you cannot demote or disable yourself).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", operation_id = "updateUser",
    request_body = UpdateBody,
    params(("id" = crate::openapi::contract::Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The updated user", body = UserBody),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "You cannot demote or disable yourself", body = ErrorBody),
    ))]

async fn update(
    Upstream { state, caller, id }: Upstream,
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
    #[schema(value_type = crate::openapi::contract::NewPassword)]
    new_password: String,
}

/// Sets a user's password and ends their sessions (admin).
#[utoipa::path(put, path = "/api/v1/users/{id}/password", tag = "users", operation_id = "setUserPassword",
    request_body = PasswordBody,
    params(("id" = crate::openapi::contract::Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "A password that is too weak, an id that is not a UUID, or your own id (change \
            yours with `PUT /api/v1/auth/password`, which asks for the current one)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]

async fn set_password(
    Upstream { state, caller, id }: Upstream,
    path: web::Path<String>,
    Json(body): Json<PasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::ChangePasswordRequest {
        user_id: path.into_inner(),
        current_password: String::new(),
        new_password: body.new_password,
    };
    change_password(&state, &caller, &id, message).await
}

/// Auth's ChangePassword as the caller, answered with 204: your own password (`user_id` empty, with the current
/// one), or an admin setting someone else's.
pub(super) async fn change_password(
    state: &AppState,
    caller: &Caller,
    id: &RequestId,
    message: pb::ChangePasswordRequest,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .clone()
        .change_password(upstream(message, Some(caller), id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<Vec<String>, ApiError>) -> String {
        match result {
            Err(ApiError::InvalidInput { message, .. }) => message,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn name_ids_are_repeated_uuids_in_canonical_form() {
        let a = "0190f0a8-0000-7000-8000-00000000000a";
        let b = "0190F0A8-0000-7000-8000-00000000000B";
        let ids = name_ids(&format!("id={a}&id={b}&id={a}")).expect("valid ids");
        assert_eq!(ids, [a, &b.to_lowercase(), a], "duplicates are auth's to collapse");
    }

    #[test]
    fn bad_name_queries_name_the_parameter() {
        let valid = "0190f0a8-0000-7000-8000-00000000000a";
        let too_many = vec![format!("id={valid}"); MAX_NAME_IDS + 1].join("&");
        let at_the_limit = vec![format!("id={valid}"); MAX_NAME_IDS].join("&");
        for (query, want) in [
            ("", "id: give 1 to 100 user ids"),
            ("id=", "id: \"\" is not a user id"),
            ("id=service%3Agateway", "id: \"service:gateway\" is not a user id"),
            (
                &format!("id={valid}&ids={valid}"),
                "ids: unknown query parameter; expected `id`",
            ),
            (&too_many, "id: at most 100 user ids per request, got 101"),
        ] {
            let got = message(name_ids(query));
            assert!(got.contains(want), "{query:?}: {got:?} should contain {want:?}");
        }
        assert_eq!(name_ids(&at_the_limit).expect("100 ids").len(), MAX_NAME_IDS);
    }
}
