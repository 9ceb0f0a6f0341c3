//! Pipelines and jobs through the edge, against the real auth, projects and tasks services: create → get → list, the
//! job actions (cancel, retry, approve, reject, log), who may do what, and hostile input (always a 4xx naming the
//! field, never a 500). The helpers are here; the tests in `lifecycle`, `actions`, `permissions` and
//! `hostile_input`.

mod actions;
mod definitions;
mod hostile_input;
mod lifecycle;
mod permissions;
mod run_numbers;

use std::time::Duration;

use serde_json::Value;

use crate::helpers::pipeline_jobs;

const WITHIN: Duration = Duration::from_secs(20);

fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |p| p["status"] == status
}

/// The first job of `pipeline` named `name`.
fn job<'a>(pipeline: &'a Value, name: &str) -> &'a Value {
    pipeline_jobs(pipeline)
        .into_iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job {name} in {pipeline}"))
}
