//! The gRPC transport: authenticate, translate, call one use-case, translate back. Generated types stop here.

mod source;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use tonic::{Request, Response, Status};

use devopstrack_peers::TokenRefusal;
use devopstrack_platform::auth::{Principal, Role};
use devopstrack_proto::auth::v1 as pb;
use devopstrack_proto::auth::v1::auth_service_server::AuthService;

use crate::app::{AuthApp, Caller, NewUser, TokenGrant};
use crate::domain::{ApiTokenRecord, UserPatch, UserRecord};
use crate::error::Error;

pub use devopstrack_proto::auth::v1::auth_service_server::AuthServiceServer;

pub struct AuthGrpc {
    app: Arc<AuthApp>,
}

impl AuthGrpc {
    pub fn new(app: Arc<AuthApp>) -> Self {
        Self { app }
    }

    pub fn into_server(self) -> AuthServiceServer<Self> {
        AuthServiceServer::new(self)
    }

    async fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        devopstrack_peers::authenticate(self.app.verifier(), request.metadata()).await
    }

    /// The principal and the credential it came from (an API token or not).
    async fn caller<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        let claims = self
            .app
            .verifier()
            .verify_metadata_claims(request.metadata())
            .await
            .map_err(|e| Status::from(TokenRefusal::from(e)))?;
        Ok(Caller::try_from(claims)?)
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl AuthService for AuthGrpc {
    async fn login(&self, request: Request<pb::LoginRequest>) -> Answer<pb::TokenResponse> {
        let source = source::of_login(self.app.verifier(), &request).await?;
        let pb::LoginRequest {
            email,
            password,
            client_address: _,
        } = request.into_inner();
        let grant = self.app.login(&email, &SecretString::from(password), source).await?;
        Ok(Response::new(token_response(grant)))
    }

    async fn refresh(&self, request: Request<pb::RefreshRequest>) -> Answer<pb::TokenResponse> {
        let grant = self.app.refresh(&request.into_inner().refresh_token).await?;
        Ok(Response::new(token_response(grant)))
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Answer<pb::LogoutResponse> {
        self.app.logout(&request.into_inner().refresh_token).await?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn who_am_i(&self, request: Request<pb::WhoAmIRequest>) -> Answer<pb::User> {
        let principal = self.principal(&request).await?;
        if principal.role == Role::Service {
            return Ok(Response::new(pb::User {
                id: principal.subject,
                name: principal.name,
                role: pb::Role::Service as i32,
                ..Default::default()
            }));
        }
        Ok(Response::new(user(self.app.who_am_i(&principal).await?)))
    }

    async fn get_jwks(&self, _: Request<pb::GetJwksRequest>) -> Answer<pb::GetJwksResponse> {
        let keys = self
            .app
            .jwks()
            .into_iter()
            .map(|k| pb::Jwk {
                kty: k.kty,
                crv: k.crv,
                x: k.x,
                kid: k.kid,
                alg: k.alg,
                r#use: k.use_,
            })
            .collect();
        Ok(Response::new(pb::GetJwksResponse { keys }))
    }

    async fn issue_service_token(&self, request: Request<pb::IssueServiceTokenRequest>) -> Answer<pb::TokenResponse> {
        let source = source::peer(&request);
        let pb::IssueServiceTokenRequest {
            client_id,
            client_secret,
        } = request.into_inner();
        let grant = self.app.issue_service_token(&client_id, &client_secret, source).await?;
        Ok(Response::new(token_response(grant)))
    }

    async fn create_user(&self, request: Request<pb::CreateUserRequest>) -> Answer<pb::User> {
        let principal = self.principal(&request).await?;
        let pb::CreateUserRequest {
            email,
            name,
            role,
            password,
        } = request.into_inner();
        let new = NewUser {
            email,
            name,
            role: role_from_proto(role, "role")?,
            password: SecretString::from(password),
        };
        Ok(Response::new(user(self.app.create_user(&principal, new).await?)))
    }

    async fn list_users(&self, request: Request<pb::ListUsersRequest>) -> Answer<pb::ListUsersResponse> {
        let principal = self.principal(&request).await?;
        let pb::ListUsersRequest { page_size, page_token } = request.into_inner();
        let page = self.app.list_users(&principal, page_size, &page_token).await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: page.users.into_iter().map(user).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn update_user(&self, request: Request<pb::UpdateUserRequest>) -> Answer<pb::User> {
        let principal = self.principal(&request).await?;
        let pb::UpdateUserRequest {
            id,
            name,
            role,
            disabled,
        } = request.into_inner();
        let role = match role {
            Some(r) => Some(role_from_proto(r, "role")?.ok_or_else(|| Error::invalid("role", "must be specified"))?),
            None => None,
        };
        let patch = UserPatch { name, role, disabled };
        Ok(Response::new(user(self.app.update_user(&principal, &id, patch).await?)))
    }

    async fn change_password(&self, request: Request<pb::ChangePasswordRequest>) -> Answer<pb::ChangePasswordResponse> {
        let principal = self.principal(&request).await?;
        let source = source::peer(&request);
        let pb::ChangePasswordRequest {
            user_id,
            current_password,
            new_password,
        } = request.into_inner();
        self.app
            .change_password(
                &principal,
                &user_id,
                &SecretString::from(current_password),
                &SecretString::from(new_password),
                source,
            )
            .await?;
        Ok(Response::new(pb::ChangePasswordResponse {}))
    }

    async fn lookup_users(&self, request: Request<pb::LookupUsersRequest>) -> Answer<pb::LookupUsersResponse> {
        let principal = self.principal(&request).await?;
        let pb::LookupUsersRequest { ids } = request.into_inner();
        let users = self.app.lookup_users(&principal, &ids).await?;
        Ok(Response::new(pb::LookupUsersResponse {
            users: users
                .into_iter()
                .map(|u| pb::UserName {
                    id: u.id.to_string(),
                    name: u.name,
                })
                .collect(),
        }))
    }

    async fn create_api_token(
        &self,
        request: Request<pb::CreateApiTokenRequest>,
    ) -> Answer<pb::CreateApiTokenResponse> {
        let caller = self.caller(&request).await?;
        let pb::CreateApiTokenRequest {
            name,
            role,
            expires_in_days,
        } = request.into_inner();
        let role = role_from_proto(role, "role")?;
        let created = self.app.create_api_token(&caller, &name, role, expires_in_days).await?;
        Ok(Response::new(pb::CreateApiTokenResponse {
            token: Some(api_token(created.record)),
            secret: created.secret,
        }))
    }

    async fn list_api_tokens(&self, request: Request<pb::ListApiTokensRequest>) -> Answer<pb::ListApiTokensResponse> {
        let principal = self.principal(&request).await?;
        let pb::ListApiTokensRequest {
            page_size,
            page_token,
            all_users,
        } = request.into_inner();
        let page = self
            .app
            .list_api_tokens(&principal, all_users, page_size, &page_token)
            .await?;
        Ok(Response::new(pb::ListApiTokensResponse {
            tokens: page.tokens.into_iter().map(api_token).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn revoke_api_token(
        &self,
        request: Request<pb::RevokeApiTokenRequest>,
    ) -> Answer<pb::RevokeApiTokenResponse> {
        let principal = self.principal(&request).await?;
        self.app.revoke_api_token(&principal, &request.into_inner().id).await?;
        Ok(Response::new(pb::RevokeApiTokenResponse {}))
    }

    async fn exchange_api_token(&self, request: Request<pb::ExchangeApiTokenRequest>) -> Answer<pb::TokenResponse> {
        let grant = self.app.exchange_api_token(&request.into_inner().token).await?;
        Ok(Response::new(token_response(grant)))
    }
}

/// `ROLE_UNSPECIFIED` → `None`; unknown numbers are an error naming the field.
fn role_from_proto(value: i32, field: &str) -> Result<Option<Role>, Error> {
    match pb::Role::try_from(value) {
        Ok(pb::Role::Unspecified) => Ok(None),
        Ok(pb::Role::Viewer) => Ok(Some(Role::Viewer)),
        Ok(pb::Role::Operator) => Ok(Some(Role::Operator)),
        Ok(pb::Role::Admin) => Ok(Some(Role::Admin)),
        Ok(pb::Role::Service) => Ok(Some(Role::Service)),
        Err(_) => Err(Error::invalid(field, format!("unknown role {value}"))),
    }
}

fn role_to_proto(role: Role) -> pb::Role {
    match role {
        Role::Viewer => pb::Role::Viewer,
        Role::Operator => pb::Role::Operator,
        Role::Admin => pb::Role::Admin,
        Role::Service => pb::Role::Service,
    }
}

fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

fn user(u: UserRecord) -> pb::User {
    pb::User {
        id: u.id.to_string(),
        email: u.email.to_string(),
        name: u.name,
        role: role_to_proto(u.role) as i32,
        disabled: u.disabled,
        created_at: Some(timestamp(u.created_at)),
        updated_at: Some(timestamp(u.updated_at)),
        last_login_at: u.last_login_at.map(timestamp),
    }
}

fn api_token(t: ApiTokenRecord) -> pb::ApiToken {
    pb::ApiToken {
        id: t.id.to_string(),
        name: t.name,
        prefix: t.prefix,
        role: role_to_proto(t.role) as i32,
        user_id: t.user_id.to_string(),
        created_at: Some(timestamp(t.created_at)),
        expires_at: t.expires_at.map(timestamp),
        last_used_at: t.last_used_at.map(timestamp),
        revoked_at: t.revoked_at.map(timestamp),
    }
}

fn token_response(grant: TokenGrant) -> pb::TokenResponse {
    pb::TokenResponse {
        access_token: grant.access_token,
        token_type: "Bearer".into(),
        expires_in: grant.expires_in,
        refresh_token: grant.refresh_token.unwrap_or_default(),
        refresh_expires_in: grant.refresh_expires_in,
        user: grant.user.map(user),
    }
}
