//! DORA computation, table-driven where the shape allows. Times are hours after a fixed origin; the window is the
//! 14 days from the origin unless a case says otherwise.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::domain::{Change, Deployment, DeploymentStatus, Incident, Source};

fn t(hours: f64) -> DateTime<Utc> {
    let origin = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    origin + TimeDelta::seconds((hours * 3600.0) as i64)
}

fn window() -> DoraWindow {
    DoraWindow {
        from: t(0.0),
        to: t(14.0 * 24.0),
        rework_window: TimeDelta::hours(24),
    }
}

fn dep(id: &str, env: &str, status: DeploymentStatus, at: f64, commit: Option<(&str, f64)>) -> Deployment {
    Deployment {
        event_id: id.into(),
        project: "api".into(),
        environment: env.into(),
        status,
        version: "1.0.0".into(),
        commit_sha: commit.map(|c| c.0.to_owned()).unwrap_or_default(),
        commit_time: commit.map(|c| t(c.1)),
        started_at: None,
        finished_at: t(at),
        pipeline_id: String::new(),
        source: Source::DevOpsTrack,
        rollback: false,
    }
}

fn ok(id: &str, at: f64) -> Deployment {
    dep(id, "production", DeploymentStatus::Succeeded, at, None)
}

fn failed(id: &str, at: f64) -> Deployment {
    dep(id, "production", DeploymentStatus::Failed, at, None)
}

fn change(sha: &str, at: f64) -> Change {
    Change {
        event_id: format!("c-{sha}"),
        project: "api".into(),
        commit_sha: sha.into(),
        commit_time: t(at),
        repository: String::new(),
        branch: "main".into(),
    }
}

fn incident(id: &str, env: &str, opened: f64, resolved: Option<f64>) -> Incident {
    Incident {
        event_id: format!("{id}-{}", resolved.is_some()),
        project: "api".into(),
        environment: env.into(),
        incident_id: id.into(),
        title: String::new(),
        opened_at: t(opened),
        resolved_at: resolved.map(t),
        url: String::new(),
    }
}

fn report(deps: &[Deployment], changes: &[Change], incidents: &[Incident]) -> DoraReport {
    compute(window(), deps, changes, incidents).report()
}

#[test]
fn no_data_gives_no_numbers_and_no_levels() {
    let r = report(&[], &[], &[]);
    let m = &r.overall;
    assert_eq!(m.deployment_frequency.deployments, 0);
    assert_eq!(m.deployment_frequency.level, None);
    assert_eq!(
        (m.lead_time.changes, m.lead_time.median_seconds, m.lead_time.level),
        (0, None, None)
    );
    assert_eq!((m.change_failure_rate.rate, m.change_failure_rate.level), (None, None));
    assert_eq!((m.recovery_time.recoveries, m.recovery_time.level), (0, None));
    assert_eq!((m.rework_rate.rate, m.rework_rate.rework_window_hours), (None, 24));
    assert_eq!(m.overall_level, None);
    assert!(r.breakdown.is_empty());
}

#[test]
fn a_single_deployment_carries_its_own_commit() {
    // Deployed at 10h, commit at 4h, no change events: one lead-time sample of 6 h (elite), 1 deployment in 14 days
    // (medium frequency: at least monthly), CFR 0 (elite), no recovery. Overall: the worst, medium.
    let r = report(
        &[dep(
            "d1",
            "production",
            DeploymentStatus::Succeeded,
            10.0,
            Some(("abc1234", 4.0)),
        )],
        &[],
        &[],
    );
    let m = &r.overall;
    assert_eq!(m.lead_time.changes, 1);
    assert_eq!(m.lead_time.median_seconds, Some(6.0 * 3600.0));
    assert_eq!(m.lead_time.level, Some(Level::Elite));
    assert_eq!(m.deployment_frequency.median_deploy_days_per_week, 0.5);
    assert_eq!(m.deployment_frequency.level, Some(Level::Medium));
    assert_eq!(
        (m.change_failure_rate.rate, m.change_failure_rate.level),
        (Some(0.0), Some(Level::Elite))
    );
    assert_eq!(m.recovery_time.level, None);
    assert_eq!(m.overall_level, Some(Level::Medium));
    assert_eq!(r.breakdown.len(), 1);
    assert_eq!(r.breakdown[0].2, r.overall);
}

#[test]
fn commits_between_deployments_are_carried_by_the_next_one() {
    // Changes at 1h, 2h (c1, c2) and 5h (c3). d0 before the window (lookback) anchored on c1 (by sha, no
    // commit_time); d1 at 3h anchored on its finish (carries c2: 1h); d2 at 8h anchored on c3 by commit_time
    // (carries c3: 3h). c1 belongs to d0, outside the window.
    let mut d0 = ok("d0", -1.0);
    d0.commit_sha = "c1c1c1c".into();
    let deps = [
        d0,
        ok("d1", 3.0),
        dep(
            "d2",
            "production",
            DeploymentStatus::Succeeded,
            8.0,
            Some(("c3c3c3c", 5.0)),
        ),
    ];
    let changes = [change("c1c1c1c", -5.0), change("c2c2c2c", 2.0), change("c3c3c3c", 5.0)];
    let m = report(&deps, &changes, &[]).overall;
    assert_eq!(m.lead_time.changes, 2);
    assert_eq!(m.lead_time.median_seconds, Some(2.0 * 3600.0));
    assert_eq!(m.deployment_frequency.deployments, 2);
}

#[test]
fn failures_recoveries_and_rework() {
    // f1 fails at 10h, f2 fails at 11h (same streak), d3 succeeds at 13h: one recovery of 3 h (high). d3 and f2
    // come within 24 h after a failure: rework 2 of 5. CFR: f1, f2 failed; d4 (at 100h) is followed by incident i1
    // opened at 101h, resolved at 101.5h (a 30 min recovery): 3 of 5 failures.
    let deps = [
        ok("d0", 1.0),
        failed("f1", 10.0),
        failed("f2", 11.0),
        ok("d3", 13.0),
        ok("d4", 100.0),
    ];
    let incidents = [
        incident("i1", "production", 101.0, None),
        incident("i1", "production", 101.0, Some(101.5)),
    ];
    let m = report(&deps, &[], &incidents).overall;
    assert_eq!(
        (m.change_failure_rate.deployments, m.change_failure_rate.failures),
        (5, 3)
    );
    assert_eq!(m.change_failure_rate.level, Some(Level::Low));
    assert_eq!(m.recovery_time.recoveries, 2);
    // Median of 3 h and 0.5 h.
    assert_eq!(m.recovery_time.median_seconds, Some(1.75 * 3600.0));
    assert_eq!(m.recovery_time.level, Some(Level::High));
    assert_eq!(m.rework_rate.rework_deployments, 2);
    assert_eq!(m.rework_rate.rate, Some(0.4));
}

fn rollback(id: &str, at: f64) -> Deployment {
    Deployment {
        rollback: true,
        ..ok(id, at)
    }
}

#[test]
fn a_rollback_is_a_remediation_not_a_change() {
    // d1 at 10h, d2 at 20h, then a rollback r3 at 22h undoes d2: d2 is a change failure and recovers 2 h after it
    // finished (high). r3 is no deployment of a change (frequency 2, CFR 1 of 2); d4 at 30h, within 24 h after the
    // rollback, is rework (1 of 2).
    let deps = [ok("d1", 10.0), ok("d2", 20.0), rollback("r3", 22.0), ok("d4", 30.0)];
    let m = report(&deps, &[], &[]).overall;
    assert_eq!(m.deployment_frequency.deployments, 3, "d1, d2 and d4, not the rollback");
    assert_eq!(
        (m.change_failure_rate.deployments, m.change_failure_rate.failures),
        (3, 1)
    );
    assert_eq!(m.recovery_time.recoveries, 1);
    assert_eq!(m.recovery_time.median_seconds, Some(2.0 * 3600.0));
    assert_eq!(m.rework_rate.rework_deployments, 1);
}

#[test]
fn a_rollback_after_a_failed_deployment_ends_its_streak() {
    // d1 ok, f2 fails at 20h, rollback r3 at 21h: recovery 1 h from f2. f2 is the only change failure: d1 was not
    // undone (the rollback followed a failure).
    let deps = [ok("d1", 10.0), failed("f2", 20.0), rollback("r3", 21.0)];
    let m = report(&deps, &[], &[]).overall;
    assert_eq!(m.recovery_time.recoveries, 1);
    assert_eq!(m.recovery_time.median_seconds, Some(3600.0));
    assert_eq!(
        (m.change_failure_rate.deployments, m.change_failure_rate.failures),
        (2, 1)
    );
}

#[test]
fn an_incident_marks_the_latest_success_before_it_only() {
    let cases: [(&str, f64, u32); 4] = [
        // (incident environment, opened at, failures among d1@5h d2@20h)
        ("production", 21.0, 1),
        ("production", 4.0, 0), // before any deployment: linked to none
        ("staging", 21.0, 0),   // another environment
        ("", 21.0, 1),          // no environment: every environment
    ];
    for (env, opened, failures) in cases {
        let r = report(
            &[ok("d1", 5.0), ok("d2", 20.0)],
            &[],
            &[incident("i", env, opened, None)],
        );
        assert_eq!(r.overall.change_failure_rate.failures, failures, "{env:?} at {opened}");
    }
}

#[test]
fn the_frequency_median_counts_deploy_days_per_week() {
    // Week 1: deploys on days 0, 1, 2 (two on day 0); week 2: day 8 only. Median of [3, 1] = 2 → high.
    let deps = [
        ok("a", 1.0),
        ok("b", 2.0),
        ok("c", 25.0),
        ok("d", 49.0),
        ok("e", 8.0 * 24.0 + 1.0),
    ];
    let df = report(&deps, &[], &[]).overall.deployment_frequency;
    assert_eq!(df.deployments, 5);
    assert_eq!(df.median_deploy_days_per_week, 2.0);
    assert!((df.per_day - 5.0 / 14.0).abs() < 1e-12);
    assert_eq!(df.level, Some(Level::High));
}

#[test]
fn rollups_merge_samples_and_count_an_incident_once() {
    // Two environments; an incident without environment resolved in the window counts once in the roll-up and
    // once in each environment's own numbers.
    let deps = [
        ok("p1", 1.0),
        dep("s1", "staging", DeploymentStatus::Succeeded, 2.0, None),
    ];
    let incidents = [incident("i", "", 3.0, Some(5.0))];
    let facts = compute(window(), &deps, &[], &incidents);
    let r = facts.report();
    assert_eq!(r.overall.recovery_time.recoveries, 1);
    assert_eq!(r.breakdown.len(), 2);
    assert!(r.breakdown.iter().all(|(_, _, m)| m.recovery_time.recoveries == 1));
    assert_eq!(r.breakdown[0].1, "production");
    let envs = facts.by_environment();
    assert_eq!(
        envs.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(),
        ["production", "staging"]
    );
}
