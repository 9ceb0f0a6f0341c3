//! The gRPC transport: authenticate (every call, against auth's JWKS), translate, call one use-case, translate back.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use prost::Message;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use devopstrack_platform::auth::{JwtVerifier, Principal, Role, WATCH_EVENTS_CLIENTS, bearer, require_client};
use devopstrack_proto::tasks::v1 as pb;
use devopstrack_proto::tasks::v1::task_service_server::TaskService;

use crate::app::intake::Intake;
use crate::app::{CreatePipeline, CreateRun, PipelineQuery, RollbackRun, TasksApp, require_tracker};
use crate::convert;
use crate::domain::{PipelineId, Trigger};
use crate::error::Error;
use crate::events::{EventHub, is_after};
use crate::store::{StoredEvent, event_order};

pub use devopstrack_proto::tasks::v1::task_service_server::TaskServiceServer;

mod four_eyes;
mod intake;

/// The largest request decoded: ReceiveGithubDelivery's body (5 MiB at most) with room for its other fields.
pub const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;
/// Events buffered per watcher before it counts as slow (then the broadcast's own capacity applies).
const WATCH_BUFFER: usize = 256;
/// History read per store round trip when a watcher resumes.
const HISTORY_BATCH: usize = 512;

pub struct TasksGrpc {
    app: Arc<TasksApp>,
    verifier: Arc<JwtVerifier>,
    hub: EventHub,
    intake: Option<Arc<Intake>>,
}

impl TasksGrpc {
    pub fn new(app: Arc<TasksApp>, verifier: Arc<JwtVerifier>, hub: EventHub) -> Self {
        Self {
            app,
            verifier,
            hub,
            intake: None,
        }
    }

    /// Serves the webhook intake's RPCs (without it they answer UNAVAILABLE).
    pub fn with_intake(mut self, intake: Arc<Intake>) -> Self {
        self.intake = Some(intake);
        self
    }

    fn intake(&self) -> Result<&Intake, Status> {
        self.intake
            .as_deref()
            .ok_or_else(|| Error::Unavailable("the webhook intake does not run in this process".into()).into())
    }

    /// Takes requests up to [`MAX_REQUEST_BYTES`] (a webhook body of 5 MiB and its headers; tonic's default is 4 MiB).
    pub fn into_server(self) -> TaskServiceServer<Self> {
        TaskServiceServer::new(self).max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    async fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        devopstrack_peers::authenticate(&self.verifier, request.metadata()).await
    }
}

type Answer<T> = Result<Response<T>, Status>;

/// The caller's bearer token (already verified), to call other services as the caller.
fn token_of<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .unwrap_or_default()
        .to_owned()
}

fn trigger(raw: i32) -> Result<Option<Trigger>, Error> {
    Ok(match pb::Trigger::try_from(raw) {
        Ok(pb::Trigger::Unspecified) => None,
        Ok(pb::Trigger::Manual) => Some(Trigger::Manual),
        Ok(pb::Trigger::Chat) => Some(Trigger::Chat),
        Ok(pb::Trigger::Webhook) => Some(Trigger::Webhook),
        Ok(pb::Trigger::Api) => Some(Trigger::Api),
        Ok(pb::Trigger::Rollback) => {
            return Err(Error::invalid("trigger", "rollback runs are created only by Rollback"));
        }
        Err(_) => return Err(Error::invalid("trigger", format!("unknown trigger {raw}"))),
    })
}

#[tonic::async_trait]
impl TaskService for TasksGrpc {
    async fn create_pipeline(&self, request: Request<pb::CreatePipelineRequest>) -> Answer<pb::CreatePipelineResponse> {
        let principal = self.principal(&request).await?;
        let token = token_of(&request);
        let r = request.into_inner();
        let new = CreatePipeline {
            project: r.project,
            environment: r.environment,
            version: r.version,
            trigger: trigger(r.trigger)?,
            input: convert::pipeline_input(r.stages)?,
            idempotency_key: r.idempotency_key,
            commit_sha: r.commit_sha,
            commit_time: convert::time_from("commitTime", r.commit_time)?,
            definition: None,
            asked_by: None,
        };
        let (pipeline, created) = self.app.create_pipeline(&principal, &token, new).await?;
        Ok(Response::new(pb::CreatePipelineResponse {
            pipeline: Some(convert::pipeline(&pipeline)),
            created,
        }))
    }

    async fn get_pipeline(&self, request: Request<pb::GetPipelineRequest>) -> Answer<pb::Pipeline> {
        let principal = self.principal(&request).await?;
        let pipeline = self.app.get_pipeline(&principal, &request.into_inner().id).await?;
        Ok(Response::new(convert::pipeline(&pipeline)))
    }

    async fn get_pipeline_by_number(&self, request: Request<pb::GetPipelineByNumberRequest>) -> Answer<pb::Pipeline> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let pipeline = self
            .app
            .get_pipeline_by_number(&principal, &r.project, r.number)
            .await?;
        Ok(Response::new(convert::pipeline(&pipeline)))
    }

    async fn list_pipelines(&self, request: Request<pb::ListPipelinesRequest>) -> Answer<pb::ListPipelinesResponse> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let query = PipelineQuery {
            project: r.project,
            status: convert::pipeline_status_from("status", r.status)?,
            page_size: r.page_size,
            page_token: r.page_token,
        };
        let page = self.app.list_pipelines(&principal, query).await?;
        Ok(Response::new(pb::ListPipelinesResponse {
            pipelines: page.pipelines.iter().map(convert::pipeline).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn cancel_pipeline(&self, request: Request<pb::CancelPipelineRequest>) -> Answer<pb::Pipeline> {
        let principal = self.principal(&request).await?;
        let pipeline = self.app.cancel_pipeline(&principal, &request.into_inner().id).await?;
        Ok(Response::new(convert::pipeline(&pipeline)))
    }

    async fn retry_job(&self, request: Request<pb::RetryJobRequest>) -> Answer<pb::Pipeline> {
        let principal = self.principal(&request).await?;
        let pipeline = self.app.retry_job(&principal, &request.into_inner().job_id).await?;
        Ok(Response::new(convert::pipeline(&pipeline)))
    }

    async fn approve_job(&self, request: Request<pb::ApproveJobRequest>) -> Answer<pb::Pipeline> {
        let principal = self.principal(&request).await?;
        let pipeline = self.app.approve_job(&principal, &request.into_inner().job_id).await?;
        Ok(Response::new(convert::pipeline(&pipeline)))
    }

    async fn reject_job(&self, request: Request<pb::RejectJobRequest>) -> Answer<pb::Pipeline> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let pipeline = self.app.reject_job(&principal, &r.job_id, &r.reason).await?;
        Ok(Response::new(convert::pipeline(&pipeline)))
    }

    async fn get_job_log(&self, request: Request<pb::GetJobLogRequest>) -> Answer<pb::GetJobLogResponse> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let log = self
            .app
            .job_log(&principal, &r.job_id, r.attempt, r.offset, r.limit)
            .await?;
        Ok(Response::new(pb::GetJobLogResponse {
            lines: log.lines,
            next_offset: log.next_offset,
            eof: log.eof,
            attempt: log.attempt,
        }))
    }

    async fn track_external_run(&self, request: Request<pb::TrackExternalRunRequest>) -> Answer<pb::Pipeline> {
        let principal = self.principal(&request).await?;
        require_tracker(&principal)?;
        let token = token_of(&request);
        let track = convert::track_external_run(request.into_inner())?;
        let pipeline = self.app.track_external_run(&principal, &token, track).await?;
        Ok(Response::new(convert::pipeline(&pipeline)))
    }

    async fn create_run(&self, request: Request<pb::CreateRunRequest>) -> Answer<pb::CreatePipelineResponse> {
        let principal = self.principal(&request).await?;
        let token = token_of(&request);
        let asked_by = four_eyes::asked_by(
            &self.verifier,
            &principal,
            &request,
            &request.get_ref().asked_by,
            "CreateRun",
        )
        .await?;
        let r = request.into_inner();
        let new = CreateRun {
            project: r.project,
            definition: r.definition,
            environment: r.environment,
            version: r.version,
            commit_sha: r.commit_sha,
            idempotency_key: r.idempotency_key,
            trigger: trigger(r.trigger)?,
            asked_by,
        };
        let (pipeline, created) = self.app.create_run(&principal, &token, new).await?;
        Ok(Response::new(pb::CreatePipelineResponse {
            pipeline: Some(convert::pipeline(&pipeline)),
            created,
        }))
    }

    async fn rollback(&self, request: Request<pb::RollbackRequest>) -> Answer<pb::RollbackResponse> {
        let principal = self.principal(&request).await?;
        let token = token_of(&request);
        let asked_by = four_eyes::asked_by(
            &self.verifier,
            &principal,
            &request,
            &request.get_ref().asked_by,
            "Rollback",
        )
        .await?;
        let r = request.into_inner();
        let new = RollbackRun {
            project: r.project,
            environment: r.environment,
            to: r.to,
            idempotency_key: r.idempotency_key,
            asked_by,
        };
        let done = self.app.rollback(&principal, &token, new).await?;
        Ok(Response::new(pb::RollbackResponse {
            pipeline: Some(convert::pipeline(&done.pipeline)),
            created: done.created,
            from_version: done.from_version,
            to_version: done.to_version,
        }))
    }

    async fn receive_github_delivery(
        &self,
        request: Request<pb::ReceiveGithubDeliveryRequest>,
    ) -> Answer<pb::ReceiveGithubDeliveryResponse> {
        Ok(Response::new(
            intake::receive(self.intake()?, request.into_inner()).await?,
        ))
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Answer<pb::ListWebhookDeliveriesResponse> {
        let principal = self.principal(&request).await?;
        Ok(Response::new(
            intake::list(self.intake()?, &principal, request.into_inner()).await?,
        ))
    }

    async fn replay_webhook_delivery(
        &self,
        request: Request<pb::ReplayWebhookDeliveryRequest>,
    ) -> Answer<pb::WebhookDelivery> {
        let principal = self.principal(&request).await?;
        Ok(Response::new(
            intake::replay(self.intake()?, &principal, request.into_inner()).await?,
        ))
    }

    type WatchEventsStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send>>;

    async fn watch_events(&self, request: Request<pb::WatchEventsRequest>) -> Answer<Self::WatchEventsStream> {
        let principal = self.principal(&request).await?;
        // A service watches only when it is the gateway's chat notifier; a person by their role.
        if principal.role == Role::Service {
            require_client(&principal, WATCH_EVENTS_CLIENTS, "WatchEvents")?;
        } else if !principal.role.at_least(Role::Viewer) {
            return Err(Error::PermissionDenied("watching events needs the viewer role".into()).into());
        }
        let r = request.into_inner();
        if !r.project.is_empty() && !r.pipeline_id.is_empty() {
            return Err(Error::invalid("pipelineId", "give a project or a pipeline id, not both").into());
        }
        let filter = Filter {
            project: (!r.project.is_empty()).then_some(r.project),
            pipeline: match r.pipeline_id.as_str() {
                "" => None,
                id => Some(PipelineId::parse(id).map_err(|e| Error::invalid("pipelineId", e))?),
            },
            include_logs: r.include_logs,
        };
        let after = match r.after_event_id.as_str() {
            "" => None,
            id if event_order(id).is_some() => Some(id.to_owned()),
            id => return Err(Error::invalid("afterEventId", format!("{id:?} is not an event id")).into()),
        };
        // Subscribe before reading history, so nothing falls between the two.
        let live = self.hub.subscribe();
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        tokio::spawn(watch(self.app.clone(), filter, after, live, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

struct Filter {
    project: Option<String>,
    pipeline: Option<PipelineId>,
    include_logs: bool,
}

impl Filter {
    /// The event as sent, or `None` when this watcher does not want it.
    fn pass(&self, event: &StoredEvent) -> Option<pb::Event> {
        if self.project.as_ref().is_some_and(|p| *p != event.project)
            || self.pipeline.is_some_and(|p| p != event.pipeline)
        {
            return None;
        }
        let mut decoded = pb::Event::decode(event.payload.as_slice()).ok()?;
        if !self.include_logs && decoded.r#type == i32::from(pb::EventType::JobLog) {
            return None;
        }
        decoded.id = event.id.clone();
        Some(decoded)
    }
}

async fn watch(
    app: Arc<TasksApp>,
    filter: Filter,
    after: Option<String>,
    mut live: broadcast::Receiver<Arc<StoredEvent>>,
    tx: mpsc::Sender<Result<pb::Event, Status>>,
) {
    let mut last: Option<(u64, u64)> = None;
    let mut last_id = after.clone().unwrap_or_default();
    if let Some(mut cursor) = after {
        last = event_order(&cursor);
        loop {
            let events = match app.events_after(Some(&cursor), HISTORY_BATCH, Duration::ZERO).await {
                Ok(events) => events,
                Err(e) => {
                    let _ = tx.send(Err(Error::from(e).into())).await;
                    return;
                }
            };
            let Some(newest) = events.last() else { break };
            cursor = newest.id.clone();
            for event in &events {
                last = event_order(&event.id).or(last);
                last_id.clone_from(&event.id);
                if let Some(out) = filter.pass(event)
                    && tx.send(Ok(out)).await.is_err()
                {
                    return;
                }
            }
        }
    }
    loop {
        let event = tokio::select! {
            () = tx.closed() => return,
            event = live.recv() => event,
        };
        match event {
            Ok(event) => {
                if !is_after(&event.id, last) {
                    continue;
                }
                last = event_order(&event.id).or(last);
                last_id.clone_from(&event.id);
                if let Some(out) = filter.pass(&event)
                    && tx.send(Ok(out)).await.is_err()
                {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let _ = tx
                    .send(Err(Status::resource_exhausted(format!(
                        "this watcher fell {missed} events behind; resume with afterEventId={last_id}"
                    ))))
                    .await;
                return;
            }
            Err(broadcast::error::RecvError::Closed) => {
                let _ = tx.send(Err(Status::unavailable("the service is shutting down"))).await;
                return;
            }
        }
    }
}
