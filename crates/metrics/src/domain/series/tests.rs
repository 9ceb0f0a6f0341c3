//! Bucketing and window validation.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::domain::{JobRun, Source};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

fn run(status: JobRunStatus, started: i64, finished: i64) -> JobRun {
    JobRun {
        event_id: format!("{started}-{finished}"),
        project: "api".into(),
        environment: String::new(),
        pipeline_id: String::new(),
        job_id: String::new(),
        job_name: "build".into(),
        status,
        source: Source::DevOpsTrack,
        attempt: 1,
        queued_at: None,
        started_at: at(started),
        finished_at: at(finished),
    }
}

#[test]
fn the_automatic_step_gives_about_48_buckets() {
    let day = 86_400;
    let cases: [(i64, u32, i64); 4] = [
        (day, 1_800, 48),           // 24 h → 30 min
        (30 * day, 86_400, 30),     // 30 days → daily
        (3_600, 120, 30),           // 1 h → 2 min
        (400 * day, 1_209_600, 29), // 400 days → fortnightly (aligned: may straddle one more)
    ];
    for (span, step, buckets) in cases {
        let w = SeriesWindow::new(at(0), at(span), 0).unwrap();
        assert_eq!(w.step_seconds, step, "span {span}");
        assert!(
            (w.bucket_count() - buckets).abs() <= 1,
            "span {span}: {}",
            w.bucket_count()
        );
        assert!(w.bucket_count() <= 48);
    }
}

#[test]
fn bad_windows_and_steps_name_the_field() {
    let cases = [
        (at(10), at(10), 0, "from"),
        (at(0), at(401 * 86_400), 0, "to"),
        (at(0), at(3_600), 59, "step_seconds"),
        (at(0), at(3_600), 2_592_001, "step_seconds"),
        (at(0), at(200 * 86_400), 60, "step_seconds"), // 288,000 buckets
    ];
    for (from, to, step, field) in cases {
        let err = SeriesWindow::new(from, to, step).unwrap_err();
        assert_eq!(err.field, field, "{err}");
    }
}

#[test]
fn buckets_are_epoch_aligned_and_count_only_the_window() {
    // Window [90 s, 330 s) in 100 s steps: buckets start at 0, 100, 200, 300.
    let w = SeriesWindow::new(at(90), at(330), 100).unwrap();
    assert_eq!(w.bucket_count(), 4);
    let runs = [
        run(JobRunStatus::Succeeded, 0, 80), // before the window
        run(JobRunStatus::Succeeded, 0, 95),
        run(JobRunStatus::Failed, 100, 150),
        run(JobRunStatus::Failed, 100, 199),
        run(JobRunStatus::TimedOut, 300, 329),
        run(JobRunStatus::Cancelled, 300, 330), // at `to`: excluded
    ];
    let buckets = job_runs(&w, &runs);
    let starts: Vec<i64> = buckets.iter().map(|b| b.start.timestamp()).collect();
    assert_eq!(starts, [0, 100, 200, 300]);
    let totals: Vec<f64> = buckets.iter().map(|b| b.values["total"]).collect();
    assert_eq!(totals, [1.0, 2.0, 0.0, 1.0]);
    assert_eq!(buckets[1].values["failed"], 2.0);
    assert_eq!(buckets[3].values["timed_out"], 1.0);
    assert_eq!(buckets[2].values.len(), 5, "every status and total, zeros included");
}

#[test]
fn durations_are_percentiles_in_milliseconds() {
    let w = SeriesWindow::new(at(0), at(200), 100).unwrap();
    let runs: Vec<JobRun> = (1..=10).map(|s| run(JobRunStatus::Succeeded, 50 - s, 50)).collect();
    let buckets = job_durations(&w, &runs);
    assert_eq!(buckets[0].values["count"], 10.0);
    assert_eq!(buckets[0].values["p50"], 5_500.0);
    assert!((buckets[0].values["p90"] - 9_100.0).abs() < 1e-9);
    assert_eq!(buckets[1].values.len(), 1, "an empty bucket has only its count");
    assert_eq!(buckets[1].values["count"], 0.0);
    let _ = TimeDelta::zero();
}
