//! User administration and passwords.

use secrecy::SecretString;
use uuid::Uuid;

use devopstrack_platform::auth::{Principal, Role};

use super::{AuthApp, require, store_err};
use crate::domain::{Cursor, Email, NewPassword, UserPatch, UserRecord, parse_name};
use crate::error::Error;
use crate::tokens::{decode_page_token, encode_page_token, page_size};

/// A user to create, as received (validated here).
#[derive(Debug)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Option<Role>,
    pub password: SecretString,
}

#[derive(Debug)]
pub struct UserPage {
    pub users: Vec<UserRecord>,
    pub next_page_token: Option<String>,
}

impl AuthApp {
    /// The caller's own account. A service principal has none.
    pub async fn who_am_i(&self, principal: &Principal) -> Result<UserRecord, Error> {
        self.acting_user(principal).await
    }

    #[tracing::instrument(skip_all, fields(role))]
    pub async fn create_user(&self, principal: &Principal, new: NewUser) -> Result<UserRecord, Error> {
        let caller = self.acting_user(principal).await?;
        require(principal, &caller, Role::Admin)?;
        self.insert_user(new).await
    }

    /// Creates a user without a caller: for bootstrapping (`devopstrack user create`, the first admin of `up`).
    pub async fn bootstrap_user(&self, new: NewUser) -> Result<UserRecord, Error> {
        self.insert_user(new).await
    }

    pub async fn user_count(&self) -> Result<u64, Error> {
        self.store.count_users().await.map_err(store_err("counting users"))
    }

    async fn insert_user(&self, new: NewUser) -> Result<UserRecord, Error> {
        let email = Email::parse(&new.email).map_err(|e| Error::invalid("email", e))?;
        let name = parse_name(&new.name).map_err(|e| Error::invalid("name", e))?;
        let role = match new.role {
            None => return Err(Error::invalid("role", "is required: viewer, operator or admin")),
            Some(Role::Service) => return Err(Error::invalid("role", "service is not a user role")),
            Some(role) => role,
        };
        let password = {
            use secrecy::ExposeSecret;
            NewPassword::parse(new.password.expose_secret()).map_err(|e| Error::invalid("password", e))?
        };
        let hash = self
            .hasher
            .hash(password.secret())
            .await
            .map_err(|e| Error::Internal(e.context("hashing")))?;
        let now = self.now();
        let user = UserRecord {
            id: Uuid::now_v7(),
            email,
            name,
            role,
            password_hash: hash,
            disabled: false,
            locked_until: None,
            created_at: now,
            updated_at: now,
            last_login_at: None,
        };
        self.store.insert_user(&user).await.map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => {
                Error::Conflict(format!("a user with email {} already exists", user.email))
            }
            other => store_err("creating a user")(other),
        })?;
        tracing::info!(user_id = %user.id, role = %user.role, "user created");
        Ok(user)
    }

    pub async fn list_users(&self, principal: &Principal, size: i32, token: &str) -> Result<UserPage, Error> {
        let caller = self.acting_user(principal).await?;
        require(principal, &caller, Role::Admin)?;
        let limit = page_size(size).map_err(Error::InvalidInput)?;
        let after = decode_page_token(token).map_err(Error::InvalidInput)?;
        let mut users = self
            .store
            .list_users(after, limit + 1)
            .await
            .map_err(store_err("listing users"))?;
        let next_page_token = if users.len() > limit as usize {
            users.truncate(limit as usize);
            users.last().map(|u| {
                encode_page_token(&Cursor {
                    created_at: u.created_at,
                    id: u.id,
                })
            })
        } else {
            None
        };
        Ok(UserPage { users, next_page_token })
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn update_user(&self, principal: &Principal, id: &str, patch: UserPatch) -> Result<UserRecord, Error> {
        let caller = self.acting_user(principal).await?;
        require(principal, &caller, Role::Admin)?;
        let id = Uuid::parse_str(id).map_err(|_| Error::invalid("id", "is not a UUID"))?;
        let patch = UserPatch {
            name: patch
                .name
                .map(|n| parse_name(&n))
                .transpose()
                .map_err(|e| Error::invalid("name", e))?,
            role: match patch.role {
                Some(Role::Service) => return Err(Error::invalid("role", "service is not a user role")),
                other => other,
            },
            disabled: patch.disabled,
        };
        if patch == UserPatch::default() {
            return Err(Error::InvalidInput(
                "nothing to update: give name, role or disabled".into(),
            ));
        }
        if caller.id == id && (patch.disabled == Some(true) || patch.role.is_some_and(|r| r != Role::Admin)) {
            return Err(Error::FailedPrecondition(
                "you cannot demote or disable yourself; ask another admin".into(),
            ));
        }
        let now = self.now();
        let user = self
            .store
            .update_user(id, &patch, now)
            .await
            .map_err(store_err("updating a user"))?
            .ok_or_else(|| Error::NotFound(format!("no user with id {id}")))?;
        if patch.disabled == Some(true) {
            let revoked = self
                .store
                .revoke_user_sessions(id, now)
                .await
                .map_err(store_err("revoking sessions"))?;
            tracing::info!(user_id = %id, revoked, "user disabled; sessions revoked");
        }
        Ok(user)
    }

    /// `user_id` empty: the caller changes their own password (current password required). Otherwise an admin sets
    /// another user's. Either way the user's sessions are revoked.
    pub async fn change_password(
        &self,
        principal: &Principal,
        user_id: &str,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<(), Error> {
        use secrecy::ExposeSecret;
        let caller = self.acting_user(principal).await?;
        let new = NewPassword::parse(new.expose_secret()).map_err(|e| Error::invalid("newPassword", e))?;
        let target = if user_id.is_empty() || user_id == caller.id.to_string() {
            let ok = self
                .hasher
                .verify(current, Some(&caller.password_hash))
                .await
                .map_err(|e| Error::Internal(e.context("verifying a password")))?;
            if !ok {
                return Err(Error::invalid("currentPassword", "is incorrect"));
            }
            caller.id
        } else {
            require(principal, &caller, Role::Admin)?;
            Uuid::parse_str(user_id).map_err(|_| Error::invalid("userId", "is not a UUID"))?
        };
        let hash = self
            .hasher
            .hash(new.secret())
            .await
            .map_err(|e| Error::Internal(e.context("hashing")))?;
        let now = self.now();
        if !self
            .store
            .set_password_hash(target, &hash, now)
            .await
            .map_err(store_err("setting a password"))?
        {
            return Err(Error::NotFound(format!("no user with id {target}")));
        }
        self.store
            .revoke_user_sessions(target, now)
            .await
            .map_err(store_err("revoking sessions"))?;
        tracing::info!(user_id = %target, "password changed; sessions revoked");
        Ok(())
    }
}
