//! Generated types ↔ domain types. Incoming events are validated field by field here; every error names the field
//! path (`runs[3].finished_at: must not be before started_at`). Times are truncated to microseconds (what the stores
//! keep), shas lower-cased.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;

use devopstrack_proto::metrics::v1 as pb;

use crate::app::{DoraAnswer, MAX_EVENTS_PER_CALL, OverviewAnswer, SeriesAnswer};
use crate::domain::dora::{DoraMetrics, Level};
use crate::domain::series::{Bucket, Measure};
use crate::domain::{Change, Deployment, DeploymentStatus, Event, Incident, JobRun, JobRunStatus, Source, validate};
use crate::error::Error;

const ID_MAX: usize = 128;
const NAME_MAX: usize = 200;
const TITLE_MAX: usize = 500;
const URL_MAX: usize = 2_048;

/// Checks one field: `check` answers the problem, this prefixes the path.
fn field(path: &str, name: &str, result: Result<(), String>) -> Result<(), Error> {
    result.map_err(|problem| Error::invalid(&format!("{path}.{name}"), problem))
}

pub fn time(path: &str, ts: Option<&Timestamp>) -> Result<Option<DateTime<Utc>>, Error> {
    let Some(ts) = ts else { return Ok(None) };
    let nanos = u32::try_from(ts.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(|| Error::invalid(path, "nanos must be between 0 and 999999999"))?;
    DateTime::from_timestamp(ts.seconds, nanos - nanos % 1_000)
        .map(Some)
        .ok_or_else(|| Error::invalid(path, "is not a representable time"))
}

/// A time an event must carry, checked for plausibility.
fn event_time(path: &str, name: &str, ts: Option<&Timestamp>, now: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
    let full = format!("{path}.{name}");
    let at = time(&full, ts)?.ok_or_else(|| Error::invalid(&full, "is required"))?;
    field(path, name, validate::time(at, now))?;
    Ok(at)
}

fn optional_event_time(
    path: &str,
    name: &str,
    ts: Option<&Timestamp>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Error> {
    ts.map(|t| event_time(path, name, Some(t), now)).transpose()
}

fn source(path: &str, raw: i32) -> Result<Source, Error> {
    match pb::Source::try_from(raw) {
        Ok(pb::Source::Unspecified | pb::Source::Devopstrack) => Ok(Source::DevOpsTrack),
        Ok(pb::Source::Github) => Ok(Source::Github),
        Err(_) => Err(Error::invalid(&format!("{path}.source"), "unknown value")),
    }
}

fn check_count(list: &str, n: usize) -> Result<(), Error> {
    if n > MAX_EVENTS_PER_CALL {
        return Err(Error::invalid(
            list,
            format!("at most {MAX_EVENTS_PER_CALL} per call, got {n}"),
        ));
    }
    Ok(())
}

/// The checks every kind shares: event id, project, environment.
fn common(path: &str, event_id: &str, project: &str, environment: &str, env_optional: bool) -> Result<(), Error> {
    field(path, "event_id", validate::id(event_id, ID_MAX))?;
    field(path, "project", validate::project(project))?;
    field(path, "environment", validate::environment(environment, env_optional))
}

pub fn job_runs(runs: Vec<pb::JobRun>, now: DateTime<Utc>) -> Result<Vec<Event>, Error> {
    check_count("runs", runs.len())?;
    runs.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let path = format!("runs[{i}]");
            common(&path, &r.event_id, &r.project, &r.environment, true)?;
            field(&path, "pipeline_id", validate::text(&r.pipeline_id, ID_MAX))?;
            field(&path, "job_id", validate::text(&r.job_id, ID_MAX))?;
            field(&path, "job_name", validate::text(&r.job_name, NAME_MAX))?;
            let status = match pb::JobRunStatus::try_from(r.status) {
                Ok(pb::JobRunStatus::Succeeded) => JobRunStatus::Succeeded,
                Ok(pb::JobRunStatus::Failed) => JobRunStatus::Failed,
                Ok(pb::JobRunStatus::Cancelled) => JobRunStatus::Cancelled,
                Ok(pb::JobRunStatus::TimedOut) => JobRunStatus::TimedOut,
                Ok(pb::JobRunStatus::Unspecified) | Err(_) => {
                    return Err(Error::invalid(
                        &format!("{path}.status"),
                        "must be succeeded, failed, cancelled or timed_out",
                    ));
                }
            };
            let attempt = match r.attempt {
                0 => 1,
                1..=10_000 => r.attempt,
                _ => return Err(Error::invalid(&format!("{path}.attempt"), "must be at most 10000")),
            };
            let queued_at = optional_event_time(&path, "queued_at", r.queued_at.as_ref(), now)?;
            let started_at = event_time(&path, "started_at", r.started_at.as_ref(), now)?;
            let finished_at = event_time(&path, "finished_at", r.finished_at.as_ref(), now)?;
            if let Some(q) = queued_at {
                field(&path, "started_at", validate::not_before(started_at, q, "queued_at"))?;
            }
            field(
                &path,
                "finished_at",
                validate::not_before(finished_at, started_at, "started_at"),
            )?;
            Ok(Event::JobRun(JobRun {
                event_id: r.event_id,
                project: r.project,
                environment: r.environment,
                pipeline_id: r.pipeline_id,
                job_id: r.job_id,
                job_name: r.job_name,
                status,
                source: source(&path, r.source)?,
                attempt,
                queued_at,
                started_at,
                finished_at,
            }))
        })
        .collect()
}

pub fn deployments(deployments: Vec<pb::Deployment>, now: DateTime<Utc>) -> Result<Vec<Event>, Error> {
    check_count("deployments", deployments.len())?;
    deployments
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let path = format!("deployments[{i}]");
            common(&path, &d.event_id, &d.project, &d.environment, false)?;
            let status = match pb::DeploymentStatus::try_from(d.status) {
                Ok(pb::DeploymentStatus::Succeeded) => DeploymentStatus::Succeeded,
                Ok(pb::DeploymentStatus::Failed) => DeploymentStatus::Failed,
                Ok(pb::DeploymentStatus::RolledBack) => DeploymentStatus::RolledBack,
                Ok(pb::DeploymentStatus::Unspecified) | Err(_) => {
                    return Err(Error::invalid(
                        &format!("{path}.status"),
                        "must be succeeded, failed or rolled_back",
                    ));
                }
            };
            field(&path, "version", validate::text(&d.version, ID_MAX))?;
            let commit_sha = d.commit_sha.to_ascii_lowercase();
            field(&path, "commit_sha", validate::sha(&commit_sha, true))?;
            field(&path, "pipeline_id", validate::text(&d.pipeline_id, ID_MAX))?;
            let commit_time = optional_event_time(&path, "commit_time", d.commit_time.as_ref(), now)?;
            let started_at = optional_event_time(&path, "started_at", d.started_at.as_ref(), now)?;
            let finished_at = event_time(&path, "finished_at", d.finished_at.as_ref(), now)?;
            if let Some(s) = started_at {
                field(&path, "finished_at", validate::not_before(finished_at, s, "started_at"))?;
            }
            Ok(Event::Deployment(Deployment {
                event_id: d.event_id,
                project: d.project,
                environment: d.environment,
                status,
                version: d.version,
                commit_sha,
                commit_time,
                started_at,
                finished_at,
                pipeline_id: d.pipeline_id,
                source: source(&path, d.source)?,
                rollback: d.rollback,
            }))
        })
        .collect()
}

pub fn changes(changes: Vec<pb::Change>, now: DateTime<Utc>) -> Result<Vec<Event>, Error> {
    check_count("changes", changes.len())?;
    changes
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let path = format!("changes[{i}]");
            common(&path, &c.event_id, &c.project, "", true)?;
            let commit_sha = c.commit_sha.to_ascii_lowercase();
            field(&path, "commit_sha", validate::sha(&commit_sha, false))?;
            field(&path, "repository", validate::text(&c.repository, URL_MAX))?;
            field(&path, "branch", validate::text(&c.branch, NAME_MAX))?;
            Ok(Event::Change(Change {
                event_id: c.event_id,
                project: c.project,
                commit_sha,
                commit_time: event_time(&path, "commit_time", c.commit_time.as_ref(), now)?,
                repository: c.repository,
                branch: c.branch,
            }))
        })
        .collect()
}

pub fn incidents(incidents: Vec<pb::Incident>, now: DateTime<Utc>) -> Result<Vec<Event>, Error> {
    check_count("incidents", incidents.len())?;
    incidents
        .into_iter()
        .enumerate()
        .map(|(i, x)| {
            let path = format!("incidents[{i}]");
            common(&path, &x.event_id, &x.project, &x.environment, true)?;
            field(&path, "incident_id", validate::id(&x.incident_id, 256))?;
            field(&path, "title", validate::text(&x.title, TITLE_MAX))?;
            field(&path, "url", validate::text(&x.url, URL_MAX))?;
            let opened_at = event_time(&path, "opened_at", x.opened_at.as_ref(), now)?;
            let resolved_at = optional_event_time(&path, "resolved_at", x.resolved_at.as_ref(), now)?;
            if let Some(r) = resolved_at {
                field(&path, "resolved_at", validate::not_before(r, opened_at, "opened_at"))?;
            }
            Ok(Event::Incident(Incident {
                event_id: x.event_id,
                project: x.project,
                environment: x.environment,
                incident_id: x.incident_id,
                title: x.title,
                opened_at,
                resolved_at,
                url: x.url,
            }))
        })
        .collect()
}

pub fn measure(raw: i32) -> Result<Measure, Error> {
    match pb::Measure::try_from(raw) {
        Ok(pb::Measure::JobRuns) => Ok(Measure::JobRuns),
        Ok(pb::Measure::JobDuration) => Ok(Measure::JobDuration),
        Ok(pb::Measure::Deployments) => Ok(Measure::Deployments),
        Ok(pb::Measure::Unspecified) | Err(_) => Err(Error::invalid(
            "measure",
            "must be job_runs, job_duration or deployments",
        )),
    }
}

fn measure_out(m: Measure) -> pb::Measure {
    match m {
        Measure::JobRuns => pb::Measure::JobRuns,
        Measure::JobDuration => pb::Measure::JobDuration,
        Measure::Deployments => pb::Measure::Deployments,
    }
}

pub fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn level(level: Option<Level>) -> i32 {
    let out = match level {
        None => pb::PerformanceLevel::Unspecified,
        Some(Level::Elite) => pb::PerformanceLevel::Elite,
        Some(Level::High) => pb::PerformanceLevel::High,
        Some(Level::Medium) => pb::PerformanceLevel::Medium,
        Some(Level::Low) => pb::PerformanceLevel::Low,
    };
    out.into()
}

fn metrics(m: DoraMetrics) -> pb::DoraMetrics {
    let (df, lt, cfr, rt, rw) = (
        m.deployment_frequency,
        m.lead_time,
        m.change_failure_rate,
        m.recovery_time,
        m.rework_rate,
    );
    pb::DoraMetrics {
        deployment_frequency: Some(pb::DeploymentFrequency {
            deployments: df.deployments,
            per_day: df.per_day,
            per_week: df.per_week,
            median_deploy_days_per_week: df.median_deploy_days_per_week,
            level: level(df.level),
        }),
        lead_time: Some(pb::LeadTime {
            changes: lt.changes,
            median_seconds: lt.median_seconds,
            p90_seconds: lt.p90_seconds,
            level: level(lt.level),
        }),
        change_failure_rate: Some(pb::ChangeFailureRate {
            deployments: cfr.deployments,
            failures: cfr.failures,
            rate: cfr.rate,
            level: level(cfr.level),
        }),
        recovery_time: Some(pb::RecoveryTime {
            recoveries: rt.recoveries,
            median_seconds: rt.median_seconds,
            level: level(rt.level),
        }),
        rework_rate: Some(pb::ReworkRate {
            deployments: rw.deployments,
            rework_deployments: rw.rework_deployments,
            rate: rw.rate,
            rework_window_hours: rw.rework_window_hours,
            level: level(rw.level),
        }),
        overall_level: level(m.overall_level),
    }
}

pub fn dora_report(a: DoraAnswer) -> pb::DoraReport {
    pb::DoraReport {
        project: a.project.unwrap_or_default(),
        environment: a.environment.unwrap_or_default(),
        from: Some(timestamp(a.from)),
        to: Some(timestamp(a.to)),
        overall: Some(metrics(a.report.overall)),
        breakdown: a
            .report
            .breakdown
            .into_iter()
            .map(|(project, environment, m)| pb::DoraBreakdown {
                project,
                environment,
                metrics: Some(metrics(m)),
            })
            .collect(),
    }
}

fn bucket(b: Bucket) -> pb::Bucket {
    pb::Bucket {
        start: Some(timestamp(b.start)),
        values: b.values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    }
}

pub fn series(a: SeriesAnswer) -> pb::QuerySeriesResponse {
    pb::QuerySeriesResponse {
        measure: measure_out(a.measure).into(),
        step_seconds: a.window.step_seconds,
        from: Some(timestamp(a.window.from)),
        to: Some(timestamp(a.window.to)),
        buckets: a.buckets.into_iter().map(bucket).collect(),
    }
}

pub fn overview(a: OverviewAnswer) -> pb::Overview {
    pb::Overview {
        from: Some(timestamp(a.from)),
        to: Some(timestamp(a.to)),
        environments: a
            .environments
            .into_iter()
            .map(|(environment, m)| pb::EnvironmentDora {
                environment,
                metrics: Some(metrics(m)),
            })
            .collect(),
        deployments: Some(series(a.deployments)),
        job_runs: Some(series(a.job_runs)),
        job_runs_24h: a.job_runs_24h,
        failed_job_runs_24h: a.failed_job_runs_24h,
        job_success_rate_24h: a.job_success_rate_24h,
    }
}
