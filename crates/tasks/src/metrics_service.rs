//! The tasks service's view of the metrics service (`devopstrack.metrics.v1.MetricsService`): delivering batches of
//! job runs, deployments, changes and incidents, as this service (a token from [`ServiceTokens`]). Every `Record*` call is idempotent by
//! the events' `event_id`, so a batch sent twice is stored once.

use std::sync::Arc;
use std::time::Duration;

use devopstrack_peers::clients::{self, MetricsClient as Client};
use devopstrack_peers::{DeliveryError, ServiceTokens};
use devopstrack_platform::grpc::ClientSettings;
use devopstrack_proto::metrics::v1 as pb;

/// Events per `Record*` call at most (the metrics API's limit).
pub const MAX_BATCH: usize = 1_000;

pub struct MetricsService {
    client: Client,
    tokens: Arc<ServiceTokens>,
}

impl MetricsService {
    /// A client of the metrics service at `url`, or `None` when `url` is empty (delivery off; said once in the log).
    pub fn new(url: &str, timeout: Duration, tokens: Arc<ServiceTokens>) -> anyhow::Result<Option<Self>> {
        if url.is_empty() {
            tracing::info!(
                "metrics delivery is off (DEVOPSTRACK_TASKS__METRICS_URL is empty): job runs and deployments are not \
                 recorded"
            );
            return Ok(None);
        }
        let settings = ClientSettings {
            timeout,
            ..ClientSettings::new(url)
        };
        Ok(Some(Self {
            client: clients::metrics(&settings)?,
            tokens,
        }))
    }

    pub async fn record_job_runs(&self, runs: Vec<pb::JobRun>) -> Result<(), DeliveryError> {
        let request = self.request(pb::RecordJobRunRequest { runs }).await?;
        let answer = self.client.clone().record_job_run(request).await;
        self.outcome(answer.map(|_| ())).await
    }

    pub async fn record_deployments(&self, deployments: Vec<pb::Deployment>) -> Result<(), DeliveryError> {
        let request = self.request(pb::RecordDeploymentRequest { deployments }).await?;
        let answer = self.client.clone().record_deployment(request).await;
        self.outcome(answer.map(|_| ())).await
    }

    pub async fn record_changes(&self, changes: Vec<pb::Change>) -> Result<(), DeliveryError> {
        let request = self.request(pb::RecordChangeRequest { changes }).await?;
        let answer = self.client.clone().record_change(request).await;
        self.outcome(answer.map(|_| ())).await
    }

    pub async fn record_incidents(&self, incidents: Vec<pb::Incident>) -> Result<(), DeliveryError> {
        let request = self.request(pb::RecordIncidentRequest { incidents }).await?;
        let answer = self.client.clone().record_incident(request).await;
        self.outcome(answer.map(|_| ())).await
    }

    async fn request<T>(&self, message: T) -> Result<tonic::Request<T>, DeliveryError> {
        Ok(self.tokens.request(message).await?)
    }

    /// INVALID_ARGUMENT is final (the batch holds an event metrics refuses); anything else is worth retrying.
    async fn outcome(&self, answer: Result<(), tonic::Status>) -> Result<(), DeliveryError> {
        let Err(s) = answer else { return Ok(()) };
        Err(DeliveryError::from_status("metrics", &s, &[tonic::Code::InvalidArgument], &self.tokens).await)
    }
}
