//! The mapping of GitHub's payloads (the integration tests' fixtures) to the calls made downstream, for the calls whose
//! effect the integration tests cannot see (the metrics service's).

use devopstrack_proto::metrics::v1 as metrics_pb;

use super::{Action, GithubEvent, Mapped, event_id, map};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/api/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn mapped(event: GithubEvent, file: &str) -> Vec<Action> {
    match map(event, "api", &fixture(file)).expect("a valid payload") {
        Mapped::Actions(actions) => actions,
        Mapped::Ignored(why) => panic!("{file} was ignored: {why}"),
    }
}

fn seconds(at: &Option<prost_types::Timestamp>) -> i64 {
    at.as_ref().expect("a timestamp").seconds
}

#[test]
fn a_push_to_the_default_branch_is_one_change_per_commit_in_utc() {
    let push = mapped(GithubEvent::Push, "push.default_branch.json");
    let [Action::Changes(changes)] = push.as_slice() else {
        panic!("one RecordChange");
    };
    let shas: Vec<_> = changes.iter().map(|c| c.commit_sha.as_str()).collect();
    assert_eq!(
        shas,
        [
            "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            "32c457ac10563a7d2913916625db5526cde7b771"
        ]
    );
    let first = &changes[0];
    assert_eq!(
        (first.project.as_str(), first.repository.as_str(), first.branch.as_str()),
        ("api", "Codertocat/Hello-World", "master")
    );
    assert_eq!(first.event_id, "gh-change:api:0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
    // 2019-05-15T15:20:30-07:00 and 2019-05-15T16:14:24+07:00.
    assert_eq!(seconds(&first.commit_time), 1_557_958_830);
    assert_eq!(seconds(&changes[1].commit_time), 1_557_911_664);
}

#[test]
fn an_issue_labelled_incident_opens_one_and_closing_it_resolves_it() {
    let labeled = mapped(GithubEvent::Issues, "issues.labeled.json");
    let [Action::Incident(open)] = labeled.as_slice() else {
        panic!("one RecordIncident");
    };
    assert_eq!(open.incident_id, "github:Codertocat/Hello-World#1");
    assert_eq!(open.event_id, "gh-incident-open:github:Codertocat/Hello-World#1");
    assert_eq!((open.resolved_at, seconds(&open.opened_at)), (None, 1_557_933_618));

    let mut closed: serde_json::Value = serde_json::from_slice(&fixture("issues.labeled.json")).expect("JSON");
    closed["action"] = "closed".into();
    closed["issue"]["closed_at"] = "2019-05-15T16:20:18Z".into();
    let body = serde_json::to_vec(&closed).expect("JSON");
    let Ok(Mapped::Actions(actions)) = map(GithubEvent::Issues, "api", &body) else {
        panic!("closing maps");
    };
    let [Action::Incident(resolved)] = actions.as_slice() else {
        panic!("one RecordIncident");
    };
    assert_eq!(resolved.incident_id, open.incident_id);
    assert_eq!(seconds(&resolved.resolved_at), 1_557_937_218);
    assert_ne!(resolved.event_id, open.event_id);
}

#[test]
fn a_successful_deployment_status_is_recorded_in_metrics_and_projects() {
    let actions = mapped(GithubEvent::DeploymentStatus, "deployment_status.success.json");
    let [Action::MetricsDeployment(metric), Action::ProjectDeployment(deployment)] = actions.as_slice() else {
        panic!("two calls: {actions:?}");
    };
    assert_eq!(metric.event_id, "gh-deploy-status:209916254");
    assert_eq!(metric.status, metrics_pb::DeploymentStatus::Succeeded as i32);
    assert_eq!(metric.source, metrics_pb::Source::Github as i32);
    assert_eq!(
        (metric.environment.as_str(), metric.version.as_str()),
        ("production", "master")
    );
    assert_eq!(deployment.id, metric.event_id);
    assert_eq!(deployment.triggered_by, "Codertocat");
}

#[test]
fn a_completed_job_is_also_a_job_run_with_stable_ids() {
    let actions = mapped(GithubEvent::WorkflowJob, "workflow_job.completed.json");
    let [Action::TrackRun(track), Action::JobRun(run)] = actions.as_slice() else {
        panic!("two calls: {actions:?}");
    };
    assert_eq!((track.external_id.as_str(), track.jobs.len()), ("2202229078", 1));
    assert_eq!(run.event_id, "gh-job:289782451:1");
    assert_eq!(run.status, metrics_pb::JobRunStatus::Failed as i32);
    assert_eq!(seconds(&run.finished_at) - seconds(&run.started_at), 198);
    let running = mapped(GithubEvent::WorkflowJob, "workflow_job.in_progress.json");
    assert_eq!(running.len(), 1, "a running job is no job run yet: {running:?}");
}

#[test]
fn states_and_pushes_that_record_nothing_are_ignored() {
    let mut pending: serde_json::Value =
        serde_json::from_slice(&fixture("deployment_status.success.json")).expect("JSON");
    pending["deployment_status"]["state"] = "in_progress".into();
    let mut tag: serde_json::Value = serde_json::from_slice(&fixture("push.default_branch.json")).expect("JSON");
    tag["ref"] = "refs/tags/v1.0.0".into();
    for (event, body) in [(GithubEvent::DeploymentStatus, pending), (GithubEvent::Push, tag)] {
        let body = serde_json::to_vec(&body).expect("JSON");
        assert!(matches!(map(event, "api", &body), Ok(Mapped::Ignored(_))), "{event:?}");
    }
}

#[test]
fn long_event_ids_are_hashed_to_fit() {
    assert_eq!(event_id("gh-change", "api:abc"), "gh-change:api:abc");
    let long = event_id(
        "gh-incident-open",
        &format!("github:{}/{}#1", "o".repeat(39), "r".repeat(100)),
    );
    assert!(
        long.len() <= 128 && long.starts_with("gh-incident-open:sha256:"),
        "{long}"
    );
    assert_eq!(
        long,
        event_id(
            "gh-incident-open",
            &format!("github:{}/{}#1", "o".repeat(39), "r".repeat(100))
        )
    );
}
