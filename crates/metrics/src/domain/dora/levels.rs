//! From [`Facts`] to the five numbers and their performance levels. The thresholds (2023 State of DevOps clusters,
//! made into non-overlapping cut points) are listed in the crate's README, "DORA definitions".

use chrono::TimeDelta;

use super::{DoraWindow, Facts};
use crate::domain::stats;

/// DORA's 2023 performance clusters, best first: `Ord` puts the worst last, so the overall level is the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Elite,
    High,
    Medium,
    Low,
}

const HOUR: f64 = 3_600.0;
const DAY: f64 = 24.0 * HOUR;

#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentFrequency {
    /// Successful deployments in the window.
    pub deployments: u32,
    pub per_day: f64,
    pub per_week: f64,
    /// Median over the window's weeks of the days with at least one successful deployment.
    pub median_deploy_days_per_week: f64,
    pub level: Option<Level>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LeadTime {
    pub changes: u32,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
    pub level: Option<Level>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChangeFailureRate {
    pub deployments: u32,
    pub failures: u32,
    pub rate: Option<f64>,
    pub level: Option<Level>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryTime {
    pub recoveries: u32,
    pub median_seconds: Option<f64>,
    pub level: Option<Level>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReworkRate {
    pub deployments: u32,
    pub rework_deployments: u32,
    pub rate: Option<f64>,
    pub rework_window_hours: u32,
    pub level: Option<Level>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DoraMetrics {
    pub deployment_frequency: DeploymentFrequency,
    pub lead_time: LeadTime,
    pub change_failure_rate: ChangeFailureRate,
    pub recovery_time: RecoveryTime,
    pub rework_rate: ReworkRate,
    /// The worst level among the four DORA keys that have one (rework rate is not one of them).
    pub overall_level: Option<Level>,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The numbers and levels of `facts` over `window`.
pub fn metrics(facts: &Facts, window: &DoraWindow) -> DoraMetrics {
    let deployment_frequency = deployment_frequency(facts, window);
    let mut lead = facts.lead_seconds.clone();
    lead.sort_unstable_by(f64::total_cmp);
    let lead_median = (!lead.is_empty()).then(|| stats::sorted_percentile(&lead, 0.5));
    let lead_time = LeadTime {
        changes: count(lead.len()),
        median_seconds: lead_median,
        p90_seconds: (!lead.is_empty()).then(|| stats::sorted_percentile(&lead, 0.9)),
        level: lead_median.map(lead_time_level),
    };
    let cfr = rate(facts.failures, facts.deployments);
    let change_failure_rate = ChangeFailureRate {
        deployments: facts.deployments,
        failures: facts.failures,
        rate: cfr,
        level: cfr.map(rate_level),
    };
    let mut recoveries: Vec<f64> = facts.deploy_recoveries.clone();
    recoveries.extend(facts.incident_recoveries.values());
    let recovery_median = stats::median(&mut recoveries);
    let recovery_time = RecoveryTime {
        recoveries: count(recoveries.len()),
        median_seconds: recovery_median,
        level: recovery_median.map(recovery_level),
    };
    let rework = rate(facts.rework, facts.deployments);
    let rework_rate = ReworkRate {
        deployments: facts.deployments,
        rework_deployments: facts.rework,
        rate: rework,
        rework_window_hours: u32::try_from(window.rework_window.num_hours()).unwrap_or(0),
        level: rework.map(rate_level),
    };
    let overall_level = [
        deployment_frequency.level,
        lead_time.level,
        change_failure_rate.level,
        recovery_time.level,
    ]
    .into_iter()
    .flatten()
    .max();
    DoraMetrics {
        deployment_frequency,
        lead_time,
        change_failure_rate,
        recovery_time,
        rework_rate,
        overall_level,
    }
}

fn rate(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

fn seconds_of(delta: TimeDelta) -> f64 {
    delta.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
}

fn deployment_frequency(facts: &Facts, window: &DoraWindow) -> DeploymentFrequency {
    let span = seconds_of(window.to - window.from).max(1.0);
    let days = span / DAY;
    let successes = count(facts.success_times.len());
    let per_day = f64::from(successes) / days;
    // Whole weeks from `from` (at least one, shorter when the window is); days are 24 h periods from `from`.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let weeks = ((days / 7.0).floor() as usize).max(1);
    let mut deploy_days = vec![std::collections::BTreeSet::new(); weeks];
    for at in &facts.success_times {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let day = (seconds_of(*at - window.from) / DAY).floor() as usize;
        if let Some(week) = deploy_days.get_mut(day / 7) {
            week.insert(day);
        }
    }
    let mut per_week: Vec<f64> = deploy_days.iter().map(|d| d.len() as f64).collect();
    let median_days = stats::median(&mut per_week).unwrap_or(0.0);
    let level = if facts.deployments == 0 {
        None
    } else if median_days >= 3.0 {
        Some(Level::Elite)
    } else if median_days >= 1.0 {
        Some(Level::High)
    } else if per_day * 30.0 >= 1.0 {
        Some(Level::Medium)
    } else {
        Some(Level::Low)
    };
    DeploymentFrequency {
        deployments: successes,
        per_day,
        per_week: per_day * 7.0,
        median_deploy_days_per_week: median_days,
        level,
    }
}

/// Elite < 1 day, high < 1 week, medium < 30 days, low otherwise.
fn lead_time_level(median_seconds: f64) -> Level {
    if median_seconds < DAY {
        Level::Elite
    } else if median_seconds < 7.0 * DAY {
        Level::High
    } else if median_seconds < 30.0 * DAY {
        Level::Medium
    } else {
        Level::Low
    }
}

/// Change failure rate (and rework rate): elite ≤ 5 %, high ≤ 10 %, medium ≤ 15 %, low above.
fn rate_level(rate: f64) -> Level {
    if rate <= 0.05 {
        Level::Elite
    } else if rate <= 0.10 {
        Level::High
    } else if rate <= 0.15 {
        Level::Medium
    } else {
        Level::Low
    }
}

/// Elite < 1 hour, high < 1 day, medium < 1 week, low otherwise.
fn recovery_level(median_seconds: f64) -> Level {
    if median_seconds < HOUR {
        Level::Elite
    } else if median_seconds < DAY {
        Level::High
    } else if median_seconds < 7.0 * DAY {
        Level::Medium
    } else {
        Level::Low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_put_each_value_in_its_cluster() {
        let lead = [
            (0.0, Level::Elite),
            (DAY - 1.0, Level::Elite),
            (DAY, Level::High),
            (7.0 * DAY, Level::Medium),
            (30.0 * DAY, Level::Low),
        ];
        for (value, level) in lead {
            assert_eq!(lead_time_level(value), level, "lead {value}");
        }
        let rates = [
            (0.0, Level::Elite),
            (0.05, Level::Elite),
            (0.0501, Level::High),
            (0.10, Level::High),
            (0.15, Level::Medium),
            (0.16, Level::Low),
            (1.0, Level::Low),
        ];
        for (value, level) in rates {
            assert_eq!(rate_level(value), level, "rate {value}");
        }
        let recovery = [
            (59.0 * 60.0, Level::Elite),
            (HOUR, Level::High),
            (DAY, Level::Medium),
            (7.0 * DAY, Level::Low),
        ];
        for (value, level) in recovery {
            assert_eq!(recovery_level(value), level, "recovery {value}");
        }
        assert!(Level::Elite < Level::Low, "the worst level sorts last");
    }
}
