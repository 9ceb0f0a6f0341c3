//! Every key the Redis store uses (each starting with the store's prefix), and its Lua scripts.

use ::redis::Script;

use crate::domain::{JobId, PipelineStatus};

pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// Hash: `doc` (the codec's document), `version`, `status`, `number` (the run number).
    pub(super) fn pipeline(&self, id: &str) -> String {
        format!("{}{}", self.pipeline_prefix(), id)
    }
    /// What every pipeline hash's key starts with.
    pub(super) fn pipeline_prefix(&self) -> String {
        format!("{}pipeline:", self.prefix)
    }
    /// Hash: project → the last run number it handed out.
    pub(super) fn run_counters(&self) -> String {
        format!("{}runs:last", self.prefix)
    }
    /// Hash: run number → pipeline id, for one project.
    pub(super) fn by_number(&self, project: &str) -> String {
        format!("{}pipelines:by-number:{project}", self.prefix)
    }
    /// String, set once every pipeline stored before run numbers existed has its number (see `numbers.rs`).
    pub(super) fn numbers_backfilled(&self) -> String {
        format!("{}runs:backfilled", self.prefix)
    }
    /// A `SCAN MATCH` pattern for every project's list index (the prefix's glob characters escaped).
    pub(super) fn project_indexes_pattern(&self) -> String {
        let mut pattern = String::new();
        for c in self.project_index_prefix().chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('*');
        pattern
    }
    /// What `index(Some(project), None)` starts with, before the project.
    pub(super) fn project_index_prefix(&self) -> String {
        format!("{}pipelines:by-project:", self.prefix)
    }
    /// Hash: job id → pipeline id.
    pub(super) fn job_pipelines(&self) -> String {
        format!("{}pipelines:jobs", self.prefix)
    }
    /// Hash: `idempotency_field` → pipeline id.
    pub(super) fn idempotency(&self) -> String {
        format!("{}pipelines:idempotency", self.prefix)
    }
    /// Sorted set (score 0, member = pipeline id) of the pipelines matching a filter. The project comes last, so a
    /// slug containing `:` cannot make two filters share a key.
    pub(super) fn index(&self, project: Option<&str>, status: Option<PipelineStatus>) -> String {
        match (status, project) {
            (None, None) => format!("{}pipelines:by:all", self.prefix),
            (None, Some(p)) => format!("{}{p}", self.project_index_prefix()),
            (Some(s), None) => format!("{}pipelines:by-status:{s}", self.prefix),
            (Some(s), Some(p)) => format!("{}pipelines:by-status-project:{s}:{p}", self.prefix),
        }
    }
    pub(super) fn queue(&self) -> String {
        format!("{}queue", self.prefix)
    }
    pub(super) fn delayed(&self) -> String {
        format!("{}queue:delayed", self.prefix)
    }
    pub(super) fn stop(&self, job: JobId, attempt: u32) -> String {
        format!("{}stop:{job}:{attempt}", self.prefix)
    }
    pub(super) fn log(&self, job: JobId, attempt: u32) -> String {
        format!("{}log:{job}:{attempt}", self.prefix)
    }
    pub(super) fn log_total(&self, job: JobId, attempt: u32) -> String {
        format!("{}log:{job}:{attempt}:total", self.prefix)
    }
    pub(super) fn events(&self) -> String {
        format!("{}events", self.prefix)
    }
    pub(super) fn outbox_payloads(&self) -> String {
        format!("{}outbox:payloads", self.prefix)
    }
    pub(super) fn outbox_attempts(&self) -> String {
        format!("{}outbox:attempts", self.prefix)
    }
    pub(super) fn outbox_due(&self) -> String {
        format!("{}outbox:due", self.prefix)
    }
    /// Stream of metrics events (fields `kind`, `payload`), entries deleted once delivered.
    pub(super) fn metric_events(&self) -> String {
        format!("{}metrics:outbox", self.prefix)
    }
    /// The webhook inbox's keys (`inbox:…`, see `inbox.rs`).
    pub(super) fn inbox(&self, rest: &str) -> String {
        format!("{}inbox:{rest}", self.prefix)
    }
}

pub(super) struct Scripts {
    pub(super) create: Script,
    pub(super) update: Script,
    pub(super) lease: Script,
    pub(super) renew: Script,
    pub(super) release: Script,
    pub(super) append_log: Script,
    pub(super) outbox_due: Script,
    pub(super) outbox_retry: Script,
    pub(super) backfill_numbers: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Self {
            create: Script::new(concat!(include_str!("writes.lua"), include_str!("create.lua"))),
            update: Script::new(concat!(include_str!("writes.lua"), include_str!("update.lua"))),
            lease: Script::new(concat!(include_str!("entry.lua"), include_str!("lease.lua"))),
            renew: Script::new(concat!(
                include_str!("entry.lua"),
                include_str!("held.lua"),
                include_str!("renew.lua")
            )),
            release: Script::new(concat!(
                include_str!("entry.lua"),
                include_str!("held.lua"),
                include_str!("release.lua")
            )),
            append_log: Script::new(include_str!("append_log.lua")),
            outbox_due: Script::new(include_str!("outbox_due.lua")),
            outbox_retry: Script::new(include_str!("outbox_retry.lua")),
            backfill_numbers: Script::new(include_str!("backfill_numbers.lua")),
        }
    }
}
