//! JSON shapes of `/api/v1/metrics/**` (camelCase), converted from the metrics service's answers. Performance levels
//! are `"elite" | "high" | "medium" | "low"`, or `null` when the window holds too little data to say.

mod dora;
mod queries;
mod series;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use devopstrack_proto::metrics::v1 as pb;

pub use self::dora::DoraReportBody;
pub use self::queries::{DoraQuery, OverviewQuery, SeriesQuery};
pub use self::series::{OverviewBody, SeriesBody};

/// What `GET /api/v1/metrics/series` draws.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Job runs per bucket: one count per status (`succeeded`, `failed`, `cancelled`, `timed_out`) and `total`.
    JobRuns,
    /// Job duration per bucket: `p50`, `p90`, `p99` (milliseconds) and `count`.
    JobDuration,
    /// Deployments per bucket: one count per status (`succeeded`, `failed`, `rolled_back`) and `total`.
    Deployments,
}

impl Measure {
    fn to_proto(self) -> pb::Measure {
        match self {
            Measure::JobRuns => pb::Measure::JobRuns,
            Measure::JobDuration => pb::Measure::JobDuration,
            Measure::Deployments => pb::Measure::Deployments,
        }
    }

    fn from_proto(value: i32) -> Option<Self> {
        match pb::Measure::try_from(value).ok()? {
            pb::Measure::JobRuns => Some(Measure::JobRuns),
            pb::Measure::JobDuration => Some(Measure::JobDuration),
            pb::Measure::Deployments => Some(Measure::Deployments),
            pb::Measure::Unspecified => None,
        }
    }
}
