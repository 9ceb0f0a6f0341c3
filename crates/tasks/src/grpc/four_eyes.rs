//! The chat's four eyes on CreateRun and Rollback (`asked_by`): believed only when the gateway vouches for it with its
//! own service token in `x-service-authorization`, beside the approving person's token in `authorization`. A person
//! alone (even an admin) cannot name someone else as the asker, and the gateway's token alone approves nothing: the
//! approver's role and four eyes are checked on the approver's own verified token ([`crate::domain::Pipeline::pre_approve`]).

use tonic::{Request, Status};

use devopstrack_platform::auth::{
    CHAT_APPROVAL_CLIENTS, JwtVerifier, Principal, Role, SERVICE_AUTHORIZATION, bearer, require_client,
};

/// `asked_by` when the request may carry it (`None` when empty); PERMISSION_DENIED naming `askedBy` otherwise.
pub(super) async fn asked_by<T>(
    verifier: &JwtVerifier,
    caller: &Principal,
    request: &Request<T>,
    asked_by: &str,
    rpc: &str,
) -> Result<Option<String>, Status> {
    if asked_by.is_empty() {
        return Ok(None);
    }
    let refused = |why: String| Status::permission_denied(format!("askedBy: {why}"));
    if caller.role == Role::Service {
        return Err(refused(
            "the caller must be the person who approved the run, not a service".into(),
        ));
    }
    let value = request.metadata().get(SERVICE_AUTHORIZATION).ok_or_else(|| {
        refused(format!(
            "only the gateway's chat names who asked, with its service token in {SERVICE_AUTHORIZATION}"
        ))
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(bearer)
        .ok_or_else(|| refused(format!("{SERVICE_AUTHORIZATION} is not a bearer token")))?;
    let voucher = verifier
        .verify(token)
        .await
        .map_err(|e| refused(format!("the token in {SERVICE_AUTHORIZATION} is not valid: {e}")))?;
    if voucher.role != Role::Service {
        return Err(refused(format!("{SERVICE_AUTHORIZATION} must carry a service token")));
    }
    require_client(&voucher, CHAT_APPROVAL_CLIENTS, rpc)?;
    Ok(Some(asked_by.to_owned()))
}
