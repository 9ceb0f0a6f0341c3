//! JSON shapes of the REST API (camelCase), and their conversions from the internal gRPC messages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use devopstrack_platform::auth::Role;
use devopstrack_proto::auth::v1 as pb;

use crate::error::ApiError;

pub fn role_to_proto(role: Role) -> pb::Role {
    match role {
        Role::Viewer => pb::Role::Viewer,
        Role::Operator => pb::Role::Operator,
        Role::Admin => pb::Role::Admin,
        Role::Service => pb::Role::Service,
    }
}

fn role_from_proto(value: i32) -> Option<Role> {
    match pb::Role::try_from(value).ok()? {
        pb::Role::Viewer => Some(Role::Viewer),
        pb::Role::Operator => Some(Role::Operator),
        pb::Role::Admin => Some(Role::Admin),
        pb::Role::Service => Some(Role::Service),
        pb::Role::Unspecified => None,
    }
}

fn time(ts: Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let ts = ts?;
    DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserBody {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Option<Role>,
    pub disabled: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<pb::User> for UserBody {
    fn from(u: pb::User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            role: role_from_proto(u.role),
            disabled: u.disabled,
            created_at: time(u.created_at),
            updated_at: time(u.updated_at),
            last_login_at: time(u.last_login_at),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenBody {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserBody>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiTokenBody {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub role: Option<Role>,
    pub user_id: String,
    pub created_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<pb::ApiToken> for ApiTokenBody {
    fn from(t: pb::ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            role: role_from_proto(t.role),
            user_id: t.user_id,
            created_at: time(t.created_at),
            expires_at: time(t.expires_at),
            last_used_at: time(t.last_used_at),
            revoked_at: time(t.revoked_at),
        }
    }
}

/// `?pageSize=&pageToken=`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageQuery {
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub page_token: Option<String>,
    /// Only on `/api/v1/tokens`: every user's tokens (admin).
    #[serde(default)]
    pub all: Option<bool>,
}

impl PageQuery {
    pub fn size(&self) -> Result<i32, ApiError> {
        match self.page_size {
            None => Ok(0),
            Some(0) => Err(ApiError::invalid("pageSize: must be between 1 and 200")),
            Some(n) => Ok(n.min(200) as i32),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

pub fn next_token(token: String) -> Option<String> {
    (!token.is_empty()).then_some(token)
}
