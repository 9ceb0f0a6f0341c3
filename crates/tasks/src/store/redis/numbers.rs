//! Run numbers for pipelines stored before numbering existed: a one-time backfill at connect. Each project is
//! numbered by one script call (`backfill_numbers.lua`, atomic per project, in creation order, continuing the
//! project's counter); a marker key set after the last project skips all of it on later connects. The create script
//! numbers every new pipeline itself (`create.lua`).

use super::RedisStore;
use crate::store::StoreResult;

/// Keys per SCAN call while looking for projects.
const SCAN_COUNT: usize = 1000;

impl RedisStore {
    /// Numbers every pipeline that has no number yet, unless the marker says it was done.
    pub(super) async fn backfill_numbers(&self) -> StoreResult<()> {
        let marker = self.keys.numbers_backfilled();
        let done: bool = ::redis::cmd("EXISTS")
            .arg(&marker)
            .query_async(&mut self.conn())
            .await?;
        if done {
            return Ok(());
        }
        // A fresh store (or one whose pipelines all came after numbering) has nothing to number.
        let projects = self.projects_with_pipelines().await?;
        let index_prefix = self.keys.project_index_prefix();
        let pipeline_prefix = self.keys.pipeline_prefix();
        let mut numbered = 0u64;
        for project in projects {
            let index = format!("{index_prefix}{project}");
            let n: u64 = self
                .scripts
                .backfill_numbers
                .key(index)
                .key(self.keys.run_counters())
                .key(self.keys.by_number(&project))
                .arg(&project)
                .arg(&pipeline_prefix)
                .invoke_async(&mut self.conn())
                .await?;
            numbered += n;
        }
        if numbered > 0 {
            tracing::info!(numbered, "numbered the pipelines stored before run numbers");
        }
        ::redis::cmd("SET")
            .arg(&marker)
            .arg(1)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Every project with a list index, found by SCAN (only once per store, see above).
    async fn projects_with_pipelines(&self) -> StoreResult<Vec<String>> {
        let all: u64 = ::redis::cmd("ZCARD")
            .arg(self.keys.index(None, None))
            .query_async(&mut self.conn())
            .await?;
        if all == 0 {
            return Ok(Vec::new());
        }
        let prefix = self.keys.project_index_prefix();
        let mut projects = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = ::redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(self.keys.project_indexes_pattern())
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut self.conn())
                .await?;
            projects.extend(keys.iter().filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned)));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        // SCAN may return a key twice.
        projects.sort();
        projects.dedup();
        Ok(projects)
    }
}
