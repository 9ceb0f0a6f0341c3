//! DORA on a fixed dataset, through the store and the app: the dataset is appended to the store under test, then
//! `MetricsApp::dora` reads it back (with its lookback ranges) and computes. Every expected value is worked out by
//! hand below. The same dataset drives the gRPC end-to-end test (`grpc_queries.rs`).
//!
//! `D(d, h)` = 2024-03-01T00:00Z + d days + h hours. Window: [D(0,0), D(14,0)), 14 days = 2 weeks; rework window
//! 24 h.
//!
//! Changes (shop): c1 D(-2,10), c2 D(0,9), c3 D(0,11), c4 D(2,8), c5 D(5,14), c6 D(9,10).
//!
//! shop / production:
//! - p0 D(-1,12) ok, commit c1 with time (lookback only: anchors the next one at D(-2,10)).
//! - p1 D(0,15) ok, sha c3 without time → anchor c3 D(0,11): carries c2, c3 → lead 6 h, 4 h.
//! - p2 D(3,10) FAILED.
//! - p3 D(3,13) ok, c4 with time D(2,8): carries c4 → 29 h. Recovers p2: 3 h. Rework (3 h after p2).
//! - p4 D(6,9) ok, c5 D(5,14): carries c5 → 19 h. Incident i1 opened D(6,12) (production) links to p4: failure.
//!   i1 resolved D(6,14): recovery 2 h.
//! - p5 D(10,16) ROLLED BACK.
//! - p6 D(10,18) ok, c5 again (redeploy): carries nothing (own commit already a change). Recovers p5: 2 h. Rework.
//!   Incident i2 (no environment → every environment) opened D(11,0), unresolved, links to p6: failure.
//!
//!   Deployments 6, successes 4 on days {0,3,6 | 10} → weeks [3, 1] → median 2 (high); per day 4/14.
//!   Lead [4,6,19,29] h → median 12.5 h = 45,000 s (elite), p90 19 + 0.7·10 = 26 h = 93,600 s.
//!   Failures p2, p5, p4 (i1), p6 (i2) → 4/6 (low). Recoveries [3, 2, 2] h → median 2 h = 7,200 s (high).
//!   Rework p3, p6 → 2/6. Overall: low.
//!
//! shop / staging:
//! - s1 D(0,12) ok, c3 with time D(0,11); no earlier staging deploy → every change read before: c1 50 h, c2 3 h,
//!   c3 1 h.
//! - s2 D(5,15) ok, no commit → anchor its finish: carries c4 79 h, c5 1 h. i2 links to s2: failure.
//!
//!   Deployments 2 on days {0,5 | } → weeks [2, 0] → median 1 (high). Lead [1,1,3,50,79] h → median 3 h =
//!   10,800 s (elite), p90 50 + 0.6·29 = 67.4 h = 242,640 s. CFR 1/2 (low). No recovery. Rework 0/2 (elite).
//!   Overall: low.
//!
//! blog / production:
//! - b1 D(1,10) ok, own commit with time D(1,9), no change events → 1 h. b2 at D(14,0) = `to`: outside.
//! - Incident i4 opened D(-3,0) (open report outside every read range), resolved D(2,0): recovery 120 h =
//!   432,000 s (medium).
//!
//!   Deployments 1 on day 1 → weeks [1, 0] → median 0.5; 1/14 per day ≥ monthly → medium. Lead 1 h (elite).
//!   CFR 0/1 (elite). Overall: medium.
//!
//! Rolled up: deployments 9, successes 7 on days {0,1,3,5,6 | 10} → weeks [5, 1] → median 3 (elite), 0.5 per day.
//! Lead [1,1,1,3,4,6,19,29,50,79] h → median 5 h = 18,000 s (elite), p90 50 + 0.1·29 = 52.9 h = 190,440 s.
//! Failures 4 + 1 + 0 = 5/9 (low). Recoveries [3, 2] h deploys + i1 2 h + i4 120 h → median 2.5 h = 9,000 s
//! (high). Rework 2/9. Overall: low.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use devopstrack_metrics::app::{AppSettings, DoraQuery, MetricsApp};
use devopstrack_metrics::domain::dora::{DoraMetrics, Level};
use devopstrack_metrics::domain::{DeploymentStatus, Event};
use devopstrack_metrics::store::MetricsStore;
use devopstrack_platform::auth::{Principal, Role};
use devopstrack_platform::metrics::MetricsRegistry;

use super::{change, day, deployment, incident, job_run};

conformance!(dora_on_the_fixed_dataset_matches_the_hand_computed_values);

const H: f64 = 3_600.0;

fn sha(n: u8) -> String {
    format!("{n}{n}{n}{n}{n}{n}{n}aa")
}

fn dep(id: &str, project: &str, env: &str, status: DeploymentStatus, at: DateTime<Utc>, commit: Commit) -> Event {
    let mut d = deployment(id, project, env, status, at);
    match commit {
        Commit::None => {}
        Commit::Sha(n) => d.commit_sha = sha(n),
        Commit::ShaAt(n, time) => {
            d.commit_sha = sha(n);
            d.commit_time = Some(time);
        }
    }
    Event::Deployment(d)
}

#[derive(Clone, Copy)]
enum Commit {
    None,
    Sha(u8),
    ShaAt(u8, DateTime<Utc>),
}

/// The dataset described in the module docs, plus noise that must not count.
pub fn dataset() -> Vec<Event> {
    use Commit::{None as NoCommit, Sha, ShaAt};
    use DeploymentStatus::{Failed, RolledBack, Succeeded};
    let c = |n: u8, at| change(&format!("c{n}"), "shop", &sha(n), at);
    vec![
        c(1, day(-2, 10)),
        c(2, day(0, 9)),
        c(3, day(0, 11)),
        c(4, day(2, 8)),
        c(5, day(5, 14)),
        c(6, day(9, 10)),
        dep(
            "p0",
            "shop",
            "production",
            Succeeded,
            day(-1, 12),
            ShaAt(1, day(-2, 10)),
        ),
        dep("p1", "shop", "production", Succeeded, day(0, 15), Sha(3)),
        dep("p2", "shop", "production", Failed, day(3, 10), Sha(4)),
        dep("p3", "shop", "production", Succeeded, day(3, 13), ShaAt(4, day(2, 8))),
        dep("p4", "shop", "production", Succeeded, day(6, 9), ShaAt(5, day(5, 14))),
        dep("p5", "shop", "production", RolledBack, day(10, 16), Sha(6)),
        dep("p6", "shop", "production", Succeeded, day(10, 18), ShaAt(5, day(5, 14))),
        dep("s1", "shop", "staging", Succeeded, day(0, 12), ShaAt(3, day(0, 11))),
        dep("s2", "shop", "staging", Succeeded, day(5, 15), NoCommit),
        dep("b1", "blog", "production", Succeeded, day(1, 10), ShaAt(9, day(1, 9))),
        dep("b2", "blog", "production", Succeeded, day(14, 0), NoCommit),
        incident("i1-open", "shop", "production", "i1", day(6, 12), None),
        incident("i1-resolve", "shop", "production", "i1", day(6, 12), Some(day(6, 14))),
        incident("i2-open", "shop", "", "i2", day(11, 0), None),
        incident("i4-open", "blog", "production", "i4", day(-3, 0), None),
        incident("i4-resolve", "blog", "production", "i4", day(-3, 0), Some(day(2, 0))),
        job_run("noise-run", "shop", "production", day(3, 0)),
    ]
}

pub fn viewer() -> Principal {
    Principal {
        subject: "viewer".into(),
        role: Role::Viewer,
        name: "viewer".into(),
        token_id: "t".into(),
        expires_at: i64::MAX,
    }
}

fn close(got: Option<f64>, want: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: no value"));
    assert!((got - want).abs() < 1e-6, "{what}: {got} != {want}");
}

/// (deployments, successes, median days, per day, lead median h, lead p90 h, failures, recovery median h,
/// rework, overall)
type Expect = (u32, u32, f64, f64, f64, f64, u32, Option<f64>, u32, Level);

pub fn check(m: &DoraMetrics, e: Expect, what: &str) {
    let (deployments, successes, median_days, per_day, lead, p90, failures, recovery, rework, overall) = e;
    let df = &m.deployment_frequency;
    assert_eq!(df.deployments, successes, "{what}: successful deployments");
    assert_eq!(
        df.median_deploy_days_per_week, median_days,
        "{what}: median deploy days"
    );
    close(Some(df.per_day), per_day, &format!("{what}: per day"));
    close(m.lead_time.median_seconds, lead * H, &format!("{what}: lead median"));
    close(m.lead_time.p90_seconds, p90 * H, &format!("{what}: lead p90"));
    let cfr = &m.change_failure_rate;
    assert_eq!((cfr.deployments, cfr.failures), (deployments, failures), "{what}: cfr");
    match recovery {
        Some(hours) => close(m.recovery_time.median_seconds, hours * H, &format!("{what}: recovery")),
        None => assert_eq!(m.recovery_time.median_seconds, None, "{what}: recovery"),
    }
    assert_eq!(m.rework_rate.rework_deployments, rework, "{what}: rework");
    assert_eq!(m.overall_level, Some(overall), "{what}: overall level");
}

pub fn app_on(store: Arc<dyn MetricsStore>) -> MetricsApp {
    let clock = Arc::new(|| day(20, 0));
    MetricsApp::new(store, &AppSettings::default(), clock, &MetricsRegistry::new())
}

pub async fn dora_on_the_fixed_dataset_matches_the_hand_computed_values(store: Arc<dyn MetricsStore>) {
    store.append(&dataset()).await.expect("append the dataset");
    let app = app_on(store);
    let window = |project: Option<&str>, environment: Option<&str>| DoraQuery {
        project: project.map(str::to_owned),
        environment: environment.map(str::to_owned),
        from: Some(day(0, 0)),
        to: Some(day(14, 0)),
    };

    let all = app.dora(&viewer(), window(None, None)).await.expect("GetDora");
    let r = &all.report;
    check(
        &r.overall,
        (9, 7, 3.0, 0.5, 5.0, 52.9, 5, Some(2.5), 2, Level::Low),
        "rolled up",
    );
    assert_eq!(r.overall.deployment_frequency.level, Some(Level::Elite));
    assert_eq!(r.overall.lead_time.changes, 10);
    assert_eq!(r.overall.recovery_time.recoveries, 4);
    assert_eq!(r.overall.change_failure_rate.level, Some(Level::Low));
    assert_eq!(r.overall.recovery_time.level, Some(Level::High));
    let scopes: Vec<(&str, &str)> = r.breakdown.iter().map(|(p, e, _)| (p.as_str(), e.as_str())).collect();
    assert_eq!(
        scopes,
        [("blog", "production"), ("shop", "production"), ("shop", "staging")]
    );
    check(
        &r.breakdown[0].2,
        (1, 1, 0.5, 1.0 / 14.0, 1.0, 1.0, 0, Some(120.0), 0, Level::Medium),
        "blog",
    );
    let prod = (6, 4, 2.0, 4.0 / 14.0, 12.5, 26.0, 4, Some(2.0), 2, Level::Low);
    check(&r.breakdown[1].2, prod, "shop/production");
    let staging = (2, 2, 1.0, 2.0 / 14.0, 3.0, 67.4, 1, None, 0, Level::Low);
    check(&r.breakdown[2].2, staging, "shop/staging");
    assert_eq!(r.breakdown[2].2.rework_rate.level, Some(Level::Elite));

    let filtered = app
        .dora(&viewer(), window(Some("shop"), Some("production")))
        .await
        .expect("GetDora for one environment");
    check(&filtered.report.overall, prod, "filtered to shop/production");
    assert_eq!(filtered.report.breakdown.len(), 1);

    let earlier = DoraQuery {
        from: Some(day(-400, 0)),
        to: Some(day(-300, 0)),
        ..window(None, None)
    };
    let empty = app.dora(&viewer(), earlier).await.expect("GetDora over nothing");
    assert_eq!(empty.report.overall.overall_level, None);
    assert!(empty.report.breakdown.is_empty());
}
