//! `POST /api/v1/webhooks/github/{project}`: GitHub's deliveries for one project. No bearer token: a delivery is
//! authenticated by its `X-Hub-Signature-256`, which the projects service checks with the project's secret (set with
//! `PUT /api/v1/projects/{slug}/integrations/github`). The answer comes at once; the effects follow in the background
//! (`crate::webhooks`).
//!
//! Answers: 202 `accepted` (verified, queued), 202 `ignored` (verified, nothing to record: `ping`, an event type not
//! handled, a push to another branch, an issue not labelled `incident`, …), 200 `duplicate` (this delivery id was
//! processed before, or is being processed: a replay or a redelivery; one whose processing failed is processed
//! again), 400 (a required header missing, an `X-GitHub-Event` that is no event name, or a handled event whose body
//! is not the JSON it should be), 401 (signature missing or wrong), 404 (no such project, or no secret set for it:
//! the two are not told apart), 413 (body over 5 MiB), 503 (the gateway has no service credentials, a service is
//! down, or the queue is full: GitHub may redeliver).

use actix_web::http::header::HeaderMap;
use actix_web::{HttpRequest, HttpResponse, web};
use futures::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use devopstrack_proto::projects::v1 as pb;

use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::webhooks::mapping::{GithubEvent, Mapped, map};
use crate::webhooks::processor::Delivery;
use crate::webhooks::token::TokenError;
use crate::webhooks::{MAX_PAYLOAD_BYTES, Webhooks};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/webhooks/github/{project}", web::post().to(github));
}

/// What the intake did with a delivery.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookAnswer, example = json!({"status": "accepted"}))]
pub(crate) struct AnswerBody {
    /// `accepted`, `ignored` or `duplicate`.
    status: &'static str,
    /// Why an ignored delivery records nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
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
        (status = 202, description = "Verified: `accepted` (processing in the background) or `ignored`",
            body = AnswerBody),
        (status = 200, description = "`duplicate`: this delivery id was received before; nothing done",
            body = AnswerBody),
        (status = 400,
            description = "A header is missing or malformed, or the body is not the JSON this event should be",
            body = ErrorBody),
        (status = 401, description = "The signature is missing or does not match", body = ErrorBody),
        (status = 404, description = "No such project, or no webhook secret set for it", body = ErrorBody),
        (status = 413, description = "The body is over 5 MiB", body = ErrorBody),
        (status = 503, description = "No service credentials configured, a service is down, or the queue is full",
            body = ErrorBody),
    ))]
async fn github(
    state: web::Data<AppState>,
    request: HttpRequest,
    project: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let webhooks = &state.webhooks;
    let event = GithubEvent::parse(header(request.headers(), "x-github-event").unwrap_or_default());
    let answer = receive(&state, webhooks, &request, &project, event, body).await;
    let result = match &answer {
        Ok(answer) => answer.status,
        Err(refusal) => refusal.result,
    };
    webhooks.count(event, result);
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
    webhooks: &Webhooks,
    request: &HttpRequest,
    project: &str,
    event: GithubEvent,
    body: web::Payload,
) -> Result<AnswerBody, Refusal> {
    let headers = request.headers();
    let delivery_id = header(headers, "x-github-delivery")
        .ok_or_else(|| ApiError::invalid("X-GitHub-Delivery: header is required"))
        .map_err(refuse("malformed"))?
        .to_owned();
    // Kept with the claim (trimmed, as `event` was parsed), so recovery maps the delivery as this route does.
    let event_name = header(headers, "x-github-event")
        .ok_or_else(|| ApiError::invalid("X-GitHub-Event: header is required"))
        .map_err(refuse("malformed"))?
        .to_owned();
    if !is_event_name(&event_name) {
        return Err(refuse("malformed")(ApiError::invalid(
            "X-GitHub-Event: must be 1 to 64 characters of [a-z_] (a GitHub event name)",
        )));
    }
    let signature = header(headers, "x-hub-signature-256")
        .ok_or_else(|| ApiError::Unauthenticated("X-Hub-Signature-256: the delivery is not signed".into()))
        .map_err(refuse("invalid_signature"))?
        .to_owned();
    if !webhooks.token().configured() {
        return Err(refuse("unavailable")(ApiError::Unavailable(
            TokenError::NotConfigured.to_string(),
        )));
    }
    let payload = read_body(headers, body).await.map_err(|error| Refusal {
        result: match error {
            ApiError::PayloadTooLarge { .. } => "too_large",
            _ => "malformed",
        },
        error,
    })?;
    // Before verifying, so a delivery recorded as seen can also be processed.
    let slot = webhooks.reserve().map_err(refuse("unavailable"))?;

    let message = pb::VerifyGithubWebhookRequest {
        project: project.to_owned(),
        delivery_id: delivery_id.clone(),
        signature_header: signature,
        payload: payload.to_vec(),
        event: event_name,
    };
    let verified = verify(state, webhooks, message).await?;
    let (slug, project_id) = match pb::WebhookVerification::try_from(verified.result) {
        Ok(pb::WebhookVerification::Valid) => (verified.project_slug, verified.project_id),
        Ok(pb::WebhookVerification::Duplicate) => {
            return Ok(AnswerBody {
                status: "duplicate",
                reason: None,
            });
        }
        Ok(pb::WebhookVerification::InvalidSignature) => {
            return Err(refuse("invalid_signature")(ApiError::Unauthenticated(
                "X-Hub-Signature-256: does not match the payload and the project's webhook secret".into(),
            )));
        }
        Ok(pb::WebhookVerification::NotConfigured) => {
            return Err(refuse("not_configured")(ApiError::NotFound(format!(
                "no GitHub webhook is configured for project {project:?}"
            ))));
        }
        Ok(pb::WebhookVerification::Unspecified) | Err(_) => {
            return Err(refuse("error")(ApiError::Internal(anyhow::anyhow!(
                "VerifyGithubWebhook answered result {}",
                verified.result
            ))));
        }
    };
    // Verified: the delivery is claimed, so it goes to the processor whatever it maps to, which ends the claim.
    let mut delivery = Delivery {
        event,
        delivery_id,
        project_id,
        actions: Vec::new(),
        unmapped: false,
    };
    let answer = match map(event, &slug, &payload) {
        Ok(Mapped::Ignored(reason)) => Ok(AnswerBody {
            status: "ignored",
            reason: Some(reason),
        }),
        Ok(Mapped::Actions(actions)) => {
            tracing::info!(delivery_id = %delivery.delivery_id, event = event.label(), project = %slug,
                calls = actions.len(), "webhook delivery accepted");
            delivery.actions = actions;
            Ok(AnswerBody {
                status: "accepted",
                reason: None,
            })
        }
        Err(error) => {
            delivery.unmapped = true;
            Err(refuse("malformed")(error))
        }
    };
    slot.send(delivery);
    answer
}

/// Calls VerifyGithubWebhook with the gateway's service token (renewed once if projects refuses it).
async fn verify(
    state: &AppState,
    webhooks: &Webhooks,
    message: pb::VerifyGithubWebhookRequest,
) -> Result<pb::VerifyGithubWebhookResponse, Refusal> {
    let token = webhooks.token();
    for attempt in 0..2 {
        let request = token
            .request(message.clone())
            .await
            .map_err(|e| refuse("unavailable")(ApiError::Unavailable(e.to_string())))?;
        match state.projects.clone().verify_github_webhook(request).await {
            Ok(answer) => return Ok(answer.into_inner()),
            Err(status) if status.code() == tonic::Code::Unauthenticated && attempt == 0 => token.invalidate().await,
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "VerifyGithubWebhook failed");
                if status.code() == tonic::Code::InvalidArgument {
                    return Err(refuse("malformed")(ApiError::from(status)));
                }
                // The stored secret cannot be decrypted (projects logs why), projects is down, or it refuses the
                // gateway's credentials: nothing the sender can fix, and it fails closed.
                return Err(refuse("unavailable")(ApiError::Unavailable(
                    "webhook deliveries cannot be verified right now".into(),
                )));
            }
        }
    }
    Err(refuse("unavailable")(ApiError::Unavailable(
        "the projects service refuses the gateway's service token".into(),
    )))
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

/// GitHub's event names (`workflow_run`, `check_suite`, …), as projects checks the event it keeps with a claim: here
/// so that the answer names the header.
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
