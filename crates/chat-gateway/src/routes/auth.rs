//! `/api/v1/auth/*` and `/.well-known/jwks.json`.
//!
//! Browsers get the refresh token in an httpOnly, SameSite=Strict cookie scoped to `/api/v1/auth`; other clients ask
//! for it in the body with `"returnRefreshToken": true` and send it back as `{"refreshToken": …}`.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use devopstrack_proto::auth::v1 as pb;

use super::dto::{TokenBody, UserBody};
use crate::error::ApiError;
use crate::extract::{Caller, Json, RequestId, client_ip, parse_json, upstream};
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginBody {
    email: String,
    password: String,
    #[serde(default)]
    return_refresh_token: bool,
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: RequestId,
    Json(body): Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    if let Some(ip) = client_ip(&req, state.trust_forwarded_for) {
        state.login_limiter.check(ip).map_err(|wait| ApiError::RateLimited {
            code: "rate_limited",
            message: "too many login attempts from this address; slow down".into(),
            retry_after_secs: wait.as_secs().max(1),
        })?;
    }
    let message = pb::LoginRequest { email: body.email, password: body.password };
    let grant = state.auth.clone().login(upstream(message, None, &id)).await?.into_inner();
    Ok(token_response(&state, grant, body.return_refresh_token))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RefreshBody {
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    return_refresh_token: bool,
}

/// The refresh token from the body (when one was sent) or the cookie.
fn presented_refresh(req: &HttpRequest, body: &web::Bytes) -> Result<(Option<String>, bool), ApiError> {
    let parsed: RefreshBody = if body.iter().all(u8::is_ascii_whitespace) { RefreshBody::default() } else { parse_json(body)? };
    let from_body = parsed.refresh_token.filter(|t| !t.is_empty());
    let token = from_body.clone().or_else(|| req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned()));
    Ok((token, parsed.return_refresh_token || from_body.is_some()))
}

async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: RequestId,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (token, in_body) = presented_refresh(&req, &body)?;
    let token = token.ok_or_else(|| ApiError::Unauthenticated("no refresh token (cookie or body)".into()))?;
    match state.auth.clone().refresh(upstream(pb::RefreshRequest { refresh_token: token }, None, &id)).await {
        Ok(grant) => Ok(token_response(&state, grant.into_inner(), in_body)),
        Err(status) => {
            let mut response = actix_web::ResponseError::error_response(&ApiError::from(status));
            let _ = response.add_removal_cookie(&refresh_cookie(&state, String::new(), 0));
            Ok(response)
        }
    }
}

async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: RequestId,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (token, _) = presented_refresh(&req, &body)?;
    if let Some(token) = token {
        state.auth.clone().logout(upstream(pb::LogoutRequest { refresh_token: token }, None, &id)).await?;
    }
    let mut response = HttpResponse::NoContent().finish();
    let _ = response.add_removal_cookie(&refresh_cookie(&state, String::new(), 0));
    Ok(response)
}

/// The caller as their token says (no round trip: this is the hot path of every page load).
async fn me(caller: Caller) -> HttpResponse {
    let p = caller.principal;
    HttpResponse::Ok().json(serde_json::json!({
        "id": p.subject,
        "name": p.name,
        "role": p.role,
        "expiresAt": chrono::DateTime::from_timestamp(p.expires_at, 0),
    }))
}

#[derive(Deserialize)]
struct ExchangeBody {
    token: String,
}

async fn exchange(
    state: web::Data<AppState>,
    id: RequestId,
    Json(body): Json<ExchangeBody>,
) -> Result<HttpResponse, ApiError> {
    let grant =
        state.auth.clone().exchange_api_token(upstream(pb::ExchangeApiTokenRequest { token: body.token }, None, &id)).await?;
    Ok(token_response(&state, grant.into_inner(), false))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

async fn change_password(
    state: web::Data<AppState>,
    caller: Caller,
    id: RequestId,
    Json(body): Json<PasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::ChangePasswordRequest {
        user_id: String::new(),
        current_password: body.current_password,
        new_password: body.new_password,
    };
    state.auth.clone().change_password(upstream(message, Some(&caller), &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn jwks(state: web::Data<AppState>, id: RequestId) -> Result<HttpResponse, ApiError> {
    let keys = state.auth.clone().get_jwks(upstream(pb::GetJwksRequest {}, None, &id)).await?.into_inner().keys;
    let keys: Vec<_> = keys
        .into_iter()
        .map(|k| serde_json::json!({"kty": k.kty, "crv": k.crv, "x": k.x, "kid": k.kid, "alg": k.alg, "use": k.r#use}))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=300"))
        .json(serde_json::json!({ "keys": keys })))
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
        response.cookie(refresh_cookie(state, grant.refresh_token.clone(), grant.refresh_expires_in));
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
