//! A stand-in for the metrics service: accepts `RecordJobRun` and `RecordDeployment` and counts the distinct event
//! ids it got, so the figures include the tasks service delivering its outbox (and show it keeps up). The other RPCs
//! are not part of the run and answer UNIMPLEMENTED.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use tonic::{Request, Response, Status};

use devopstrack_proto::metrics::v1 as pb;
use devopstrack_proto::metrics::v1::metrics_service_server::{MetricsService, MetricsServiceServer};

#[derive(Clone, Default)]
pub struct Sink {
    runs: Arc<Mutex<HashSet<String>>>,
    calls: Arc<Mutex<u64>>,
}

impl Sink {
    /// Distinct job runs received, and `RecordJobRun` calls.
    pub fn runs(&self) -> (usize, u64) {
        let runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner).len();
        (runs, *self.calls.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn server(&self) -> MetricsServiceServer<Sink> {
        MetricsServiceServer::new(self.clone())
    }
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn record_job_run(
        &self,
        request: Request<pb::RecordJobRunRequest>,
    ) -> Result<Response<pb::RecordResponse>, Status> {
        let runs = request.into_inner().runs;
        let accepted = u32::try_from(runs.len()).unwrap_or(u32::MAX);
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(runs.into_iter().map(|r| r.event_id));
        *self.calls.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Ok(Response::new(pb::RecordResponse { accepted }))
    }

    async fn record_deployment(
        &self,
        request: Request<pb::RecordDeploymentRequest>,
    ) -> Result<Response<pb::RecordResponse>, Status> {
        let accepted = u32::try_from(request.into_inner().deployments.len()).unwrap_or(u32::MAX);
        Ok(Response::new(pb::RecordResponse { accepted }))
    }

    async fn record_change(&self, _: Request<pb::RecordChangeRequest>) -> Result<Response<pb::RecordResponse>, Status> {
        Err(Status::unimplemented("not part of the load run"))
    }

    async fn record_incident(
        &self,
        _: Request<pb::RecordIncidentRequest>,
    ) -> Result<Response<pb::RecordResponse>, Status> {
        Err(Status::unimplemented("not part of the load run"))
    }

    async fn query_series(
        &self,
        _: Request<pb::QuerySeriesRequest>,
    ) -> Result<Response<pb::QuerySeriesResponse>, Status> {
        Err(Status::unimplemented("not part of the load run"))
    }

    async fn get_dora(&self, _: Request<pb::GetDoraRequest>) -> Result<Response<pb::DoraReport>, Status> {
        Err(Status::unimplemented("not part of the load run"))
    }

    async fn get_overview(&self, _: Request<pb::GetOverviewRequest>) -> Result<Response<pb::Overview>, Status> {
        Err(Status::unimplemented("not part of the load run"))
    }
}
