//! Job logs: a stream per attempt whose entry `0-<n + 1>` is line `n`, plus a counter of lines ever appended (it
//! survives trimming). Both expire [`LOG_TTL`] after the last line.

use std::time::Duration;

use ::redis::streams::StreamRangeReply;

use super::{EntryId, RedisStore, corrupt, millis};
use crate::domain::JobId;
use crate::store::{LogPage, MAX_LOG_LINES, StoreResult};

/// Logs of an attempt are kept this long after its last line.
const LOG_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

impl RedisStore {
    pub(super) async fn append_lines(
        &self,
        job: JobId,
        attempt: u32,
        offset: u64,
        lines: &[String],
    ) -> StoreResult<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut inv = self.scripts.append_log.prepare_invoke();
        inv.key(self.keys.log(job, attempt))
            .key(self.keys.log_total(job, attempt))
            .arg(offset)
            .arg(MAX_LOG_LINES)
            .arg(millis(LOG_TTL));
        for line in lines {
            inv.arg(line);
        }
        inv.invoke_async::<u64>(&mut self.conn()).await?;
        Ok(())
    }

    pub(super) async fn read_lines(&self, job: JobId, attempt: u32, offset: u64, limit: u32) -> StoreResult<LogPage> {
        // Line `n` is entry `0-<n + 1>`.
        let start = offset.checked_add(1).filter(|_| limit > 0);
        let mut pipe = ::redis::pipe();
        pipe.atomic().cmd("GET").arg(self.keys.log_total(job, attempt));
        if let Some(start) = start {
            pipe.cmd("XRANGE")
                .arg(self.keys.log(job, attempt))
                .arg(format!("0-{start}"))
                .arg("+")
                .arg("COUNT")
                .arg(limit);
        }
        let (total, range): (Option<String>, Option<StreamRangeReply>) = if start.is_some() {
            pipe.query_async(&mut self.conn()).await?
        } else {
            let (total,): (Option<String>,) = pipe.query_async(&mut self.conn()).await?;
            (total, None)
        };
        let total = match total {
            None => 0,
            Some(t) => t
                .parse()
                .map_err(|_| corrupt(format!("log total of job {job} attempt {attempt}: {t:?}")))?,
        };
        let mut first_offset = offset;
        let mut lines = Vec::new();
        for (i, e) in range.map(|r| r.ids).unwrap_or_default().into_iter().enumerate() {
            let bad = || corrupt(format!("log line {:?} of job {job} attempt {attempt}", e.id));
            let seq = EntryId::parse(&e.id)
                .map(|id| id.seq)
                .filter(|seq| *seq > 0)
                .ok_or_else(bad)?;
            if i == 0 {
                first_offset = seq - 1;
            }
            lines.push(e.get::<String>("line").ok_or_else(bad)?);
        }
        Ok(LogPage {
            first_offset,
            lines,
            total,
        })
    }
}
