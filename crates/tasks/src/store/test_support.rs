//! What the crate's unit tests of both stores (and of the app's use of them) build on; compiled for tests only.

use chrono::Utc;

use super::PipelineStore;
use crate::domain::spec::{JobInput, StageInput};
use crate::domain::{Pipeline, PipelineId, PipelineInput, PipelineMeta, PipelineSpec, Source, Trigger};

/// A new one-job pipeline of `project` (stage `build`, job `compile`), created through the API by `user-1`.
pub(crate) fn one_job_pipeline(project: &str) -> Pipeline {
    let input = PipelineInput {
        stages: vec![StageInput {
            name: "build".into(),
            jobs: vec![JobInput {
                name: "compile".into(),
                ..JobInput::default()
            }],
        }],
    };
    let meta = PipelineMeta {
        project: project.into(),
        target: None,
        trigger: Trigger::Api,
        triggered_by: "user-1".into(),
        idempotency_key: None,
        source: Source::DevOpsTrack,
        commit: None,
    };
    Pipeline::new(PipelineSpec::parse(&input).expect("valid spec"), meta, Utc::now()).0
}

/// Asserts that `store` numbers the `created` pipelines of projects `api` and `web` 1, 2, … per project in id
/// (creation) order, and finds each by its number: what numbering pipelines stored before run numbers existed must
/// give, on either store.
pub(crate) async fn assert_numbered_per_project_in_id_order(store: &impl PipelineStore, created: &[Pipeline]) {
    let mut by_id = created.to_vec();
    by_id.sort_by_key(|p| p.id);
    for project in ["api", "web"] {
        let ids: Vec<PipelineId> = by_id
            .iter()
            .filter(|p| p.meta.project == project)
            .map(|p| p.id)
            .collect();
        for (i, id) in ids.iter().enumerate() {
            let number = u64::try_from(i + 1).expect("a small count");
            let stored = store.pipeline(*id).await.unwrap().expect("stored");
            assert_eq!(stored.pipeline.number, number, "{project} pipeline {id}");
            let found = store
                .pipeline_by_number(project, number)
                .await
                .unwrap()
                .expect("by number");
            assert_eq!(found.pipeline.id, *id);
        }
    }
}
