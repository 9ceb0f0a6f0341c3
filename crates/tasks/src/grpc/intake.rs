//! The webhook intake's RPCs: translate, call one [`Intake`] use-case, translate back. ReceiveGithubDelivery needs
//! no access token (the delivery's signature authenticates it); the admin RPCs do.

use tonic::Status;

use devopstrack_platform::auth::Principal;
use devopstrack_proto::tasks::v1 as pb;

use crate::app::intake::{GithubDelivery, Intake, Verdict};
use crate::convert::timestamp;
use crate::error::Error;
use crate::store::inbox::{InboxDelivery, InboxState};

pub(super) async fn receive(
    intake: &Intake,
    r: pb::ReceiveGithubDeliveryRequest,
) -> Result<pb::ReceiveGithubDeliveryResponse, Status> {
    let delivery = GithubDelivery {
        project: r.project,
        event: r.event,
        delivery_id: r.delivery_id,
        signature: r.signature,
        body: r.body,
    };
    let answer = match intake.receive(delivery).await? {
        Verdict::Accepted(id) => pb::ReceiveGithubDeliveryResponse {
            verdict: pb::DeliveryVerdict::Accepted as i32,
            reason: String::new(),
            id: id.to_string(),
        },
        Verdict::Ignored(reason) => pb::ReceiveGithubDeliveryResponse {
            verdict: pb::DeliveryVerdict::Ignored as i32,
            reason: reason.to_owned(),
            id: String::new(),
        },
        Verdict::Duplicate => pb::ReceiveGithubDeliveryResponse {
            verdict: pb::DeliveryVerdict::Duplicate as i32,
            reason: String::new(),
            id: String::new(),
        },
    };
    Ok(answer)
}

pub(super) async fn list(
    intake: &Intake,
    principal: &Principal,
    r: pb::ListWebhookDeliveriesRequest,
) -> Result<pb::ListWebhookDeliveriesResponse, Status> {
    let state = match pb::WebhookDeliveryState::try_from(r.state) {
        Ok(pb::WebhookDeliveryState::Pending) => Some(InboxState::Pending),
        Ok(pb::WebhookDeliveryState::Parked) => Some(InboxState::Parked),
        Ok(pb::WebhookDeliveryState::Unspecified) => None,
        Err(_) => return Err(Error::invalid("state", format!("unknown state {}", r.state)).into()),
    };
    let page = intake.list(principal, state, r.page_size, &r.page_token).await?;
    Ok(pb::ListWebhookDeliveriesResponse {
        deliveries: page.deliveries.iter().map(delivery).collect(),
        next_page_token: page.next_page_token,
    })
}

pub(super) async fn replay(
    intake: &Intake,
    principal: &Principal,
    r: pb::ReplayWebhookDeliveryRequest,
) -> Result<pb::WebhookDelivery, Status> {
    Ok(delivery(&intake.replay(principal, &r.id).await?))
}

fn delivery(d: &InboxDelivery) -> pb::WebhookDelivery {
    let state = match d.state {
        InboxState::Pending => pb::WebhookDeliveryState::Pending,
        InboxState::Parked => pb::WebhookDeliveryState::Parked,
    };
    pb::WebhookDelivery {
        id: d.id.to_string(),
        project_id: d.project_id.clone(),
        project_slug: d.project_slug.clone(),
        delivery_id: d.delivery_id.clone(),
        event: d.event.clone(),
        state: state as i32,
        attempts: d.attempts,
        last_error: d.last_error.clone().unwrap_or_default(),
        received_at: Some(timestamp(d.received_at)),
        next_attempt_at: (d.state == InboxState::Pending).then(|| timestamp(d.due_at)),
        body_bytes: d.body.len() as u64,
    }
}
