//! `POST /api/v1/webhooks/github/{project}`: GitHub's deliveries for one project. No bearer token: a delivery is
//! authenticated by its `X-Hub-Signature-256`, which the tasks service has the projects service check with the
//! project's secret (set with `PUT /api/v1/projects/{slug}/integrations/github`). The route requires the headers, reads
//! the body (at most 5 MiB) and makes one call, tasks' ReceiveGithubDelivery, which records a verified delivery in its
//! durable inbox before answering; the effects follow in tasks' background processor.
//!
//! Answers: 202 `accepted` (verified, recorded), 202 `ignored` (verified, nothing to record: `ping`, an event type not
//! handled, a push to another branch, an issue not labelled `incident`, …), 200 `duplicate` (this delivery id was
//! received in the last 7 days: a replay or a redelivery), 400 (a required header missing, an `X-GitHub-Event` that is
//! no event name, or a handled event whose body is not the JSON it should be), 401 (signature missing or wrong), 404
//! (no such project, or no secret set for it: the two are not told apart), 413 (body over 5 MiB), 429 (too many
//! deliveries in flight from one address), 503 (a service is down: GitHub may redeliver).

use actix_web::http::header::HeaderMap;
use actix_web::{HttpRequest, HttpResponse, web};
use futures::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use devopstrack_proto::tasks::v1 as pb;

use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::extract::{RequestId, client_ip, upstream};
use crate::routes::ws::caps::address_key;
use crate::state::AppState;
use intake::MAX_IN_FLIGHT_PER_SOURCE;

pub(crate) mod deliveries;
pub(crate) mod intake;

/// Largest webhook body accepted (GitHub caps payloads at 25 MB, but the events handled are far smaller).
pub const MAX_PAYLOAD_BYTES: usize = 5 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/webhooks/github/{project}", web::post().to(github))
        .configure(deliveries::configure);
}

/// What the intake did with a delivery.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookAnswer, example = json!({"status": "accepted"}))]
pub(crate) struct AnswerBody {
    /// `accepted`, `ignored` or `duplicate`.
    status: &'static str,
    /// Why an ignored delivery records nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// Receives a GitHub webhook delivery for a project (configure it in GitHub with content type `application/json`
/// and the project's secret). `workflow_run` and `workflow_job` become tracked pipeline runs, `deployment_status`
/// deployments, `push` to the default branch changes, and issues labelled `incident` incidents.
#[utoipa::path(post, path = "/api/v1/webhooks/github/{project}", tag = "webhooks",
    operation_id = "receiveGithubWebhook", security(()),
    params(
        ("project" = crate::openapi::contract::ProjectRef, Path, description = "Project slug (or id)"),
        ("X-GitHub-Event" = crate::openapi::contract::GithubEventName, Header, description = "The event name (`workflow_run`, `push`, …)"),
        ("X-GitHub-Delivery" = crate::openapi::contract::GithubDeliveryId, Header, description = "The delivery's unique id (replays are detected by it)"),
        ("X-Hub-Signature-256" = String, Header,
            description = "`sha256=` and the hex HMAC-SHA256 of the raw body with the project's webhook secret"),
    ),
    request_body(content = Object, content_type = "application/json", description = "GitHub's payload, as sent"),
    responses(
        (status = 202, description = "Verified and recorded: `accepted` (processing in the background) or `ignored`",
            body = AnswerBody),
        (status = 200, description = "`duplicate`: this delivery id was received before; nothing done",
            body = AnswerBody),
        (status = 400,
            description = "A header is missing or malformed, or the body is not the JSON this event should be",
            body = ErrorBody),
        (status = 401, description = "The signature is missing or does not match", body = ErrorBody),
        (status = 404, description = "No such project, or no webhook secret set for it", body = ErrorBody),
        (status = 413, description = "The body is over 5 MiB", body = ErrorBody),
        (status = 429, description = "Too many deliveries in flight from this address", body = ErrorBody),
        (status = 503, description = "A service is down: GitHub may redeliver", body = ErrorBody),
    ))]
async fn github(
    state: web::Data<AppState>,
    request: HttpRequest,
    request_id: RequestId,
    project: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let intake = &state.webhook_intake;
    let event = header(request.headers(), "x-github-event")
        .unwrap_or_default()
        .to_owned();
    let answer = receive(&state, &request, &request_id, &project, body).await;
    let result = match &answer {
        Ok(answer) => answer.status,
        Err(refusal) => refusal.result,
    };
    intake.count(&event, result);
    match answer {
        Ok(answer) if answer.status == "duplicate" => Ok(HttpResponse::Ok().json(answer)),
        Ok(answer) => Ok(HttpResponse::Accepted().json(answer)),
        Err(refusal) => Err(refusal.error),
    }
}

/// A refused delivery: the error answered and the metric's `result`.
struct Refusal {
    result: &'static str,
    error: ApiError,
}

fn refuse(result: &'static str) -> impl FnOnce(ApiError) -> Refusal {
    move |error| Refusal { result, error }
}

async fn receive(
    state: &AppState,
    request: &HttpRequest,
    request_id: &RequestId,
    project: &str,
    body: web::Payload,
) -> Result<AnswerBody, Refusal> {
    let headers = request.headers();
    let delivery_id = header(headers, "x-github-delivery")
        .ok_or_else(|| ApiError::invalid("X-GitHub-Delivery: header is required"))
        .map_err(refuse("malformed"))?
        .to_owned();
    let event = header(headers, "x-github-event")
        .ok_or_else(|| ApiError::invalid("X-GitHub-Event: header is required"))
        .map_err(refuse("malformed"))?
        .to_owned();
    if !is_event_name(&event) {
        return Err(refuse("malformed")(ApiError::invalid(
            "X-GitHub-Event: must be 1 to 64 characters of [a-z_] (a GitHub event name)",
        )));
    }
    let signature = header(headers, "x-hub-signature-256")
        .ok_or_else(|| ApiError::Unauthenticated("X-Hub-Signature-256: the delivery is not signed".into()))
        .map_err(refuse("invalid_signature"))?
        .to_owned();
    // Held while the body is read and tasks answers: one source cannot tie up the edge's connections or tasks.
    let source = client_ip(request, &state.proxies).map(address_key);
    let _slot = match source {
        Some(source) => Some(state.webhook_intake.take(source).ok_or_else(|| Refusal {
            result: "too_many",
            error: ApiError::RateLimited {
                code: "rate_limited",
                message: format!(
                    "more than {MAX_IN_FLIGHT_PER_SOURCE} webhook deliveries in flight from this address; retry later"
                ),
                retry_after_secs: 1,
            },
        })?),
        None => None,
    };
    let payload = read_body(headers, body).await.map_err(|error| Refusal {
        result: match error {
            ApiError::PayloadTooLarge { .. } => "too_large",
            _ => "malformed",
        },
        error,
    })?;
    let message = pb::ReceiveGithubDeliveryRequest {
        project: project.to_owned(),
        event,
        delivery_id,
        signature,
        body: payload.to_vec(),
    };
    let answer = state
        .tasks
        .clone()
        .receive_github_delivery(upstream(message, None, request_id))
        .await
        .map_err(refusal)?
        .into_inner();
    let reason = (!answer.reason.is_empty()).then_some(answer.reason);
    match pb::DeliveryVerdict::try_from(answer.verdict) {
        Ok(pb::DeliveryVerdict::Accepted) => Ok(AnswerBody {
            status: "accepted",
            reason: None,
        }),
        Ok(pb::DeliveryVerdict::Ignored) => Ok(AnswerBody {
            status: "ignored",
            reason,
        }),
        Ok(pb::DeliveryVerdict::Duplicate) => Ok(AnswerBody {
            status: "duplicate",
            reason: None,
        }),
        Ok(pb::DeliveryVerdict::Unspecified) | Err(_) => Err(refuse("unavailable")(ApiError::Internal(
            anyhow::anyhow!("ReceiveGithubDelivery answered verdict {}", answer.verdict),
        ))),
    }
}

/// Tasks' refusal as the route answers it: the signature and body problems in the headers' and body's words.
fn refusal(status: tonic::Status) -> Refusal {
    use tonic::Code;
    match status.code() {
        Code::Unauthenticated => refuse("invalid_signature")(ApiError::Unauthenticated(
            "X-Hub-Signature-256: does not match the payload and the project's webhook secret".into(),
        )),
        Code::NotFound => refuse("not_configured")(ApiError::NotFound(
            status
                .message()
                .strip_prefix("project: ")
                .unwrap_or(status.message())
                .to_owned(),
        )),
        Code::InvalidArgument if status.message().starts_with("body: not JSON: ") => {
            refuse("malformed")(ApiError::InvalidInput {
                code: "invalid_json",
                message: status.message()["body: not JSON: ".len()..].to_owned(),
            })
        }
        Code::InvalidArgument => refuse("malformed")(ApiError::InvalidInput {
            code: "invalid_argument",
            message: status
                .message()
                .strip_prefix("body: ")
                .unwrap_or(status.message())
                .to_owned(),
        }),
        _ => refuse("unavailable")(ApiError::from(status)),
    }
}

/// The body, refused with 413 past [`MAX_PAYLOAD_BYTES`] (by `Content-Length` when given, else while reading).
async fn read_body(headers: &HeaderMap, mut body: web::Payload) -> Result<web::Bytes, ApiError> {
    let too_large = || ApiError::PayloadTooLarge {
        limit: MAX_PAYLOAD_BYTES,
    };
    let length = header(headers, "content-length").and_then(|v| v.parse::<usize>().ok());
    if length.is_some_and(|n| n > MAX_PAYLOAD_BYTES) {
        return Err(too_large());
    }
    let mut bytes = web::BytesMut::with_capacity(length.unwrap_or(0));
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::InvalidInput {
            code: "invalid_body",
            message: format!("cannot read the body: {e}"),
        })?;
        if bytes.len() + chunk.len() > MAX_PAYLOAD_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

/// GitHub's event names (`workflow_run`, `check_suite`, …), as tasks checks them: here so that the answer names the
/// header.
fn is_event_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::is_event_name;

    #[test]
    fn event_names_are_lower_case_letters_and_underscores() {
        for good in ["push", "workflow_run", "check_suite", "x", &"a".repeat(64)] {
            assert!(is_event_name(good), "{good:?}");
        }
        for bad in [
            "",
            "Push",
            "workflow-run",
            "check run",
            "push1",
            "pùsh",
            &"a".repeat(65),
        ] {
            assert!(!is_event_name(bad), "{bad:?}");
        }
    }
}
