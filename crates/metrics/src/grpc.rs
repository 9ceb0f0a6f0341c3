//! The gRPC transport: authenticate (every call, against auth's JWKS), translate, call one use-case, translate back.
//! Generated types stop here; the translations and field validation live in [`convert`].

mod convert;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use devopstrack_platform::auth::{JwtVerifier, Principal, RECORD_METRICS_CLIENTS, require_client};
use devopstrack_proto::metrics::v1 as pb;
use devopstrack_proto::metrics::v1::metrics_service_server::MetricsService;

use crate::app::{DoraQuery, MetricsApp, SeriesQuery};
use crate::domain::Event;
use crate::error::Error;

pub use devopstrack_proto::metrics::v1::metrics_service_server::MetricsServiceServer;

pub struct MetricsGrpc {
    app: Arc<MetricsApp>,
    verifier: Arc<JwtVerifier>,
}

type Answer<T> = Result<Response<T>, Status>;

/// `""` → `None` (the proto's "empty: every project / environment").
fn filter(raw: String) -> Option<String> {
    (!raw.is_empty()).then_some(raw)
}

impl MetricsGrpc {
    pub fn new(app: Arc<MetricsApp>, verifier: Arc<JwtVerifier>) -> Self {
        Self { app, verifier }
    }

    pub fn into_server(self) -> MetricsServiceServer<Self> {
        MetricsServiceServer::new(self)
    }

    async fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        devopstrack_peers::authenticate(&self.verifier, request.metadata()).await
    }

    /// Authenticates, checks the role before looking at the payload, converts it and stores the events (answering
    /// once they are committed).
    async fn record<T>(
        &self,
        request: Request<T>,
        convert: impl FnOnce(T, chrono::DateTime<chrono::Utc>) -> Result<Vec<Event>, Error>,
    ) -> Answer<pb::RecordResponse> {
        let principal = self.principal(&request).await?;
        MetricsApp::require_writer(&principal)?;
        require_client(&principal, RECORD_METRICS_CLIENTS, "Record*")?;
        let events = convert(request.into_inner(), self.app.now())?;
        let accepted = self.app.record(&principal, events).await?;
        Ok(Response::new(pb::RecordResponse { accepted }))
    }
}

#[tonic::async_trait]
impl MetricsService for MetricsGrpc {
    async fn record_job_run(&self, request: Request<pb::RecordJobRunRequest>) -> Answer<pb::RecordResponse> {
        self.record(request, |r, now| convert::job_runs(r.runs, now)).await
    }

    async fn record_deployment(&self, request: Request<pb::RecordDeploymentRequest>) -> Answer<pb::RecordResponse> {
        self.record(request, |r, now| convert::deployments(r.deployments, now))
            .await
    }

    async fn record_change(&self, request: Request<pb::RecordChangeRequest>) -> Answer<pb::RecordResponse> {
        self.record(request, |r, now| convert::changes(r.changes, now)).await
    }

    async fn record_incident(&self, request: Request<pb::RecordIncidentRequest>) -> Answer<pb::RecordResponse> {
        self.record(request, |r, now| convert::incidents(r.incidents, now))
            .await
    }

    async fn query_series(&self, request: Request<pb::QuerySeriesRequest>) -> Answer<pb::QuerySeriesResponse> {
        let principal = self.principal(&request).await?;
        let pb::QuerySeriesRequest {
            measure,
            project,
            environment,
            from,
            to,
            step_seconds,
        } = request.into_inner();
        let query = SeriesQuery {
            measure: convert::measure(measure)?,
            project: filter(project),
            environment: filter(environment),
            from: convert::time("from", from.as_ref())?,
            to: convert::time("to", to.as_ref())?,
            step_seconds,
        };
        let answer = self.app.series(&principal, query).await?;
        Ok(Response::new(convert::series(answer)))
    }

    async fn get_dora(&self, request: Request<pb::GetDoraRequest>) -> Answer<pb::DoraReport> {
        let principal = self.principal(&request).await?;
        let pb::GetDoraRequest {
            project,
            environment,
            from,
            to,
        } = request.into_inner();
        let query = DoraQuery {
            project: filter(project),
            environment: filter(environment),
            from: convert::time("from", from.as_ref())?,
            to: convert::time("to", to.as_ref())?,
        };
        let answer = self.app.dora(&principal, query).await?;
        Ok(Response::new(convert::dora_report(answer)))
    }

    async fn get_overview(&self, request: Request<pb::GetOverviewRequest>) -> Answer<pb::Overview> {
        let principal = self.principal(&request).await?;
        let pb::GetOverviewRequest { project, days } = request.into_inner();
        let answer = self.app.overview(&principal, filter(project), days).await?;
        Ok(Response::new(convert::overview(answer)))
    }
}
