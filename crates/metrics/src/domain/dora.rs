//! DORA metrics computed from raw events for a window `[from, to)`, per (project, environment) and rolled up. The
//! definitions, thresholds and lookback are documented in the crate's README ("DORA definitions"); this module is
//! their one implementation, used for every store.
//!
//! Two steps: [`compute`] turns the events into [`Facts`] per (project, environment) (counts and samples, which merge
//! by concatenation), then [`DoraFacts::report`] / [`DoraFacts::by_environment`] merge facts and derive the numbers
//! and levels ([`levels`]). Merging facts rather than averaging numbers keeps roll-ups exact (a median of medians is
//! not a median).
//!
//! Reads need history before the window: the previous successful deployment (lead time), the start of a failure
//! streak (recovery) and failures shortly before a deployment (rework). [`DoraWindow`] says how far back to read;
//! what lies before that is not seen (bounded lookback, [`LOOKBACK`]).

mod levels;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};

use super::{Change, Deployment, DeploymentStatus, Incident};
pub use levels::{ChangeFailureRate, DeploymentFrequency, DoraMetrics, LeadTime, Level, RecoveryTime, ReworkRate};

/// How far before the window deployments and changes are read.
pub const LOOKBACK: TimeDelta = TimeDelta::days(14);

/// The window and the one tunable of the definitions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoraWindow {
    pub from: DateTime<Utc>,
    /// Exclusive.
    pub to: DateTime<Utc>,
    /// A deployment within this long after a failure in its environment is rework.
    pub rework_window: TimeDelta,
}

impl DoraWindow {
    /// Deployments and changes are read over `[from - LOOKBACK, to)`.
    pub fn history_from(&self) -> DateTime<Utc> {
        self.from - LOOKBACK
    }

    /// Incident reports are read over `[from - rework_window, to)`: opened in the window (change failures), opened
    /// shortly before it (rework), resolved in it (recovery; a resolve report carries its `opened_at`).
    pub fn incidents_from(&self) -> DateTime<Utc> {
        self.from - self.rework_window
    }

    fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }
}

/// One incident, its open and resolve reports folded together.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldedIncident {
    pub project: String,
    /// Empty: applies to every environment of the project.
    pub environment: String,
    pub incident_id: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl FoldedIncident {
    fn applies_to(&self, environment: &str) -> bool {
        self.environment.is_empty() || self.environment == environment
    }

    /// Seconds to recovery, when resolved inside `window`.
    fn recovery_in(&self, window: &DoraWindow) -> Option<f64> {
        let resolved = self.resolved_at.filter(|r| window.contains(*r))?;
        Some(seconds(resolved - self.opened_at))
    }

    fn key(&self) -> (String, String) {
        (self.project.clone(), self.incident_id.clone())
    }
}

/// Folds incident reports by (project, incident_id): earliest `opened_at`, latest `resolved_at`, first non-empty
/// environment.
pub fn fold_incidents(reports: &[Incident]) -> Vec<FoldedIncident> {
    let mut folded: BTreeMap<(&str, &str), FoldedIncident> = BTreeMap::new();
    for r in reports {
        let entry = folded
            .entry((r.project.as_str(), r.incident_id.as_str()))
            .or_insert_with(|| FoldedIncident {
                project: r.project.clone(),
                environment: r.environment.clone(),
                incident_id: r.incident_id.clone(),
                opened_at: r.opened_at,
                resolved_at: r.resolved_at,
            });
        entry.opened_at = entry.opened_at.min(r.opened_at);
        entry.resolved_at = entry.resolved_at.max(r.resolved_at);
        if entry.environment.is_empty() {
            entry.environment.clone_from(&r.environment);
        }
    }
    folded.into_values().collect()
}

/// What the numbers of one scope are computed from. Facts of several scopes merge by [`Facts::merge`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// Finish times of the successful deployments in the window.
    pub success_times: Vec<DateTime<Utc>>,
    /// Deployments in the window, any status.
    pub deployments: u32,
    /// Of those: failed, rolled back, or successful and followed by an incident linked to it.
    pub failures: u32,
    /// One sample per (successful deployment in the window, commit it carried): finish − commit time, in seconds.
    pub lead_seconds: Vec<f64>,
    /// First failure of a streak → the next successful deployment, when that one is in the window.
    pub deploy_recoveries: Vec<f64>,
    /// Incidents resolved in the window, by (project, incident id), so an incident counts once in a roll-up.
    pub incident_recoveries: BTreeMap<(String, String), f64>,
    /// Deployments in the window that came within the rework window after a failure.
    pub rework: u32,
}

impl Facts {
    pub fn merge(&mut self, other: &Facts) {
        self.success_times.extend_from_slice(&other.success_times);
        self.deployments += other.deployments;
        self.failures += other.failures;
        self.lead_seconds.extend_from_slice(&other.lead_seconds);
        self.deploy_recoveries.extend_from_slice(&other.deploy_recoveries);
        self.rework += other.rework;
        for (key, value) in &other.incident_recoveries {
            self.incident_recoveries.insert(key.clone(), *value);
        }
    }
}

/// The facts of a window: per (project, environment) that has deployments in the history read, and the incidents.
#[derive(Debug, Clone)]
pub struct DoraFacts {
    pub window: DoraWindow,
    pub scopes: BTreeMap<(String, String), Facts>,
    pub incidents: Vec<FoldedIncident>,
}

/// The answer to GetDora.
#[derive(Debug, Clone, PartialEq)]
pub struct DoraReport {
    pub overall: DoraMetrics,
    /// (project, environment, metrics) for each scope with deployments in the window, sorted.
    pub breakdown: Vec<(String, String, DoraMetrics)>,
}

impl DoraFacts {
    /// Rolled up over everything read, and broken down per (project, environment).
    pub fn report(&self) -> DoraReport {
        let mut all = Facts::default();
        for facts in self.scopes.values() {
            all.merge(facts);
        }
        self.add_incident_recoveries(&mut all, |_| true);
        let breakdown = self
            .scopes
            .iter()
            .filter(|(_, f)| f.deployments > 0)
            .map(|((p, e), f)| (p.clone(), e.clone(), levels::metrics(f, &self.window)))
            .collect();
        DoraReport {
            overall: levels::metrics(&all, &self.window),
            breakdown,
        }
    }

    /// Rolled up per environment over projects, for each environment with deployments in the window, sorted.
    pub fn by_environment(&self) -> Vec<(String, DoraMetrics)> {
        let mut envs: BTreeMap<&str, Facts> = BTreeMap::new();
        for ((_, env), facts) in &self.scopes {
            envs.entry(env.as_str()).or_default().merge(facts);
        }
        envs.into_iter()
            .filter(|(_, f)| f.deployments > 0)
            .map(|(env, mut facts)| {
                self.add_incident_recoveries(&mut facts, |i| i.applies_to(env));
                (env.to_owned(), levels::metrics(&facts, &self.window))
            })
            .collect()
    }

    fn add_incident_recoveries(&self, facts: &mut Facts, keep: impl Fn(&FoldedIncident) -> bool) {
        for incident in self.incidents.iter().filter(|i| keep(i)) {
            if let Some(secs) = incident.recovery_in(&self.window) {
                facts.incident_recoveries.insert(incident.key(), secs);
            }
        }
    }
}

/// Seconds, at microsecond precision, never negative (clock skew between sources).
fn seconds(delta: TimeDelta) -> f64 {
    delta.num_microseconds().unwrap_or(i64::MAX).max(0) as f64 / 1e6
}

/// A project's changes by commit time, and their commit times by sha.
struct ProjectChanges<'a> {
    by_time: Vec<(DateTime<Utc>, &'a str)>,
    by_sha: HashMap<&'a str, DateTime<Utc>>,
}

/// The facts of the window from events read as [`DoraWindow`] says (already filtered to the project / environment
/// asked for; incidents of the asked environment and those without one).
pub fn compute(
    window: DoraWindow,
    deployments: &[Deployment],
    changes: &[Change],
    incidents: &[Incident],
) -> DoraFacts {
    let mut scopes: BTreeMap<(&str, &str), Vec<&Deployment>> = BTreeMap::new();
    for d in deployments {
        scopes.entry((&d.project, &d.environment)).or_default().push(d);
    }
    let mut projects: HashMap<&str, ProjectChanges<'_>> = HashMap::new();
    for c in changes {
        let entry = projects.entry(&c.project).or_insert_with(|| ProjectChanges {
            by_time: Vec::new(),
            by_sha: HashMap::new(),
        });
        entry.by_time.push((c.commit_time, &c.commit_sha));
        entry.by_sha.entry(&c.commit_sha).or_insert(c.commit_time);
    }
    for p in projects.values_mut() {
        p.by_time.sort_unstable();
    }
    let incidents = fold_incidents(incidents);
    let no_changes = ProjectChanges {
        by_time: Vec::new(),
        by_sha: HashMap::new(),
    };
    let scopes = scopes
        .into_iter()
        .map(|((project, env), mut deps)| {
            deps.sort_by(|a, b| (a.finished_at, &a.event_id).cmp(&(b.finished_at, &b.event_id)));
            let changes = projects.get(project).unwrap_or(&no_changes);
            let scope_incidents: Vec<&FoldedIncident> = incidents
                .iter()
                .filter(|i| i.project == project && i.applies_to(env))
                .collect();
            let facts = scope_facts(&window, &deps, changes, &scope_incidents);
            ((project.to_owned(), env.to_owned()), facts)
        })
        .collect();
    DoraFacts {
        window,
        scopes,
        incidents,
    }
}

fn is_failure(d: &Deployment) -> bool {
    matches!(d.status, DeploymentStatus::Failed | DeploymentStatus::RolledBack)
}

/// The facts of one (project, environment): `deps` sorted by finish time then event id.
fn scope_facts(
    window: &DoraWindow,
    deps: &[&Deployment],
    changes: &ProjectChanges<'_>,
    incidents: &[&FoldedIncident],
) -> Facts {
    let mut facts = Facts::default();
    let successes: Vec<&Deployment> = deps
        .iter()
        .copied()
        .filter(|d| d.status == DeploymentStatus::Succeeded)
        .collect();

    // Change failures through incidents: each incident opened in the window marks the latest successful deployment
    // that finished before it opened. Through rollbacks: a successful rollback marks the successful deployment it
    // undid, which needed remediation.
    let mut followed_by_incident: Vec<bool> = vec![false; successes.len()];
    for incident in incidents.iter().filter(|i| window.contains(i.opened_at)) {
        let before = successes.partition_point(|d| d.finished_at < incident.opened_at);
        if before > 0 {
            followed_by_incident[before - 1] = true;
        }
    }
    // A rollback right after a success (no failed deployment between) undid that success.
    let (mut last_change, mut failed_since, mut index) = (None, false, 0);
    for d in deps {
        if d.status == DeploymentStatus::Succeeded {
            if d.rollback
                && !failed_since
                && let Some(undone) = last_change
            {
                followed_by_incident[undone] = true;
            }
            if !d.rollback {
                last_change = Some(index);
            }
            index += 1;
            failed_since = false;
        } else if is_failure(d) {
            failed_since = true;
        }
    }

    let mut streak_start: Option<DateTime<Utc>> = None;
    let mut previous_success: Option<&Deployment> = None;
    let mut success_index = 0;
    let mut failure_times: Vec<DateTime<Utc>> = deps
        .iter()
        // A rollback says the deployment before it failed: what follows it soon is rework too.
        .filter(|d| is_failure(d) || d.rollback)
        .map(|d| d.finished_at)
        .chain(incidents.iter().map(|i| i.opened_at))
        .collect();
    failure_times.sort_unstable();
    for d in deps {
        let in_window = window.contains(d.finished_at);
        if d.rollback {
            // A remediation, not a change: no frequency, failure-rate or lead-time sample. A successful one ends the
            // failure streak, or, when none is open, recovers from the deployment it undid (from that one's finish).
            if d.status == DeploymentStatus::Succeeded {
                let start = streak_start.take().or(previous_success.map(|p| p.finished_at));
                if let Some(start) = start
                    && in_window
                {
                    facts.deploy_recoveries.push(seconds(d.finished_at - start));
                }
                success_index += 1;
            } else {
                streak_start.get_or_insert(d.finished_at);
            }
            continue;
        }
        if in_window {
            facts.deployments += 1;
            let since = d.finished_at - window.rework_window;
            let first = failure_times.partition_point(|t| *t < since);
            if failure_times.get(first).is_some_and(|t| *t < d.finished_at) {
                facts.rework += 1;
            }
        }
        if is_failure(d) {
            streak_start.get_or_insert(d.finished_at);
            facts.failures += u32::from(in_window);
            continue;
        }
        if let Some(start) = streak_start.take()
            && in_window
        {
            facts.deploy_recoveries.push(seconds(d.finished_at - start));
        }
        if in_window {
            facts.success_times.push(d.finished_at);
            facts.failures += u32::from(followed_by_incident[success_index]);
            lead_times(d, previous_success, changes, &mut facts.lead_seconds);
        }
        previous_success = Some(d);
        success_index += 1;
    }

    for incident in incidents {
        if let Some(secs) = incident.recovery_in(window) {
            facts.incident_recoveries.insert(incident.key(), secs);
        }
    }
    facts
}

/// Where a deployment sits on the commit timeline: its commit's time if known (from the deployment, else from the
/// change with its sha), else its finish time.
fn anchor(d: &Deployment, changes: &ProjectChanges<'_>) -> DateTime<Utc> {
    d.commit_time
        .or_else(|| changes.by_sha.get(d.commit_sha.as_str()).copied())
        .unwrap_or(d.finished_at)
}

/// Adds one lead-time sample per commit `d` carried: the changes with commit time in (anchor(previous), anchor(d)],
/// plus `d`'s own commit when it has a commit time and no change with its sha was seen.
fn lead_times(d: &Deployment, previous: Option<&Deployment>, changes: &ProjectChanges<'_>, out: &mut Vec<f64>) {
    let upper = anchor(d, changes);
    let start = match previous {
        Some(p) => {
            let lower = anchor(p, changes);
            changes.by_time.partition_point(|(t, _)| *t <= lower)
        }
        None => 0,
    };
    let end = changes.by_time.partition_point(|(t, _)| *t <= upper);
    for (commit_time, _) in changes.by_time.get(start..end).unwrap_or_default() {
        out.push(seconds(d.finished_at - *commit_time));
    }
    if let Some(commit_time) = d.commit_time
        && !changes.by_sha.contains_key(d.commit_sha.as_str())
    {
        out.push(seconds(d.finished_at - commit_time));
    }
}
