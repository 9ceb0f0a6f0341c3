//! What the chat's four eyes need from the platform beyond the decider's token: the asker's role *now* (an action
//! approved by someone else runs after the asker confirmed, and the asker's role may have changed since), and the
//! gateway's own service token vouching to tasks that the run was asked for by the asker (tasks `CreateRun` /
//! `Rollback` `asked_by`: the run is triggered by the asker and its environment's gate is approved by the approver,
//! whose own token tasks verifies).

use devopstrack_platform::auth::{Role, SERVICE_AUTHORIZATION};
use devopstrack_proto::auth::v1 as auth_pb;

use super::ChatError;
use super::platform::{CallAs, Platform};

/// How many users [`Platform::current_role`] reads at most (pages of 200).
const MAX_USER_PAGES: usize = 50;

impl Platform {
    /// The role `user_id` has now, read from auth as `who` (an admin: only admins approve what this is for); `None`
    /// when the account is gone or disabled.
    pub async fn current_role(&self, who: &CallAs, user_id: &str) -> Result<Option<Role>, ChatError> {
        let mut page_token = String::new();
        for _ in 0..MAX_USER_PAGES {
            let page = self
                .auth
                .clone()
                .list_users(who.request(auth_pb::ListUsersRequest {
                    page_size: 200,
                    page_token: page_token.clone(),
                }))
                .await?
                .into_inner();
            if let Some(user) = page.users.iter().find(|u| u.id == user_id) {
                return Ok((!user.disabled).then(|| role(user.role)).flatten());
            }
            if page.next_page_token.is_empty() {
                return Ok(None);
            }
            page_token = page.next_page_token;
        }
        Err(ChatError::Unavailable(format!(
            "could not find user {user_id} among the first {} accounts",
            MAX_USER_PAGES * 200
        )))
    }

    /// Adds the gateway's service token to `request` (in `x-service-authorization`), vouching for its `asked_by`.
    pub(super) async fn vouch<T>(&self, request: &mut tonic::Request<T>) -> Result<(), ChatError> {
        let value = self.service_tokens.authorization().await.map_err(|e| {
            ChatError::Unavailable(format!("the chat cannot vouch for who asked (no service token: {e})"))
        })?;
        request.metadata_mut().insert(SERVICE_AUTHORIZATION, value);
        Ok(())
    }
}

fn role(value: i32) -> Option<Role> {
    match auth_pb::Role::try_from(value).ok()? {
        auth_pb::Role::Viewer => Some(Role::Viewer),
        auth_pb::Role::Operator => Some(Role::Operator),
        auth_pb::Role::Admin => Some(Role::Admin),
        auth_pb::Role::Service | auth_pb::Role::Unspecified => None,
    }
}
