//! JSON shapes of `/api/v1/metrics/**` (camelCase), converted from the metrics service's answers. Performance levels
//! are `"elite" | "high" | "medium" | "low"`, or `null` when the window holds too little data to say.

mod dora;
mod queries;
mod series;

use devopstrack_proto::metrics::v1 as pb;

use crate::routes::dto::proto_enum;

pub use self::dora::DoraReportBody;
pub use self::queries::{DoraQuery, OverviewQuery, SeriesQuery};
pub use self::series::{OverviewBody, SeriesBody};

proto_enum!(
    /// What `GET /api/v1/metrics/series` draws.
    Measure, Measure, "snake_case", {
    /// Job runs per bucket: one count per status (`succeeded`, `failed`, `cancelled`, `timed_out`) and `total`.
    JobRuns,
    /// Job duration per bucket: `p50`, `p90`, `p99` (milliseconds) and `count`.
    JobDuration,
    /// Deployments per bucket: one count per status (`succeeded`, `failed`, `rolled_back`) and `total`.
    Deployments,
});
