//! JSON shapes of `/api/v1/metrics/**` (camelCase), converted from the metrics service's answers. Performance levels
//! are `"elite" | "high" | "medium" | "low"`, or `null` when the window holds too little data to say.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use devopstrack_proto::metrics::v1 as pb;

use super::dto::time;
use crate::error::ApiError;

/// `GET /api/v1/metrics/dora`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DoraQuery {
    /// Only this project (its slug); omitted: every project.
    pub project: Option<String>,
    /// Only this environment; omitted: every environment.
    pub environment: Option<String>,
    /// RFC 3339; default: 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; default: now.
    pub to: Option<DateTime<Utc>>,
}

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

/// `GET /api/v1/metrics/series`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    pub measure: Measure,
    pub project: Option<String>,
    pub environment: Option<String>,
    /// RFC 3339; default: 24 hours before `to`.
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; default: now.
    pub to: Option<DateTime<Utc>>,
    /// Bucket width: seconds (`3600`) or a duration (`15m`, `1h`, `1d`), 1 minute to 30 days; omitted: about 48
    /// buckets over the window.
    #[param(value_type = Option<String>, example = "1h")]
    pub step: Option<String>,
}

impl SeriesQuery {
    pub fn into_proto(self) -> Result<pb::QuerySeriesRequest, ApiError> {
        let step_seconds = match self.step.as_deref() {
            None | Some("") => 0,
            Some(step) => parse_step(step).map_err(|why| ApiError::invalid(format!("step: {why}")))?,
        };
        Ok(pb::QuerySeriesRequest {
            measure: self.measure.to_proto() as i32,
            project: self.project.unwrap_or_default(),
            environment: self.environment.unwrap_or_default(),
            from: self.from.map(timestamp),
            to: self.to.map(timestamp),
            step_seconds,
        })
    }
}

/// `GET /api/v1/metrics/overview`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// Only this project; omitted: every project.
    pub project: Option<String>,
    /// Window of the DORA tiles and daily series, 1–90; default 30.
    pub days: Option<u32>,
}

/// `3600`, `90s`, `15m`, `1h`, `1d` → seconds, within 1 minute and 30 days.
fn parse_step(step: &str) -> Result<u32, String> {
    let (digits, unit) = match step.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => step.split_at(at),
        None => (step, "s"),
    };
    let count: u64 = digits
        .parse()
        .map_err(|_| format!("{step:?} is not a number of seconds or a duration like 15m, 1h, 1d"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        other => return Err(format!("unknown unit {other:?} (use s, m, h or d)")),
    };
    let seconds = count.saturating_mul(unit);
    if !(60..=2_592_000).contains(&seconds) {
        return Err(format!("{step:?} must be between 1 minute and 30 days"));
    }
    Ok(seconds as u32)
}

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A DORA performance level; `null` when there is too little data.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Elite,
    High,
    Medium,
    Low,
}

fn level(value: i32) -> Option<Level> {
    match pb::PerformanceLevel::try_from(value).ok()? {
        pb::PerformanceLevel::Elite => Some(Level::Elite),
        pb::PerformanceLevel::High => Some(Level::High),
        pb::PerformanceLevel::Medium => Some(Level::Medium),
        pb::PerformanceLevel::Low => Some(Level::Low),
        pb::PerformanceLevel::Unspecified => None,
    }
}

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
                level: level(f.level),
            },
            lead_time: LeadTimeBody {
                changes: l.changes,
                median_seconds: l.median_seconds,
                p90_seconds: l.p90_seconds,
                level: level(l.level),
            },
            change_failure_rate: ChangeFailureRateBody {
                deployments: c.deployments,
                failures: c.failures,
                rate: c.rate,
                level: level(c.level),
            },
            recovery_time: RecoveryTimeBody {
                recoveries: r.recoveries,
                median_seconds: r.median_seconds,
                level: level(r.level),
            },
            rework_rate: ReworkRateBody {
                deployments: w.deployments,
                rework_deployments: w.rework_deployments,
                rate: w.rate,
                rework_window_hours: w.rework_window_hours,
                level: level(w.level),
            },
            overall_level: level(m.overall_level),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_as_seconds_or_durations_within_bounds() {
        for (input, expected) in [
            ("3600", Ok(3600)),
            ("15m", Ok(900)),
            ("1h", Ok(3600)),
            ("1d", Ok(86_400)),
        ] {
            assert_eq!(parse_step(input), expected, "{input}");
        }
        for bad in ["59", "1w", "h", "-5m", "99999999999999999999d", "31d", "1.5h"] {
            assert!(parse_step(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn levels_map_to_lowercase_names_and_null() {
        let json = serde_json::to_value(LeadTimeBody {
            changes: 1,
            median_seconds: Some(60.0),
            p90_seconds: None,
            level: level(pb::PerformanceLevel::Elite as i32),
        })
        .unwrap();
        assert_eq!(json["level"], "elite");
        assert_eq!(json["p90Seconds"], serde_json::Value::Null);
        assert!(level(pb::PerformanceLevel::Unspecified as i32).is_none());
    }
}
