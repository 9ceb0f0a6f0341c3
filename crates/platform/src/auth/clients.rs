//! Which service client may call which internal RPC, in one place.
//!
//! A service token names its client (`sub = service:<client id>`, see [`Principal::service_client`]). Most RPCs take
//! any authenticated caller and check roles; the ones below are internal plumbing that only certain peers call, so a
//! leaked credential of another client cannot use them. Users (not services) are not restricted here: their role
//! checks stay in each service's use-cases.

use super::Principal;

/// The gateway's client id (`DEVOPSTRACK_GATEWAY__CLIENT_ID`'s default).
pub const GATEWAY: &str = "gateway";
/// The tasks service's client id (`DEVOPSTRACK_TASKS__CLIENT_ID`'s default).
pub const TASKS: &str = "tasks";

/// projects `RecordDeployment`: tasks (its deployments outbox, fed by finished deploys and GitHub
/// `deployment_status` webhooks).
pub const RECORD_DEPLOYMENT_CLIENTS: &[&str] = &[TASKS];
/// metrics `Record*`: tasks (job runs and deployments, and the webhook inbox's changes and incidents).
pub const RECORD_METRICS_CLIENTS: &[&str] = &[TASKS];
/// projects `VerifyGithubWebhook`: tasks' webhook intake only.
pub const GITHUB_WEBHOOK_CLIENTS: &[&str] = &[TASKS];
/// tasks `WatchEvents` for every project: the gateway's chat notifier (the bot's notices of failed runs, finished
/// deploys and waiting approvals). Users watch by their role.
pub const WATCH_EVENTS_CLIENTS: &[&str] = &[GATEWAY];
/// tasks `CreateRun` / `Rollback` with `asked_by`: the gateway's chat, vouching (its service token in
/// [`SERVICE_AUTHORIZATION`], beside the approver's own token in `authorization`) that `asked_by` asked for the run and
/// that the caller approved it with four eyes.
pub const CHAT_APPROVAL_CLIENTS: &[&str] = &[GATEWAY];
/// The metadata key where a service's own bearer token travels when `authorization` carries a person's token (see
/// [`CHAT_APPROVAL_CLIENTS`]).
pub const SERVICE_AUTHORIZATION: &str = "x-service-authorization";
/// Who auth believes about a login's client address (`LoginRequest.client_address`): the edge that saw it.
pub const LOGIN_FORWARDERS: &[&str] = &[GATEWAY];

/// Refuses a service principal whose client is not in `allowed` (PERMISSION_DENIED naming the client and `rpc`);
/// users pass (their roles are checked by the use-case).
#[allow(clippy::result_large_err)] // tonic::Status is what every gRPC handler answers
pub fn require_client(principal: &Principal, allowed: &[&str], rpc: &str) -> Result<(), tonic::Status> {
    match principal.service_client() {
        None if principal.role != super::Role::Service => Ok(()),
        Some(client) if allowed.contains(&client) => Ok(()),
        Some(client) => Err(tonic::Status::permission_denied(format!(
            "{rpc} is not for the service client {client:?} (allowed: {})",
            allowed.join(", ")
        ))),
        None => Err(tonic::Status::permission_denied(format!(
            "{rpc}: a service token must name its client (sub service:<client id>)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn principal(subject: &str, role: Role) -> Principal {
        Principal {
            subject: subject.into(),
            role,
            name: subject.into(),
            token_id: "j".into(),
            expires_at: 0,
        }
    }

    #[test]
    fn only_the_listed_service_clients_pass_and_users_are_left_to_their_roles() {
        let tasks = principal("service:tasks", Role::Service);
        let gateway = principal("service:gateway", Role::Service);
        let stranger = principal("service:loadgen", Role::Service);
        let nameless = principal("tasks", Role::Service);
        let viewer = principal("0190a6e4-0000-7000-8000-000000000001", Role::Viewer);

        assert!(require_client(&tasks, GITHUB_WEBHOOK_CLIENTS, "VerifyGithubWebhook").is_ok());
        let denied = require_client(&gateway, GITHUB_WEBHOOK_CLIENTS, "VerifyGithubWebhook").unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert!(denied.message().contains("\"gateway\""), "{}", denied.message());
        assert!(require_client(&gateway, RECORD_DEPLOYMENT_CLIENTS, "RecordDeployment").is_err());
        assert!(require_client(&tasks, RECORD_DEPLOYMENT_CLIENTS, "RecordDeployment").is_ok());
        assert!(require_client(&stranger, RECORD_METRICS_CLIENTS, "RecordJobRun").is_err());
        assert!(require_client(&nameless, RECORD_METRICS_CLIENTS, "RecordJobRun").is_err());
        assert!(require_client(&viewer, GITHUB_WEBHOOK_CLIENTS, "VerifyGithubWebhook").is_ok());
        assert!(require_client(&gateway, WATCH_EVENTS_CLIENTS, "WatchEvents").is_ok());
        assert!(require_client(&tasks, WATCH_EVENTS_CLIENTS, "WatchEvents").is_err());
        assert!(require_client(&gateway, CHAT_APPROVAL_CLIENTS, "CreateRun").is_ok());
        assert!(require_client(&tasks, CHAT_APPROVAL_CLIENTS, "CreateRun").is_err());
        assert_eq!(tasks.service_client(), Some("tasks"));
        assert_eq!(viewer.service_client(), None);
        assert_eq!(
            principal("service:x", Role::Admin).service_client(),
            None,
            "only the service role names a client"
        );
    }
}
