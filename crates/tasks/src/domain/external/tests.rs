//! Unit tests of tracked runs. The helpers that build deliveries and compare runs live here; the cases live in
//! `merging` and `parsing`.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;
use crate::domain::{Outcome, Trigger};

mod merging;
mod parsing;

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap() + TimeDelta::seconds(s)
}

fn meta() -> PipelineMeta {
    PipelineMeta {
        project: "api".into(),
        target: None,
        trigger: Trigger::Webhook,
        triggered_by: "github:octocat".into(),
        idempotency_key: Some("gh:42".into()),
        source: Source::Github {
            external_url: String::new(),
            external_id: "42".into(),
        },
        commit: None,
    }
}

fn job(id: &str, name: &str, status: JobStatus, started: Option<i64>, finished: Option<i64>) -> ExternalJobInput {
    ExternalJobInput {
        external_id: id.into(),
        name: name.into(),
        status: Some(status),
        started_at: started.map(t),
        finished_at: finished.map(t),
        external_url: format!("https://github.com/o/r/actions/runs/42/job/{id}"),
    }
}

fn run(status: Option<PipelineStatus>, jobs: Vec<ExternalJobInput>) -> ExternalRunInput {
    ExternalRunInput {
        external_id: "42".into(),
        external_url: "https://github.com/o/r/actions/runs/42".into(),
        name: "CI / Build & Test".into(),
        status,
        created_at: Some(t(0)),
        jobs,
        ..ExternalRunInput::default()
    }
}

fn parsed(raw: &ExternalRunInput) -> ExternalRun {
    ExternalRun::parse(raw).unwrap()
}

/// Applies the deliveries in order: the first creates the run. Returns the run and every effect.
fn apply(deliveries: &[&ExternalRun]) -> (Pipeline, Vec<Effect>) {
    let now = t(1000);
    let (mut p, mut fx) = Pipeline::track(deliveries[0], meta(), now).unwrap();
    for d in &deliveries[1..] {
        fx.extend(p.merge_external(d, now).unwrap());
    }
    (p, fx)
}

/// What a run looks like, without the ids DevOpsTrack generated.
fn shape(p: &Pipeline) -> String {
    let jobs: Vec<String> = p.stages[0]
        .jobs
        .iter()
        .map(|j| {
            format!(
                "{}={:?}/{:?}/{:?}/{:?}/{:?}",
                j.spec.name, j.status, j.started_at, j.finished_at, j.exit_reason, j.spec.executor
            )
        })
        .collect();
    format!(
        "{} {:?} {:?} {:?} {:?} {:?} {jobs:#?}",
        p.stages[0].name, p.status, p.created_at, p.started_at, p.finished_at, p.meta
    )
}

fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            out.push(tail);
        }
    }
    out
}
