//! The DORA answers: the five metrics of one scope with their performance levels, and the report over a filter with
//! its per-(project, environment) breakdown.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use devopstrack_proto::metrics::v1 as pb;

use crate::routes::dto::{proto_enum, time};

proto_enum!(
    /// A DORA performance level; `null` when there is too little data.
    Level, PerformanceLevel, "lowercase", { Elite, High, Medium, Low });

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentFrequencyBody {
    /// Successful deployments in the window.
    pub deployments: u32,
    pub per_day: f64,
    pub per_week: f64,
    /// Median over the window's weeks of the days with at least one successful deployment.
    pub median_deploy_days_per_week: f64,
    pub level: Option<Level>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadTimeBody {
    /// Commits counted (those carried by the window's successful deployments).
    pub changes: u32,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
    pub level: Option<Level>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeFailureRateBody {
    pub deployments: u32,
    /// Deployments that failed, were rolled back, or were followed by an incident.
    pub failures: u32,
    /// `failures / deployments`; null without deployments.
    pub rate: Option<f64>,
    pub level: Option<Level>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryTimeBody {
    pub recoveries: u32,
    pub median_seconds: Option<f64>,
    pub level: Option<Level>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReworkRateBody {
    pub deployments: u32,
    /// Unplanned fixes: deployments within `reworkWindowHours` after a failure in the same environment.
    pub rework_deployments: u32,
    pub rate: Option<f64>,
    pub rework_window_hours: u32,
    pub level: Option<Level>,
}

/// The five DORA metrics of one scope.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DoraMetrics)]
pub struct DoraMetricsBody {
    pub deployment_frequency: DeploymentFrequencyBody,
    pub lead_time: LeadTimeBody,
    pub change_failure_rate: ChangeFailureRateBody,
    pub recovery_time: RecoveryTimeBody,
    pub rework_rate: ReworkRateBody,
    /// The lowest level among the four DORA keys that have one.
    pub overall_level: Option<Level>,
}

impl From<pb::DoraMetrics> for DoraMetricsBody {
    fn from(m: pb::DoraMetrics) -> Self {
        let f = m.deployment_frequency.unwrap_or_default();
        let l = m.lead_time.unwrap_or_default();
        let c = m.change_failure_rate.unwrap_or_default();
        let r = m.recovery_time.unwrap_or_default();
        let w = m.rework_rate.unwrap_or_default();
        Self {
            deployment_frequency: DeploymentFrequencyBody {
                deployments: f.deployments,
                per_day: f.per_day,
                per_week: f.per_week,
                median_deploy_days_per_week: f.median_deploy_days_per_week,
                level: Level::from_proto(f.level),
            },
            lead_time: LeadTimeBody {
                changes: l.changes,
                median_seconds: l.median_seconds,
                p90_seconds: l.p90_seconds,
                level: Level::from_proto(l.level),
            },
            change_failure_rate: ChangeFailureRateBody {
                deployments: c.deployments,
                failures: c.failures,
                rate: c.rate,
                level: Level::from_proto(c.level),
            },
            recovery_time: RecoveryTimeBody {
                recoveries: r.recoveries,
                median_seconds: r.median_seconds,
                level: Level::from_proto(r.level),
            },
            rework_rate: ReworkRateBody {
                deployments: w.deployments,
                rework_deployments: w.rework_deployments,
                rate: w.rate,
                rework_window_hours: w.rework_window_hours,
                level: Level::from_proto(w.level),
            },
            overall_level: Level::from_proto(m.overall_level),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoraBreakdownBody {
    pub project: String,
    pub environment: String,
    pub metrics: DoraMetricsBody,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DoraReport)]
pub struct DoraReportBody {
    /// The filter; empty: every project / environment.
    pub project: String,
    pub environment: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Over everything the filter matched.
    pub overall: DoraMetricsBody,
    /// One entry per (project, environment) with deployments in the window.
    pub breakdown: Vec<DoraBreakdownBody>,
}

impl From<pb::DoraReport> for DoraReportBody {
    fn from(r: pb::DoraReport) -> Self {
        Self {
            project: r.project,
            environment: r.environment,
            from: time(r.from),
            to: time(r.to),
            overall: r.overall.unwrap_or_default().into(),
            breakdown: r
                .breakdown
                .into_iter()
                .map(|b| DoraBreakdownBody {
                    project: b.project,
                    environment: b.environment,
                    metrics: b.metrics.unwrap_or_default().into(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_lowercase_names_and_null() {
        let json = serde_json::to_value(LeadTimeBody {
            changes: 1,
            median_seconds: Some(60.0),
            p90_seconds: None,
            level: Level::from_proto(pb::PerformanceLevel::Elite as i32),
        })
        .unwrap();
        assert_eq!(json["level"], "elite");
        assert_eq!(json["p90Seconds"], serde_json::Value::Null);
        assert!(Level::from_proto(pb::PerformanceLevel::Unspecified as i32).is_none());
    }
}
