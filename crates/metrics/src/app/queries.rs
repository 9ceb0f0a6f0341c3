//! The read use-cases: GetDora, QuerySeries and GetOverview. Each reads only the measurements it needs over the
//! ranges [`DoraWindow`] asks for (the window plus its bounded lookback), concurrently, and computes with
//! [`crate::domain`]. Nothing is cached: every answer reflects the store as it is.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use devopstrack_platform::auth::Principal;

use super::MetricsApp;
use crate::domain::dora::{self, DoraMetrics, DoraReport, DoraWindow};
use crate::domain::series::{self, Bucket, Measure, SeriesWindow, check_window};
use crate::domain::{Change, Deployment, Event, Incident, JobRun, JobRunStatus, Measurement, validate};
use crate::error::Error;
use crate::store::ReadQuery;

const DEFAULT_DORA_WINDOW: TimeDelta = TimeDelta::days(30);
const DEFAULT_SERIES_WINDOW: TimeDelta = TimeDelta::hours(24);
const DAY_SECONDS: u32 = 86_400;

/// GetDora's filter; `None` means every project / environment, and the 30 days ending now.
#[derive(Debug, Clone, Default)]
pub struct DoraQuery {
    pub project: Option<String>,
    pub environment: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct DoraAnswer {
    pub project: Option<String>,
    pub environment: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub report: DoraReport,
}

#[derive(Debug, Clone)]
pub struct SeriesQuery {
    pub measure: Measure,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// 0: automatic.
    pub step_seconds: u32,
}

#[derive(Debug, Clone)]
pub struct SeriesAnswer {
    pub measure: Measure,
    pub window: SeriesWindow,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone)]
pub struct OverviewAnswer {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub environments: Vec<(String, DoraMetrics)>,
    pub deployments: SeriesAnswer,
    pub job_runs: SeriesAnswer,
    pub job_runs_24h: u64,
    /// Failed or timed out.
    pub failed_job_runs_24h: u64,
    /// Succeeded ÷ (succeeded + failed + timed out); cancelled runs count for neither.
    pub job_success_rate_24h: Option<f64>,
}

fn check_filters(project: Option<&str>, environment: Option<&str>) -> Result<(), Error> {
    if let Some(p) = project {
        validate::project(p).map_err(|e| Error::invalid("project", e))?;
    }
    if let Some(e) = environment {
        validate::environment(e, false).map_err(|e| Error::invalid("environment", e))?;
    }
    Ok(())
}

/// `[from, to)` with defaults: `to` now, `from` `default` before `to`; checked against the limits.
fn resolve_window(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    default: TimeDelta,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Error> {
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to - default);
    check_window(from, to).map_err(|e| Error::invalid(e.field, e.problem))?;
    Ok((from, to))
}

fn window_error(e: series::WindowError) -> Error {
    Error::invalid(e.field, e.problem)
}

/// Whole events, or only what DORA uses.
#[derive(Debug, Clone, Copy)]
enum Read {
    Whole,
    Dora,
}

macro_rules! unwrap_kind {
    ($events:expr, $variant:ident) => {
        $events
            .into_iter()
            .filter_map(|e| match e {
                Event::$variant(x) => Some(x),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
}

impl MetricsApp {
    /// Reads whole events, or (`Read::Dora`) only the fields DORA uses ([`crate::store::MetricsStore::read_dora`]).
    async fn read_as(
        &self,
        how: Read,
        measurement: Measurement,
        project: Option<&str>,
        environment: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Event>, Error> {
        let query = ReadQuery {
            measurement,
            project: project.map(str::to_owned),
            environment: environment.map(str::to_owned),
            from,
            to,
        };
        let read = match how {
            Read::Whole => self.store.read(&query).await,
            Read::Dora => self.store.read_dora(&query).await,
        };
        read.map_err(|e| super::store_error(format!("reading {} events", measurement.as_str()), Arc::new(e)))
    }

    /// The DORA facts of `window` for the filter: deployments (and changes) with their lookback, incidents of the
    /// environment asked for and those without one. The deployments returned carry only DORA's fields (enough for
    /// the deployment series: finish time and status).
    async fn dora_facts(
        &self,
        window: DoraWindow,
        project: Option<&str>,
        environment: Option<&str>,
    ) -> Result<(dora::DoraFacts, Vec<Deployment>), Error> {
        let (deployments, changes, incidents) = tokio::try_join!(
            self.read_as(
                Read::Dora,
                Measurement::Deployment,
                project,
                environment,
                window.history_from(),
                window.to
            ),
            self.read_as(
                Read::Dora,
                Measurement::Change,
                project,
                None,
                window.history_from(),
                window.to
            ),
            self.read_as(
                Read::Dora,
                Measurement::Incident,
                project,
                None,
                window.incidents_from(),
                window.to
            ),
        )?;
        let deployments: Vec<Deployment> = unwrap_kind!(deployments, Deployment);
        let changes: Vec<Change> = unwrap_kind!(changes, Change);
        let mut incidents: Vec<Incident> = unwrap_kind!(incidents, Incident);
        if let Some(env) = environment {
            incidents.retain(|i| i.environment.is_empty() || i.environment == env);
        }
        let facts = dora::compute(window, &deployments, &changes, &incidents);
        Ok((facts, deployments))
    }

    #[tracing::instrument(skip_all, fields(project = ?query.project, environment = ?query.environment))]
    pub async fn dora(&self, principal: &Principal, query: DoraQuery) -> Result<DoraAnswer, Error> {
        Self::require_reader(principal)?;
        check_filters(query.project.as_deref(), query.environment.as_deref())?;
        let (from, to) = resolve_window(query.from, query.to, self.now(), DEFAULT_DORA_WINDOW)?;
        let window = DoraWindow {
            from,
            to,
            rework_window: self.rework_window,
        };
        let (facts, _) = self
            .dora_facts(window, query.project.as_deref(), query.environment.as_deref())
            .await?;
        Ok(DoraAnswer {
            project: query.project,
            environment: query.environment,
            from,
            to,
            report: facts.report(),
        })
    }

    #[tracing::instrument(skip_all, fields(measure = ?query.measure, project = ?query.project))]
    pub async fn series(&self, principal: &Principal, query: SeriesQuery) -> Result<SeriesAnswer, Error> {
        Self::require_reader(principal)?;
        check_filters(query.project.as_deref(), query.environment.as_deref())?;
        let (from, to) = resolve_window(query.from, query.to, self.now(), DEFAULT_SERIES_WINDOW)?;
        let window = SeriesWindow::new(from, to, query.step_seconds).map_err(window_error)?;
        let (project, env) = (query.project.as_deref(), query.environment.as_deref());
        let buckets = match query.measure {
            Measure::JobRuns | Measure::JobDuration => {
                let runs: Vec<JobRun> = unwrap_kind!(
                    self.read_as(Read::Whole, Measurement::JobRun, project, env, from, to)
                        .await?,
                    JobRun
                );
                if query.measure == Measure::JobRuns {
                    series::job_runs(&window, &runs)
                } else {
                    series::job_durations(&window, &runs)
                }
            }
            Measure::Deployments => {
                let deps: Vec<Deployment> = unwrap_kind!(
                    self.read_as(Read::Whole, Measurement::Deployment, project, env, from, to)
                        .await?,
                    Deployment
                );
                series::deployments(&window, &deps)
            }
        };
        Ok(SeriesAnswer {
            measure: query.measure,
            window,
            buckets,
        })
    }

    /// The dashboard home: DORA per environment over the last `days` (0: 30), daily deployment and job-run series,
    /// and the last 24 hours of job runs.
    #[tracing::instrument(skip_all, fields(project = ?project, days))]
    pub async fn overview(
        &self,
        principal: &Principal,
        project: Option<String>,
        days: u32,
    ) -> Result<OverviewAnswer, Error> {
        Self::require_reader(principal)?;
        check_filters(project.as_deref(), None)?;
        let days = match days {
            0 => 30,
            1..=90 => days,
            _ => return Err(Error::invalid("days", "must be between 1 and 90")),
        };
        let to = self.now();
        let from = to - TimeDelta::days(i64::from(days));
        let window = DoraWindow {
            from,
            to,
            rework_window: self.rework_window,
        };
        let p = project.as_deref();
        let (dora, runs) = tokio::try_join!(
            self.dora_facts(window, p, None),
            self.read_as(Read::Whole, Measurement::JobRun, p, None, from, to),
        )?;
        let (facts, deployments) = dora;
        let runs: Vec<JobRun> = unwrap_kind!(runs, JobRun);
        let daily = SeriesWindow::new(from, to, DAY_SECONDS).map_err(window_error)?;
        let since = to - TimeDelta::hours(24);
        let last_day = runs.iter().filter(|r| r.finished_at >= since);
        let (mut total, mut failed, mut succeeded) = (0u64, 0u64, 0u64);
        for run in last_day {
            total += 1;
            match run.status {
                JobRunStatus::Succeeded => succeeded += 1,
                JobRunStatus::Failed | JobRunStatus::TimedOut => failed += 1,
                JobRunStatus::Cancelled => {}
            }
        }
        let decided = succeeded + failed;
        Ok(OverviewAnswer {
            from,
            to,
            environments: facts.by_environment(),
            deployments: SeriesAnswer {
                measure: Measure::Deployments,
                window: daily,
                buckets: series::deployments(&daily, &deployments),
            },
            job_runs: SeriesAnswer {
                measure: Measure::JobRuns,
                window: daily,
                buckets: series::job_runs(&daily, &runs),
            },
            job_runs_24h: total,
            failed_job_runs_24h: failed,
            job_success_rate_24h: (decided > 0).then(|| succeeded as f64 / decided as f64),
        })
    }
}
