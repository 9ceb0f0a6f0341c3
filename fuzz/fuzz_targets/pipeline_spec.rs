//! A pipeline spec along its whole path: the REST body (`CreatePipelineBody`), the gateway's CreatePipeline request,
//! tasks' conversion of its stages (`convert::pipeline_input`) and the domain's validation (`PipelineSpec::parse`).
//!
//! Invariants: every refusal is a 400 / INVALID_ARGUMENT naming a field; params the gateway converted are never
//! refused by tasks for their shape (depth, numbers); an accepted spec keeps every limit the domain documents (stage
//! and job counts, distinct names, timeout and retry ranges, no external jobs), and its stored params read back as
//! the same executor.
#![no_main]

use std::collections::HashSet;

use chrono::{TimeZone, Utc};
use devopstrack_gateway::error::ApiError;
use devopstrack_gateway::fuzzing::CreatePipelineBody;
use devopstrack_tasks::convert::pipeline_input;
use devopstrack_tasks::domain::PipelineSpec;
use devopstrack_tasks::domain::spec::{
    ExecutorKind, ExecutorSpec, MAX_ATTEMPTS, MAX_JOBS, MAX_JOBS_PER_STAGE, MAX_STAGES, MAX_TIMEOUT_S,
};
use devopstrack_tasks::error::Error;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<CreatePipelineBody>(data) else {
        return;
    };
    // A fixed clock keeps a crash reproducible (it bounds `commit.time`).
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let request = match body.into_proto(now) {
        Ok(request) => request,
        Err(ApiError::InvalidInput { message, .. }) => return field_named(&message),
        Err(other) => panic!("the gateway must answer 400, got {other:?}"),
    };
    let input = match pipeline_input(request.stages) {
        Ok(input) => input,
        Err(Error::InvalidInput(message)) => {
            assert!(
                !message.contains(".params:"),
                "params the gateway converted were refused by tasks: {message}"
            );
            return field_named(&message);
        }
        Err(other) => panic!("tasks must answer INVALID_ARGUMENT, got {other:?}"),
    };
    let spec = match PipelineSpec::parse(&input) {
        Ok(spec) => spec,
        Err(e) => return field_named(&e.to_string()),
    };
    check(&spec);
});

fn field_named(message: &str) {
    let (field, problem) = message.split_once(": ").expect("`<field>: <problem>`");
    assert!(!field.is_empty() && !problem.is_empty(), "{message}");
}

fn check(spec: &PipelineSpec) {
    let stages = spec.stages();
    assert!((1..=MAX_STAGES).contains(&stages.len()));
    let names: HashSet<_> = stages.iter().map(|s| &s.name).collect();
    assert_eq!(names.len(), stages.len(), "stage names are distinct");
    let mut total = 0;
    for stage in stages {
        assert!((1..=MAX_JOBS_PER_STAGE).contains(&stage.jobs.len()));
        total += stage.jobs.len();
        let names: HashSet<_> = stage.jobs.iter().map(|j| &j.name).collect();
        assert_eq!(names.len(), stage.jobs.len(), "job names are distinct in a stage");
        for job in &stage.jobs {
            assert!((1..=MAX_TIMEOUT_S).contains(&job.timeout_s));
            let retry = job.retry;
            assert!((1..=MAX_ATTEMPTS).contains(&retry.max_attempts()));
            assert!((100..=600_000).contains(&retry.initial_backoff_ms()));
            assert!(retry.max_backoff_ms() >= retry.initial_backoff_ms());
            for failed in [0, 1, 2, retry.max_attempts(), u32::MAX] {
                assert!(retry.backoff(failed).num_milliseconds() >= 0);
            }
            let kind = job.executor.kind();
            assert_ne!(kind, ExecutorKind::External, "external jobs only come from GitHub");
            let again = ExecutorSpec::parse("job", kind.as_str(), &job.executor.params_json());
            assert_eq!(again.as_ref(), Ok(&job.executor), "stored params read back the same");
        }
    }
    assert!(total <= MAX_JOBS);
}
