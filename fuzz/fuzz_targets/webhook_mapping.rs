//! GitHub webhook payloads → the calls the gateway makes downstream (`webhooks::mapping::map`).
//!
//! Input: the first byte picks the `X-GitHub-Event`, the rest is the body. Invariants: a bad body is a 400
//! (`InvalidInput`), never another error; ping and unknown events are ignored whatever the body; every call made
//! names the project it was delivered for, carries ids and names within the lengths the services accept, valid
//! timestamps, and a job run that does not finish before it starts.
#![no_main]

use devopstrack_gateway::error::ApiError;
use devopstrack_gateway::webhooks::mapping::{Action, GithubEvent, Mapped, map};
use devopstrack_platform::commit::CommitSha;
use libfuzzer_sys::fuzz_target;
use prost_types::Timestamp;

const PROJECT: &str = "api";
const EVENTS: [&str; 7] = [
    "workflow_run",
    "workflow_job",
    "deployment_status",
    "push",
    "issues",
    "ping",
    "something_else",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let event = GithubEvent::parse(EVENTS[usize::from(pick) % EVENTS.len()]);
    match map(event, PROJECT, body) {
        Err(ApiError::InvalidInput { code, message }) => {
            assert!(matches!(code, "invalid_json" | "invalid_argument"), "code {code}");
            assert!(!message.is_empty());
        }
        Err(other) => panic!("a bad payload must be a 400, got {other:?}"),
        Ok(Mapped::Ignored(reason)) => assert!(!reason.is_empty()),
        Ok(Mapped::Actions(actions)) => {
            assert!(
                !matches!(event, GithubEvent::Ping | GithubEvent::Other),
                "{event:?} must be ignored"
            );
            assert!(!actions.is_empty(), "Actions is never empty");
            actions.iter().for_each(check);
        }
    }
});

fn check(action: &Action) {
    match action {
        Action::TrackRun(run) => {
            assert_eq!(run.project, PROJECT);
            assert!(run.external_id.parse::<u64>().is_ok(), "{}", run.external_id);
            assert!(!run.name.trim().is_empty() && chars(&run.name) <= 200, "{:?}", run.name);
            if run.commit_sha.is_empty() {
                assert!(run.commit_time.is_none(), "a commit time needs a sha");
            } else {
                assert!(CommitSha::parse(&run.commit_sha).is_ok(), "{:?}", run.commit_sha);
            }
            for ts in [&run.created_at, &run.started_at, &run.finished_at, &run.commit_time] {
                valid(ts);
            }
            for job in &run.jobs {
                assert!(job.external_id.parse::<u64>().is_ok());
                assert!(chars(&job.name) <= 200);
                valid(&job.started_at);
                valid(&job.finished_at);
            }
        }
        Action::JobRun(run) => {
            assert_eq!(run.project, PROJECT);
            id(&run.event_id);
            assert!(run.attempt >= 1);
            assert!(chars(&run.job_name) <= 200);
            valid(&run.queued_at);
            let (started, finished) = (seconds(&run.started_at), seconds(&run.finished_at));
            assert!(finished >= started, "a job run finishes after it starts");
        }
        Action::MetricsDeployment(d) => {
            assert_eq!(d.project, PROJECT);
            id(&d.event_id);
            assert!(chars(&d.version) <= 64);
            assert_eq!(d.environment, d.environment.to_lowercase());
            assert!(seconds(&d.finished_at) >= seconds(&d.started_at));
        }
        Action::ProjectDeployment(d) => {
            assert_eq!(d.project_id, PROJECT);
            id(&d.id);
            assert!(chars(&d.version) <= 64);
            assert!(!d.triggered_by.is_empty());
            valid(&d.started_at);
            valid(&d.finished_at);
        }
        Action::Changes(changes) => {
            assert!(!changes.is_empty());
            for c in changes {
                assert_eq!(c.project, PROJECT);
                id(&c.event_id);
                valid(&c.commit_time);
            }
        }
        Action::Incident(i) => {
            assert_eq!(i.project, PROJECT);
            id(&i.event_id);
            assert!(chars(&i.incident_id) <= 200 && chars(&i.title) <= 200);
            valid(&i.opened_at);
            valid(&i.resolved_at);
        }
        Action::FinishDelivery(_) => panic!("map never finishes a delivery"),
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Event ids are keys downstream: at most 128 bytes.
fn id(id: &str) {
    assert!(!id.is_empty() && id.len() <= 128, "{} bytes: {id:?}", id.len());
}

fn valid(ts: &Option<Timestamp>) {
    if let Some(ts) = ts {
        assert!((0..1_000_000_000).contains(&ts.nanos), "{ts:?}");
    }
}

fn seconds(ts: &Option<Timestamp>) -> (i64, i32) {
    valid(ts);
    let ts = ts.as_ref().expect("a timestamp");
    (ts.seconds, ts.nanos)
}
