//! What runs tracked from GitHub and the gauges need of a store: jobs that arrive with later writes are found by job
//! id, and the backlog sample (oldest ready queue entry, deployment outbox size).

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use devopstrack_tasks::domain::external::{ExternalJobInput, ExternalRun, ExternalRunInput};
use devopstrack_tasks::domain::{JobStatus, Pipeline, PipelineMeta, Source, Trigger};
use devopstrack_tasks::store::{OutboxEntry, QueuedJob, TaskStore, Writes};

use super::{now, pipeline};

conformance!(
    jobs_a_tracked_run_gains_by_update_are_found_by_job_id,
    the_backlog_sample_reports_the_oldest_ready_entry_and_the_outbox,
);

fn delivery(jobs: &[&str]) -> ExternalRun {
    ExternalRun::parse(&ExternalRunInput {
        external_id: "77".into(),
        name: "ci".into(),
        jobs: jobs
            .iter()
            .map(|id| ExternalJobInput {
                external_id: (*id).into(),
                name: format!("job {id}"),
                status: Some(JobStatus::Queued),
                ..ExternalJobInput::default()
            })
            .collect(),
        ..ExternalRunInput::default()
    })
    .expect("a valid delivery")
}

async fn jobs_a_tracked_run_gains_by_update_are_found_by_job_id(store: Arc<dyn TaskStore>) {
    let meta = PipelineMeta {
        project: "web".into(),
        target: None,
        trigger: Trigger::Webhook,
        triggered_by: "github".into(),
        idempotency_key: Some("gh:77".into()),
        source: Source::Github {
            external_url: String::new(),
            external_id: "77".into(),
        },
        commit: None,
    };
    let (mut p, _) = Pipeline::track(&delivery(&["1"]), meta, now()).expect("track");
    store.create_pipeline(&p, &Writes::default()).await.expect("create");
    p.merge_external(&delivery(&["2", "3"]), now()).expect("merge");

    assert!(store.update_pipeline(&p, 1, &Writes::default()).await.expect("update"));

    for job in p.jobs() {
        assert_eq!(
            store.pipeline_of_job(job.id).await.expect("read the index"),
            Some(p.id),
            "{}",
            job.spec.name
        );
    }
}

async fn the_backlog_sample_reports_the_oldest_ready_entry_and_the_outbox(store: Arc<dyn TaskStore>) {
    let empty = store.backlog().await.expect("sample");
    assert_eq!((empty.oldest_ready_at, empty.outbox), (None, 0));

    let before = now() - TimeDelta::seconds(1);
    let (p, writes) = pipeline("web", 1, 2, now());
    store.create_pipeline(&p, &writes).await.expect("create");
    let delayed = Writes {
        enqueue: vec![QueuedJob {
            pipeline: p.id,
            job: p.stages[0].jobs[0].id,
            attempt: 2,
            not_before: Some(now() + TimeDelta::seconds(60)),
        }],
        outbox: Some(OutboxEntry {
            id: p.id,
            payload: b"deploy".to_vec(),
            attempts: 0,
            due_at: now() + TimeDelta::seconds(60),
        }),
        ..Writes::default()
    };
    assert!(store.update_pipeline(&p, 1, &delayed).await.expect("update"));

    let sample = store.backlog().await.expect("sample");
    let oldest = sample.oldest_ready_at.expect("two entries are ready");
    assert!(oldest >= before && oldest <= now() + TimeDelta::seconds(1), "{oldest}");
    assert_eq!(sample.outbox, 1, "an entry not yet due is backlog too");

    let leased = store
        .lease("w1", 10, Duration::from_secs(60), Duration::ZERO)
        .await
        .expect("lease");
    assert_eq!(leased.len(), 2, "the delayed entry is not ready yet");
    let sample = store.backlog().await.expect("sample");
    assert_eq!(sample.oldest_ready_at, None, "leased and delayed entries are not ready");

    store.outbox_delivered(p.id).await.expect("delivered");
    assert_eq!(store.backlog().await.expect("sample").outbox, 0);
}
