//! The mapping of GitHub's payloads (the integration tests' fixtures) to the calls made downstream, for the calls whose
//! effect the integration tests cannot see (the metrics service's).

use devopstrack_proto::metrics::v1 as metrics_pb;
use devopstrack_proto::tasks::v1 as tasks_pb;

use super::{Action, GithubEvent, Mapped, event_id, map};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
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

/// The `workflow_run.completed.json` fixture with `edit` applied, mapped: its one TrackExternalRun.
fn tracked_run(edit: impl FnOnce(&mut serde_json::Value)) -> tasks_pb::TrackExternalRunRequest {
    let mut run: serde_json::Value = serde_json::from_slice(&fixture("workflow_run.completed.json")).expect("JSON");
    edit(&mut run);
    let body = serde_json::to_vec(&run).expect("JSON");
    match map(GithubEvent::WorkflowRun, "api", &body) {
        Ok(Mapped::Actions(actions)) => match <[Action; 1]>::try_from(actions) {
            Ok([Action::TrackRun(track)]) => track,
            other => panic!("one TrackExternalRun: {other:?}"),
        },
        other => panic!("the run maps: {other:?}"),
    }
}

#[test]
fn a_workflow_run_carries_its_head_commit_and_its_time() {
    let track = tracked_run(|_| {});

    assert_eq!(track.commit_sha, "3484a3fb816e0859fd6e1cea078d76385ff50625");
    // head_commit.timestamp 2020-10-05T16:32:07Z.
    assert_eq!(seconds(&track.commit_time), 1_601_915_527);
}

#[test]
fn a_commit_time_given_with_an_offset_is_the_same_instant() {
    let track = tracked_run(|run| run["workflow_run"]["head_commit"]["timestamp"] = "2020-10-05T18:32:07+02:00".into());

    assert_eq!(seconds(&track.commit_time), 1_601_915_527);
}

#[test]
fn a_run_without_a_head_commit_has_its_sha_and_no_time() {
    for edit in [
        |run: &mut serde_json::Value| run["workflow_run"]["head_commit"] = serde_json::Value::Null,
        |run: &mut serde_json::Value| {
            run["workflow_run"]
                .as_object_mut()
                .expect("an object")
                .remove("head_commit");
        },
        |run: &mut serde_json::Value| {
            run["workflow_run"]["head_commit"]
                .as_object_mut()
                .expect("an object")
                .remove("timestamp");
        },
    ] {
        let track = tracked_run(edit);
        assert_eq!(
            (track.commit_sha.as_str(), track.commit_time),
            ("3484a3fb816e0859fd6e1cea078d76385ff50625", None)
        );
    }
}

#[test]
fn a_commit_tasks_would_refuse_is_left_out_and_the_run_still_tracked() {
    let future = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
    let cases: [(Edit, &str, bool); 4] = [
        (
            Box::new(move |run| run["workflow_run"]["head_commit"]["timestamp"] = future.into()),
            "a committer's clock an hour fast: the sha stays, the time goes",
            true,
        ),
        (
            Box::new(|run| run["workflow_run"]["head_commit"]["timestamp"] = "1970-01-01T00:00:00Z".into()),
            "a commit dated 1970: the sha stays, the time goes",
            true,
        ),
        (
            Box::new(|run| run["workflow_run"]["head_sha"] = "not-a-sha".into()),
            "a sha that is no sha: both go",
            false,
        ),
        (
            Box::new(|run| run["workflow_run"]["head_sha"] = serde_json::Value::Null),
            "no head_sha: both go, though head_commit has a time",
            false,
        ),
    ];
    for (edit, case, keeps_sha) in cases {
        let track = tracked_run(edit);
        assert_eq!(track.external_id, "289782451", "{case}");
        assert_eq!(track.commit_time, None, "{case}");
        assert_eq!(
            !track.commit_sha.is_empty(),
            keeps_sha,
            "{case}: {:?}",
            track.commit_sha
        );
    }
}

#[test]
fn a_malformed_commit_time_is_a_bad_payload_naming_the_field() {
    let mut run: serde_json::Value = serde_json::from_slice(&fixture("workflow_run.completed.json")).expect("JSON");
    run["workflow_run"]["head_commit"]["timestamp"] = "last Tuesday".into();
    let body = serde_json::to_vec(&run).expect("JSON");

    match map(GithubEvent::WorkflowRun, "api", &body) {
        Err(super::BadPayload { message, .. }) => {
            assert!(message.starts_with("workflow_run.head_commit.timestamp:"), "{message}")
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[test]
fn a_jobs_delivery_names_the_runs_commit_without_a_time() {
    let actions = mapped(GithubEvent::WorkflowJob, "workflow_job.completed.json");
    let Some(Action::TrackRun(track)) = actions.first() else {
        panic!("a TrackExternalRun first: {actions:?}");
    };
    assert_eq!(
        (track.commit_sha.as_str(), track.commit_time),
        ("3484a3fb816e0859fd6e1cea078d76385ff50625", None)
    );
}
