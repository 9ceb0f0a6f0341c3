//! The dashboard's time series: events counted (or their durations summarised) per bucket of `step` seconds.
//!
//! Buckets are aligned to multiples of `step` since the Unix epoch (daily buckets start at 00:00 UTC), so the first
//! and last may be partly outside `[from, to)`; only events inside `[from, to)` are counted. Every bucket of the window
//! is returned, empty ones included.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::stats;
use super::{Deployment, DeploymentStatus, JobRun, JobRunStatus};

pub const MIN_STEP_SECONDS: u32 = 60;
pub const MAX_STEP_SECONDS: u32 = 2_592_000;
pub const MAX_BUCKETS: i64 = 2_000;
pub const MAX_WINDOW: TimeDelta = TimeDelta::days(400);
/// When no step is asked for, the smallest of these that gives at most [`TARGET_BUCKETS`].
const NICE_STEPS: [u32; 16] = [
    60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800, 1_209_600, 2_592_000,
];
const TARGET_BUCKETS: i64 = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Counts per job status and `total`.
    JobRuns,
    /// `p50`, `p90`, `p99` of job durations (finished − started) in milliseconds, and `count`.
    JobDuration,
    /// Counts per deployment status and `total`.
    Deployments,
}

/// A validated window and step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub step_seconds: u32,
}

/// Why a window or step is refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct WindowError {
    pub field: &'static str,
    pub problem: String,
}

fn refuse(field: &'static str, problem: impl Into<String>) -> WindowError {
    WindowError {
        field,
        problem: problem.into(),
    }
}

/// Checks a query window: `from` before `to`, at most [`MAX_WINDOW`] long.
pub fn check_window(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), WindowError> {
    if from >= to {
        return Err(refuse("from", "must be before `to`"));
    }
    if to - from > MAX_WINDOW {
        return Err(refuse("to", "the window must be at most 400 days"));
    }
    Ok(())
}

/// `a / b` rounded up, for `b > 0` (`i64::div_ceil` is unstable).
fn ceil_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b) + i64::from(a.rem_euclid(b) != 0)
}

impl SeriesWindow {
    /// `step_seconds` 0 picks a step giving about 48 buckets.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>, step_seconds: u32) -> Result<Self, WindowError> {
        check_window(from, to)?;
        let step_seconds = if step_seconds == 0 {
            let span = (to - from).num_seconds();
            NICE_STEPS
                .into_iter()
                .find(|s| ceil_div(span, i64::from(*s)) <= TARGET_BUCKETS)
                .unwrap_or(MAX_STEP_SECONDS)
        } else if (MIN_STEP_SECONDS..=MAX_STEP_SECONDS).contains(&step_seconds) {
            step_seconds
        } else {
            return Err(refuse(
                "step_seconds",
                format!("must be 0 (automatic) or between {MIN_STEP_SECONDS} and {MAX_STEP_SECONDS}"),
            ));
        };
        let window = Self { from, to, step_seconds };
        if window.bucket_count() > MAX_BUCKETS {
            return Err(refuse(
                "step_seconds",
                format!(
                    "gives {} buckets over this window; at most {MAX_BUCKETS}",
                    window.bucket_count()
                ),
            ));
        }
        Ok(window)
    }

    fn step(&self) -> i64 {
        i64::from(self.step_seconds)
    }

    /// Unix seconds at which the first bucket starts.
    fn first_start(&self) -> i64 {
        self.from.timestamp().div_euclid(self.step()) * self.step()
    }

    pub fn bucket_count(&self) -> i64 {
        let end = self.to.timestamp() + i64::from(self.to.timestamp_subsec_nanos() > 0);
        ceil_div(end - self.first_start(), self.step()).max(1)
    }

    /// The bucket index of `at`, when `at` is in `[from, to)`.
    fn index(&self, at: DateTime<Utc>) -> Option<usize> {
        if at < self.from || at >= self.to {
            return None;
        }
        usize::try_from((at.timestamp() - self.first_start()).div_euclid(self.step())).ok()
    }

    fn starts(&self) -> impl Iterator<Item = DateTime<Utc>> + use<> {
        let (first, step) = (self.first_start(), self.step());
        (0..self.bucket_count()).filter_map(move |i| DateTime::from_timestamp(first + i * step, 0))
    }
}

/// One bucket: its start and its values by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub values: BTreeMap<&'static str, f64>,
}

fn counting_buckets(window: &SeriesWindow, statuses: &[&'static str]) -> Vec<Bucket> {
    window
        .starts()
        .map(|start| Bucket {
            start,
            values: statuses.iter().chain(&["total"]).map(|n| (*n, 0.0)).collect(),
        })
        .collect()
}

fn bump(buckets: &mut [Bucket], index: Option<usize>, status: &'static str) {
    if let Some(bucket) = index.and_then(|i| buckets.get_mut(i)) {
        for key in [status, "total"] {
            if let Some(v) = bucket.values.get_mut(key) {
                *v += 1.0;
            }
        }
    }
}

/// Job runs per status per bucket (by finish time).
pub fn job_runs(window: &SeriesWindow, runs: &[JobRun]) -> Vec<Bucket> {
    let mut buckets = counting_buckets(window, &JobRunStatus::ALL.map(JobRunStatus::as_str));
    for run in runs {
        bump(&mut buckets, window.index(run.finished_at), run.status.as_str());
    }
    buckets
}

/// Deployments per status per bucket (by finish time).
pub fn deployments(window: &SeriesWindow, deployments: &[Deployment]) -> Vec<Bucket> {
    let mut buckets = counting_buckets(window, &DeploymentStatus::ALL.map(DeploymentStatus::as_str));
    for d in deployments {
        bump(&mut buckets, window.index(d.finished_at), d.status.as_str());
    }
    buckets
}

/// Job duration percentiles (milliseconds) per bucket (by finish time); an empty bucket has only `count` = 0.
pub fn job_durations(window: &SeriesWindow, runs: &[JobRun]) -> Vec<Bucket> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); window.starts().count()];
    for run in runs {
        if let Some(bucket) = window.index(run.finished_at).and_then(|i| samples.get_mut(i)) {
            let micros = (run.finished_at - run.started_at)
                .num_microseconds()
                .unwrap_or(0)
                .max(0);
            bucket.push(micros as f64 / 1_000.0);
        }
    }
    window
        .starts()
        .zip(samples)
        .map(|(start, mut values)| {
            let count = values.len() as f64;
            let mut out = BTreeMap::from([("count", count)]);
            if !values.is_empty() {
                values.sort_unstable_by(f64::total_cmp);
                for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
                    out.insert(name, stats::sorted_percentile(&values, q));
                }
            }
            Bucket { start, values: out }
        })
        .collect()
}

#[cfg(test)]
mod tests;
