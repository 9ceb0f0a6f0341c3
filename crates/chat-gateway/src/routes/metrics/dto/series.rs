//! The time-series answer (buckets of one measure) and the dashboard overview built of series and DORA tiles.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use devopstrack_proto::metrics::v1 as pb;

use super::Measure;
use super::dora::DoraMetricsBody;
use crate::routes::dto::time;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BucketBody {
    pub start: Option<DateTime<Utc>>,
    pub values: BTreeMap<String, f64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Series)]
pub struct SeriesBody {
    pub measure: Option<Measure>,
    pub step_seconds: u32,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Every bucket of the window in order, empty ones included.
    pub buckets: Vec<BucketBody>,
}

impl From<pb::QuerySeriesResponse> for SeriesBody {
    fn from(s: pb::QuerySeriesResponse) -> Self {
        Self {
            measure: Measure::from_proto(s.measure),
            step_seconds: s.step_seconds,
            from: time(s.from),
            to: time(s.to),
            buckets: s
                .buckets
                .into_iter()
                .map(|b| BucketBody {
                    start: time(b.start),
                    values: b.values.into_iter().collect(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentDoraBody {
    pub environment: String,
    pub metrics: DoraMetricsBody,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Overview)]
pub struct OverviewBody {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// One DORA tile per environment (rolled up over projects), sorted by name.
    pub environments: Vec<EnvironmentDoraBody>,
    /// Daily buckets over the window.
    pub deployments: Option<SeriesBody>,
    pub job_runs: Option<SeriesBody>,
    #[serde(rename = "jobRuns24h")]
    pub job_runs_24h: u64,
    #[serde(rename = "failedJobRuns24h")]
    pub failed_job_runs_24h: u64,
    #[serde(rename = "jobSuccessRate24h")]
    pub job_success_rate_24h: Option<f64>,
}

impl From<pb::Overview> for OverviewBody {
    fn from(o: pb::Overview) -> Self {
        Self {
            from: time(o.from),
            to: time(o.to),
            environments: o
                .environments
                .into_iter()
                .map(|e| EnvironmentDoraBody {
                    environment: e.environment,
                    metrics: e.metrics.unwrap_or_default().into(),
                })
                .collect(),
            deployments: o.deployments.map(SeriesBody::from),
            job_runs: o.job_runs.map(SeriesBody::from),
            job_runs_24h: o.job_runs_24h,
            failed_job_runs_24h: o.failed_job_runs_24h,
            job_success_rate_24h: o.job_success_rate_24h,
        }
    }
}
