//! User administration and passwords.

use std::sync::Arc;

use secrecy::SecretString;
use uuid::Uuid;

use devopstrack_platform::auth::{Principal, Role};

use super::{AuthApp, Clock, Source, hash_err, require, store_err};
use crate::domain::{Cursor, Email, NewPassword, UserName, UserPatch, UserRecord, parse_name, throttle_key};
use crate::error::Error;
use crate::passwords::PasswordHasher;
use crate::store::AuthStore;
use crate::tokens::{decode_page_token, next_page_token, page_size};

/// A user to create, as received (validated here).
#[derive(Debug)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Option<Role>,
    pub password: SecretString,
}

/// The most ids one [`AuthApp::lookup_users`] call takes: a page of the dashboard names far fewer people.
pub const LOOKUP_MAX_IDS: usize = 100;

/// Creating users without a caller, for bootstrapping (`devopstrack user create`, the first admin of `up`): the
/// store and the hasher only, so it needs neither the signing keys nor their key-encryption key.
#[derive(Clone)]
pub struct UserAdmin {
    store: Arc<dyn AuthStore>,
    hasher: PasswordHasher,
    clock: Clock,
}

impl UserAdmin {
    pub fn new(store: Arc<dyn AuthStore>, hasher: PasswordHasher, clock: Clock) -> Self {
        Self { store, hasher, clock }
    }

    /// Creates a user without a caller.
    pub async fn bootstrap_user(&self, new: NewUser) -> Result<UserRecord, Error> {
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
        let hash = self.hasher.hash(password.secret()).await.map_err(hash_err("hashing"))?;
        let now = (self.clock)();
        let user = UserRecord {
            id: Uuid::now_v7(),
            email,
            name,
            role,
            password_hash: hash,
            disabled: false,
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

    pub async fn user_count(&self) -> Result<u64, Error> {
        self.store.count_users().await.map_err(store_err("counting users"))
    }
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
        self.user_admin().bootstrap_user(new).await
    }

    /// Creates a user without a caller: for bootstrapping (`devopstrack user create`, the first admin of `up`).
    pub async fn bootstrap_user(&self, new: NewUser) -> Result<UserRecord, Error> {
        self.user_admin().bootstrap_user(new).await
    }

    pub async fn user_count(&self) -> Result<u64, Error> {
        self.user_admin().user_count().await
    }

    fn user_admin(&self) -> UserAdmin {
        UserAdmin::new(self.store.clone(), self.hasher.clone(), self.clock.clone())
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
        let next_page_token = next_page_token(&mut users, limit, |u| Cursor {
            created_at: u.created_at,
            id: u.id,
        });
        Ok(UserPage { users, next_page_token })
    }

    /// The display names of `ids` for any signed-in caller (viewer and up, and services), so people see who did
    /// something without the admin-only user list. Answers only id and name; unknown ids are left out, duplicates
    /// answered once, in the order of their first appearance in `ids`.
    #[tracing::instrument(skip_all, fields(count = ids.len()))]
    pub async fn lookup_users(&self, principal: &Principal, ids: &[String]) -> Result<Vec<UserName>, Error> {
        // A service token has no account behind it; a user's must still exist and be enabled.
        if principal.role != Role::Service {
            let caller = self.acting_user(principal).await?;
            require(principal, &caller, Role::Viewer)?;
        }
        let ids = parse_lookup_ids(ids)?;
        let mut found = self
            .store
            .user_names(&ids)
            .await
            .map_err(store_err("looking up user names"))?;
        // The store answers in id order; put them back in the caller's.
        found.sort_by_key(|u| ids.iter().position(|id| *id == u.id));
        Ok(found)
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

    /// `user_id` empty: the caller changes their own password (current password required, and its checks throttled
    /// per (user, `source`) like logins). Otherwise an admin sets another user's. Either way the user's sessions are
    /// revoked.
    pub async fn change_password(
        &self,
        principal: &Principal,
        user_id: &str,
        current: &SecretString,
        new: &SecretString,
        source: Source,
    ) -> Result<(), Error> {
        use secrecy::ExposeSecret;
        let caller = self.acting_user(principal).await?;
        let new = NewPassword::parse(new.expose_secret()).map_err(|e| Error::invalid("newPassword", e))?;
        let target = if user_id.is_empty() || user_id == caller.id.to_string() {
            let key = throttle_key("password", &caller.id.to_string(), source);
            self.admit(&key).await?;
            let ok = self
                .hasher
                .verify(current, Some(&caller.password_hash))
                .await
                .map_err(hash_err("verifying a password"))?;
            if !ok {
                return Err(Error::invalid("currentPassword", "is incorrect"));
            }
            self.forget(&key).await?;
            caller.id
        } else {
            require(principal, &caller, Role::Admin)?;
            Uuid::parse_str(user_id).map_err(|_| Error::invalid("userId", "is not a UUID"))?
        };
        let hash = self.hasher.hash(new.secret()).await.map_err(hash_err("hashing"))?;
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

/// 1..=[`LOOKUP_MAX_IDS`] UUIDs, first occurrences only, in the order given; errors name `ids` or `ids[i]`.
fn parse_lookup_ids(raw: &[String]) -> Result<Vec<Uuid>, Error> {
    if raw.is_empty() {
        return Err(Error::invalid("ids", "give at least one user id"));
    }
    if raw.len() > LOOKUP_MAX_IDS {
        return Err(Error::invalid(
            "ids",
            format!("at most {LOOKUP_MAX_IDS} ids per call, got {}", raw.len()),
        ));
    }
    let mut ids = Vec::with_capacity(raw.len());
    for (i, id) in raw.iter().enumerate() {
        let id = Uuid::parse_str(id).map_err(|_| Error::invalid(&format!("ids[{i}]"), "is not a UUID"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod lookup_ids_tests {
    use super::*;

    fn strings(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    fn message(result: Result<Vec<Uuid>, Error>) -> String {
        match result {
            Err(Error::InvalidInput(m)) => m,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn ids_keep_their_first_order_once_each() {
        let a = "0190f0a8-0000-7000-8000-00000000000a";
        let b = "0190f0a8-0000-7000-8000-00000000000b";
        let parsed = parse_lookup_ids(&strings(&[b, a, b, &b.to_uppercase()])).expect("valid ids");
        assert_eq!(parsed, [Uuid::parse_str(b).unwrap(), Uuid::parse_str(a).unwrap()]);
    }

    #[test]
    fn none_too_many_or_a_malformed_id_names_the_field() {
        assert_eq!(message(parse_lookup_ids(&[])), "ids: give at least one user id");
        let many = vec![Uuid::nil().to_string(); LOOKUP_MAX_IDS + 1];
        assert_eq!(
            message(parse_lookup_ids(&many)),
            "ids: at most 100 ids per call, got 101"
        );
        assert!(parse_lookup_ids(&many[..LOOKUP_MAX_IDS]).is_ok());
        let bad = strings(&["0190f0a8-0000-7000-8000-00000000000a", "gateway"]);
        assert_eq!(message(parse_lookup_ids(&bad)), "ids[1]: is not a UUID");
    }
}
