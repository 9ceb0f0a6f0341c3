//! JSON shapes of the REST API (camelCase), and their conversions from the internal gRPC messages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use devopstrack_platform::auth::Role;
use devopstrack_proto::auth::v1 as pb;

use crate::error::ApiError;

/// Lowercase string enums with their proto counterparts, `to_proto` and `from_proto` (where `Unspecified`, or an
/// unknown number, reads as `None`, answered as `null`). `pb` is the calling module's alias of its proto package.
/// `$case` is a `tt`, not a `literal`: a `literal` fragment reaches the derives wrapped in an invisible group, which
/// serde reads but utoipa silently skips, so the document listed `Queued` where the API says `queued`.
macro_rules! proto_enum {
    ($(#[$meta:meta])* $name:ident, $proto:ident, $case:tt, { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = $case)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            // Not every enum is sent upstream (statuses and sources only come back).
            #[allow(dead_code)]
            pub fn to_proto(self) -> pb::$proto {
                match self {
                    $($name::$variant => pb::$proto::$variant),+
                }
            }

            pub fn from_proto(value: i32) -> Option<Self> {
                match pb::$proto::try_from(value).ok()? {
                    $(pb::$proto::$variant => Some($name::$variant),)+
                    pb::$proto::Unspecified => None,
                }
            }
        }
    };
}
pub(crate) use proto_enum;

/// A time as the services' messages carry it, to the nanosecond.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

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

/// The OpenAPI schema of [`Role`] (which lives in `platform`, free of `utoipa`): its lowercase names.
pub struct RoleSchema;

impl PartialSchema for RoleSchema {
    fn schema() -> RefOr<Schema> {
        let names = [Role::Viewer, Role::Operator, Role::Admin, Role::Service].map(Role::as_str);
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names))
            .description(Some(
                "`service` is the role of internal services; users are viewer, operator or admin.",
            ))
            .into()
    }
}

impl ToSchema for RoleSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "Role".into()
    }
}

pub(crate) fn time(ts: Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let ts = ts?;
    DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = User)]
pub struct UserBody {
    pub id: String,
    pub email: String,
    pub name: String,
    #[schema(value_type = Option<RoleSchema>)]
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

/// An access token grant (login, refresh, API-token exchange).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TokenGrant)]
pub struct TokenBody {
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserBody>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApiToken)]
pub struct ApiTokenBody {
    pub id: String,
    pub name: String,
    pub prefix: String,
    #[schema(value_type = Option<RoleSchema>)]
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
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1–200 (larger values are clamped); default 50.
    #[param(minimum = 1, maximum = 4294967295.0, format = Int64)]
    #[serde(default)]
    pub page_size: Option<u32>,
    /// `nextPageToken` of the previous page.
    #[serde(default)]
    pub page_token: Option<String>,
    /// Only on `/api/v1/tokens`: every user's tokens (admin).
    #[serde(default)]
    pub all: Option<bool>,
}

impl PageQuery {
    pub fn size(&self) -> Result<i32, ApiError> {
        page_size(self.page_size)
    }
}

/// `?pageSize=` as the services take it: 0 for their default, 1..=200 otherwise.
pub fn page_size(requested: Option<u32>) -> Result<i32, ApiError> {
    match requested {
        None => Ok(0),
        Some(0) => Err(ApiError::invalid("pageSize: must be between 1 and 200")),
        Some(n) => Ok(n.min(200) as i32),
    }
}

/// One page of a list; `nextPageToken` is absent on the last page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

pub fn next_token(token: String) -> Option<String> {
    (!token.is_empty()).then_some(token)
}

impl<T> Page<T> {
    /// A page of a service's `items`, with its `next_page_token` (empty on the last page).
    pub fn of<P>(items: Vec<P>, next_page_token: String) -> Self
    where
        T: From<P>,
    {
        Page {
            items: items.into_iter().map(T::from).collect(),
            next_page_token: next_token(next_page_token),
        }
    }
}

/// `GET /api/v1/auth/me`: the caller as their verified token says.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Me)]
pub struct MeBody {
    /// The user id (`sub`).
    pub id: String,
    pub name: String,
    #[schema(value_type = RoleSchema)]
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new API token with its secret (shown this once).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CreatedApiToken)]
pub struct CreatedTokenBody {
    pub token: Option<ApiTokenBody>,
    /// `dtk_…`: send it to `POST /api/v1/auth/token`; it cannot be shown again.
    pub secret: String,
}

/// A public key of the JWKS (Ed25519, RFC 8037).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Jwk)]
pub struct JwkBody {
    #[schema(example = "OKP")]
    pub kty: String,
    #[schema(example = "Ed25519")]
    pub crv: String,
    pub x: String,
    pub kid: String,
    #[schema(example = "EdDSA")]
    pub alg: String,
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub use_: String,
}

/// `GET /.well-known/jwks.json`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Jwks)]
pub struct JwksBody {
    pub keys: Vec<JwkBody>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_second_times_keep_their_nanoseconds() {
        let at = DateTime::parse_from_rfc3339("2024-05-01T10:00:00.25Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            timestamp(at),
            prost_types::Timestamp {
                seconds: 1_714_557_600,
                nanos: 250_000_000
            }
        );
    }
}
