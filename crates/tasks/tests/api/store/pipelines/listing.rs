//! Listing pipelines newest first, page by page, without gaps or duplicates, for every project and status filter, and
//! with the status filter following updates.

use std::sync::Arc;

use devopstrack_tasks::domain::{Pipeline, PipelineStatus};
use devopstrack_tasks::store::{PipelineFilter, TaskStore};

use super::create;
use crate::store::{now, pipeline, writes_for};

conformance!(listing_pages_newest_first_without_gaps_or_duplicates_for_every_filter);

/// Every pipeline `filter` selects, walked `page` at a time from the newest; asserts each page's size.
async fn walk(store: &Arc<dyn TaskStore>, filter: &PipelineFilter, page: u32) -> Vec<Pipeline> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let got = store.list_pipelines(filter, before, page).await.expect("list");
        assert!(
            got.len() <= page as usize,
            "a page of {} for a limit of {page}",
            got.len()
        );
        let Some(last) = got.last() else { return all };
        before = Some(last.id);
        all.extend(got);
        assert!(all.len() <= 100, "the walk does not end");
    }
}

async fn listing_pages_newest_first_without_gaps_or_duplicates_for_every_filter(store: Arc<dyn TaskStore>) {
    let mut stored = Vec::new();
    for i in 0..14 {
        let project = if i % 3 == 0 { "proj-b" } else { "proj-a" };
        let (mut p, w) = pipeline(project, 1, 1, now());
        create(&store, &mut p, &w).await;
        let fx = match i % 4 {
            0 => p.cancel("user-1", now()).expect("cancel"),
            1 => {
                let job = p.stages[0].jobs[0].id;
                p.start_job(job, 1, "worker-1", now()).expect("start")
            }
            _ => Vec::new(),
        };
        if !fx.is_empty() {
            assert!(store.update_pipeline(&p, 1, &writes_for(&p, &fx, now())).await.unwrap());
        }
        stored.push(p);
    }
    stored.sort_by_key(|p| std::cmp::Reverse(p.id));

    let projects = [None, Some("proj-a"), Some("proj-b"), Some("proj-c")];
    let statuses = [
        None,
        Some(PipelineStatus::Queued),
        Some(PipelineStatus::Running),
        Some(PipelineStatus::Cancelled),
        Some(PipelineStatus::Succeeded),
    ];
    for project in projects {
        for status in statuses {
            let filter = PipelineFilter {
                project: project.map(str::to_owned),
                status,
            };
            let expected: Vec<&Pipeline> = stored
                .iter()
                .filter(|p| project.is_none_or(|want| p.meta.project == want))
                .filter(|p| status.is_none_or(|want| p.status == want))
                .collect();
            for page in [1, 4, 100] {
                let listed = walk(&store, &filter, page).await;
                assert_eq!(
                    listed.iter().collect::<Vec<_>>(),
                    expected,
                    "{filter:?}, pages of {page}"
                );
            }
        }
    }

    // The status filter follows updates.
    let mut moved = stored
        .iter()
        .find(|p| p.status == PipelineStatus::Queued)
        .cloned()
        .expect("a queued pipeline");
    let version = store.pipeline(moved.id).await.unwrap().expect("stored").version;
    let fx = moved.cancel("user-2", now()).expect("cancel");
    assert!(
        store
            .update_pipeline(&moved, version, &writes_for(&moved, &fx, now()))
            .await
            .unwrap()
    );
    let of_status = |status| PipelineFilter {
        project: None,
        status: Some(status),
    };
    let queued = walk(&store, &of_status(PipelineStatus::Queued), 100).await;
    let cancelled = walk(&store, &of_status(PipelineStatus::Cancelled), 100).await;
    assert!(!queued.iter().any(|p| p.id == moved.id));
    assert!(cancelled.contains(&moved));
}
