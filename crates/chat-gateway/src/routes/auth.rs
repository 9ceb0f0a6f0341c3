//! `/api/v1/auth/*` and `/.well-known/jwks.json`.
//!
//! Browsers get the refresh token in an httpOnly, SameSite=Strict cookie scoped to `/api/v1/auth`; other clients ask
//! for it in the body with `"returnRefreshToken": true` and send it back as `{"refreshToken": …}`.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use devopstrack_proto::auth::v1 as pb;

use super::dto::{JwkBody, JwksBody, MeBody, TokenBody, UserBody};
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{Caller, Json, RequestId, Upstream, client_ip, parse_body, upstream};
use crate::state::AppState;

pub const REFRESH_COOKIE: &str = "devopstrack_refresh";
const COOKIE_PATH: &str = "/api/v1/auth";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/auth/login", web::post().to(login))
        .route("/api/v1/auth/refresh", web::post().to(refresh))
        .route("/api/v1/auth/logout", web::post().to(logout))
        .route("/api/v1/auth/me", web::get().to(me))
        .route("/api/v1/auth/token", web::post().to(exchange))
        .route("/api/v1/auth/password", web::put().to(change_password))
        .route("/.well-known/jwks.json", web::get().to(jwks));
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LoginRequest)]
struct LoginBody {
    #[schema(value_type = crate::openapi::contract::Email)]
    email: String,
    #[schema(min_length = 1)]
    password: String,
    /// Also answer the refresh token in the body (clients without cookies).
    #[serde(default)]
    return_refresh_token: bool,
}

/// Logs in with email and password.
///
/// The refresh token is set in an httpOnly SameSite=Strict cookie scoped to `/api/v1/auth` (and answered in the body
/// when `returnRefreshToken` is true). After 5 failures for one account from one address, each further attempt from
/// that address waits twice as long as the one before (1 s, 2 s, 4 s, … up to 15 minutes); other addresses are not
/// slowed down.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", operation_id = "login", security(()),
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in", body = TokenBody),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address (`rate_limited`) or too many failures for \
            this account from this address (`account_locked`); see `Retry-After`", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    ))]
async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: RequestId,
    Json(body): Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    if let Some(attempted) = crate::middleware::audit::AttemptedLogin::of(&body.email) {
        req.extensions_mut().insert(attempted);
    }
    let client = client_ip(&req, &state.proxies);
    if let Some(ip) = client {
        state.login_limiter.check(ip).map_err(|wait| ApiError::RateLimited {
            code: "rate_limited",
            message: "too many login attempts from this address; slow down".into(),
            retry_after_secs: wait.as_secs().max(1),
        })?;
    }
    let message = pb::LoginRequest {
        email: body.email,
        password: body.password,
        client_address: client.map(|ip| ip.to_string()).unwrap_or_default(),
    };
    let mut request = upstream(message, None, &id);
    // Auth throttles failed logins per (account, client address) and believes the address only from the gateway's
    // service token; without one (no client secret configured) it counts by this connection instead.
    if let Ok(value) = state.service_tokens.authorization().await {
        request.metadata_mut().insert("authorization", value);
    }
    let grant = state.auth.clone().login(request).await?.into_inner();
    Ok(token_response(&state, grant, body.return_refresh_token))
}

/// Optional: without a body (or without `refreshToken`) the cookie is used.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RefreshRequest)]
struct RefreshBody {
    #[serde(default)]
    refresh_token: Option<String>,
    /// Also answer the new refresh token in the body (implied when `refreshToken` was sent in the body).
    #[serde(default)]
    return_refresh_token: bool,
}

/// The refresh token from the body (when one was sent) or the cookie.
fn presented_refresh(req: &HttpRequest, body: &web::Bytes) -> Result<(Option<String>, bool), ApiError> {
    // No body, or `null` (as the document allows), means the cookie.
    let parsed: RefreshBody = if body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null" {
        RefreshBody::default()
    } else {
        parse_body(body)?
    };
    let from_body = parsed.refresh_token.filter(|t| !t.is_empty());
    let token = from_body
        .clone()
        .or_else(|| req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned()));
    Ok((token, parsed.return_refresh_token || from_body.is_some()))
}

/// Rotates the refresh token (cookie or body) and answers a new access token.
///
/// Replaying a refresh token that was already rotated revokes the whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", operation_id = "refresh", security(()),
    request_body(content = Option<RefreshBody>, description = "Optional when the cookie is sent"),
    responses(
        (status = 200, description = "A new access token; the rotated refresh token in the cookie", body = TokenBody),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "No, unknown, expired or reused refresh token (the cookie is cleared)",
            body = ErrorBody),
    ))]
async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: RequestId,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (token, in_body) = presented_refresh(&req, &body)?;
    let token = token.ok_or_else(|| ApiError::Unauthenticated("no refresh token (cookie or body)".into()))?;
    match state
        .auth
        .clone()
        .refresh(upstream(pb::RefreshRequest { refresh_token: token }, None, &id))
        .await
    {
        Ok(grant) => Ok(token_response(&state, grant.into_inner(), in_body)),
        Err(status) => {
            let mut response = actix_web::ResponseError::error_response(&ApiError::from(status));
            let _ = response.add_removal_cookie(&refresh_cookie(&state, String::new(), 0));
            Ok(response)
        }
    }
}

/// Revokes the session of the refresh token (cookie or body) and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logout", security(()),
    request_body(content = Option<RefreshBody>, description = "Optional when the cookie is sent"),
    responses(
        (status = 204, description = "Logged out (also when there was no session)"),
        (status = 400, description = "Malformed body", body = ErrorBody),
    ))]
async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: RequestId,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (token, _) = presented_refresh(&req, &body)?;
    if let Some(token) = token {
        state
            .auth
            .clone()
            .logout(upstream(pb::LogoutRequest { refresh_token: token }, None, &id))
            .await?;
    }
    let mut response = HttpResponse::NoContent().finish();
    let _ = response.add_removal_cookie(&refresh_cookie(&state, String::new(), 0));
    Ok(response)
}

/// The caller as their token says (no round trip: this is the hot path of every page load).
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", operation_id = "getMe",
    responses((status = 200, description = "The verified caller", body = MeBody)))]
async fn me(caller: Caller) -> HttpResponse {
    let p = caller.principal;
    HttpResponse::Ok().json(MeBody {
        id: p.subject,
        name: p.name,
        role: p.role,
        expires_at: chrono::DateTime::from_timestamp(p.expires_at, 0),
    })
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ExchangeRequest)]
struct ExchangeBody {
    /// An API token, `dtk_…`.
    token: String,
}

/// Exchanges an API token for a 15-minute access token (no refresh token).
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", operation_id = "exchangeApiToken", security(()),
    request_body = ExchangeBody,
    responses(
        (status = 200, description = "An access token capped at the API token's role", body = TokenBody),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired API token", body = ErrorBody),
    ))]
async fn exchange(
    state: web::Data<AppState>,
    id: RequestId,
    Json(body): Json<ExchangeBody>,
) -> Result<HttpResponse, ApiError> {
    let grant = state
        .auth
        .clone()
        .exchange_api_token(upstream(pb::ExchangeApiTokenRequest { token: body.token }, None, &id))
        .await?;
    Ok(token_response(&state, grant.into_inner(), false))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChangePasswordRequest)]
struct PasswordBody {
    current_password: String,
    #[schema(value_type = crate::openapi::contract::NewPassword)]
    new_password: String,
}

/// Changes your password and ends your sessions.
#[utoipa::path(put, path = "/api/v1/auth/password", tag = "auth", operation_id = "changePassword",
    request_body = PasswordBody,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Malformed body, a new password that is too weak, or a wrong current password",
            body = ErrorBody),
        (status = 429, description = "Too many wrong current passwords (`rate_limited`); see `Retry-After`",
            body = ErrorBody, headers(("retry-after" = u64, description = "Seconds to wait"))),
    ))]

async fn change_password(
    Upstream { state, caller, id }: Upstream,
    Json(body): Json<PasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::ChangePasswordRequest {
        user_id: String::new(),
        current_password: body.current_password,
        new_password: body.new_password,
    };
    super::users::change_password(&state, &caller, &id, message).await
}

/// The public keys that verify access tokens (current and previous).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", operation_id = "getJwks", security(()),
    responses((status = 200, description = "A JSON Web Key Set", body = JwksBody)))]
async fn jwks(state: web::Data<AppState>, id: RequestId) -> Result<HttpResponse, ApiError> {
    let keys = state
        .auth
        .clone()
        .get_jwks(upstream(pb::GetJwksRequest {}, None, &id))
        .await?
        .into_inner()
        .keys;
    let keys = keys
        .into_iter()
        .map(|k| JwkBody {
            kty: k.kty,
            crv: k.crv,
            x: k.x,
            kid: k.kid,
            alg: k.alg,
            use_: k.r#use,
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=300"))
        .json(JwksBody { keys }))
}

fn refresh_cookie(state: &AppState, value: String, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build(REFRESH_COOKIE, value)
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.secure_cookies)
        .max_age(CookieDuration::seconds(max_age_secs))
        .finish()
}

fn token_response(state: &AppState, grant: pb::TokenResponse, refresh_in_body: bool) -> HttpResponse {
    let has_refresh = !grant.refresh_token.is_empty();
    let mut response = HttpResponse::Ok();
    response.insert_header(("cache-control", "no-store"));
    if has_refresh {
        response.cookie(refresh_cookie(
            state,
            grant.refresh_token.clone(),
            grant.refresh_expires_in,
        ));
    }
    response.json(TokenBody {
        access_token: grant.access_token,
        token_type: "Bearer",
        expires_in: grant.expires_in,
        refresh_token: (has_refresh && refresh_in_body).then_some(grant.refresh_token),
        refresh_expires_in: (has_refresh && refresh_in_body).then_some(grant.refresh_expires_in),
        user: grant.user.map(UserBody::from),
    })
}
