//! The pipelines this process created last, kept for the worker that starts their first jobs: in a process that
//! runs both the API and workers the first start needs no read. Bounded (the oldest go first), and taken at most once;
//! a copy that is out of date by the time it is used only costs its user one lost compare-and-set.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use crate::domain::PipelineId;
use crate::store::StoredPipeline;

/// Pipelines kept at most.
const CAPACITY: usize = 1024;

#[derive(Default)]
pub(super) struct Handoff {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    kept: HashMap<PipelineId, StoredPipeline>,
    /// Put order; may name pipelines already taken (they are skipped when their turn to go comes).
    order: VecDeque<PipelineId>,
}

impl Handoff {
    pub(super) fn put(&self, stored: StoredPipeline) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        while inner.order.len() >= CAPACITY {
            if let Some(oldest) = inner.order.pop_front() {
                inner.kept.remove(&oldest);
            }
        }
        let id = stored.pipeline.id;
        inner.order.push_back(id);
        inner.kept.insert(id, stored);
    }

    pub(super) fn take(&self, id: PipelineId) -> Option<StoredPipeline> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .kept
            .remove(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::one_job_pipeline;

    fn stored() -> StoredPipeline {
        StoredPipeline {
            pipeline: one_job_pipeline("web"),
            version: 1,
        }
    }

    #[test]
    fn a_kept_pipeline_is_taken_once() {
        let handoff = Handoff::default();
        let p = stored();
        let id = p.pipeline.id;
        handoff.put(p.clone());

        assert_eq!(handoff.take(id), Some(p));
        assert_eq!(handoff.take(id), None);
    }

    #[test]
    fn the_oldest_go_first_and_taken_ones_do_not_pile_up() {
        let handoff = Handoff::default();
        let first = stored();
        let first_id = first.pipeline.id;
        handoff.put(first);
        for _ in 0..3 * CAPACITY {
            let p = stored();
            let id = p.pipeline.id;
            handoff.put(p);
            if rand::random::<bool>() {
                handoff.take(id);
            }
        }
        let inner = handoff.inner.lock().unwrap();
        assert!(inner.order.len() <= CAPACITY && inner.kept.len() <= CAPACITY);
        assert!(!inner.kept.contains_key(&first_id), "the oldest went first");
    }
}
