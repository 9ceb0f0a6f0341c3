//! `/api/v1/admin/webhook-deliveries`: the GitHub deliveries kept in tasks' webhook inbox (admin; tasks enforces it).
//! A delivery that failed every processing attempt is parked with its reason; an admin lists them
//! (`?state=parked`) and replays one once what made it fail is fixed.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use devopstrack_proto::tasks::v1 as pb;

use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{Query, Upstream, upstream};
use crate::routes::dto::{Page, page_size, time};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/admin/webhook-deliveries", web::get().to(list))
        .route("/api/v1/admin/webhook-deliveries/{id}/replay", web::post().to(replay));
}

/// `?state=&pageSize=&pageToken=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// `parked` (failed every attempt) or `pending` (waiting for processing or a retry).
    #[param(value_type = String, pattern = "^(parked|pending)$")]
    state: String,
    /// 1–100; default 20.
    #[param(minimum = 1, maximum = 100)]
    #[serde(default)]
    page_size: Option<u32>,
    /// `nextPageToken` of the previous page.
    #[serde(default)]
    page_token: Option<String>,
}

/// A delivery in the inbox (without its body).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WebhookDelivery)]
pub(crate) struct DeliveryBody {
    /// The inbox's id: what the replay route names.
    id: String,
    project: String,
    /// `X-GitHub-Delivery`.
    delivery_id: String,
    /// `X-GitHub-Event`.
    event: String,
    /// `pending` or `parked`.
    state: &'static str,
    /// Failed attempts so far.
    attempts: u32,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    received_at: Option<DateTime<Utc>>,
    /// When it is processed next (pending only).
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<DateTime<Utc>>,
    body_bytes: u64,
}

impl From<pb::WebhookDelivery> for DeliveryBody {
    fn from(d: pb::WebhookDelivery) -> Self {
        Self {
            id: d.id,
            project: d.project_slug,
            delivery_id: d.delivery_id,
            event: d.event,
            state: match pb::WebhookDeliveryState::try_from(d.state) {
                Ok(pb::WebhookDeliveryState::Parked) => "parked",
                Ok(pb::WebhookDeliveryState::Pending | pb::WebhookDeliveryState::Unspecified) | Err(_) => "pending",
            },
            attempts: d.attempts,
            last_error: (!d.last_error.is_empty()).then_some(d.last_error),
            received_at: time(d.received_at),
            next_attempt_at: time(d.next_attempt_at),
            body_bytes: d.body_bytes,
        }
    }
}

/// Lists the webhook deliveries in one state, oldest first (admin).
#[utoipa::path(get, path = "/api/v1/admin/webhook-deliveries", tag = "webhooks",
    operation_id = "listWebhookDeliveries", params(ListQuery),
    responses(
        (status = 200, description = "One page of deliveries", body = Page<DeliveryBody>),
        (status = 400, description = "Bad query (the message names the parameter)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
async fn list(Upstream { state, caller, id }: Upstream, query: Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let wanted = match query.state.as_str() {
        "parked" => pb::WebhookDeliveryState::Parked,
        "pending" => pb::WebhookDeliveryState::Pending,
        other => {
            return Err(ApiError::invalid(format!(
                "state: must be parked or pending, not {other:?}"
            )));
        }
    };
    let message = pb::ListWebhookDeliveriesRequest {
        state: wanted as i32,
        page_size: page_size(query.page_size)?.clamp(0, 100) as u32,
        page_token: query.page_token.clone().unwrap_or_default(),
    };
    let page = state
        .tasks
        .clone()
        .list_webhook_deliveries(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Ok().json(Page::<DeliveryBody>::of(page.deliveries, page.next_page_token)))
}

/// Processes a parked delivery again, from its first attempt (admin).
#[utoipa::path(post, path = "/api/v1/admin/webhook-deliveries/{id}/replay", tag = "webhooks",
    operation_id = "replayWebhookDelivery",
    params(("id" = crate::openapi::contract::Uuid, Path, description = "The delivery's id (from the list)")),
    responses(
        (status = 200, description = "Pending again", body = DeliveryBody),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No parked delivery with this id", body = ErrorBody),
    ))]
async fn replay(
    Upstream { state, caller, id }: Upstream,
    delivery: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let message = pb::ReplayWebhookDeliveryRequest {
        id: delivery.into_inner(),
    };
    let replayed = state
        .tasks
        .clone()
        .replay_webhook_delivery(upstream(message, Some(&caller), &id))
        .await?
        .into_inner();
    Ok(HttpResponse::Ok().json(DeliveryBody::from(replayed)))
}
