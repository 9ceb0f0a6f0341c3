//! Verification's verdicts: one step of the walk over the chain, and the head check at its end.

use serde::Serialize;

use super::{GENESIS_HASH, RawAuditRow};

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainReport {
    /// Records walked.
    pub records: u64,
    /// The first problem, if any; `None` means the chain is intact.
    pub first_break: Option<ChainBreak>,
}

impl ChainReport {
    pub fn intact(&self) -> bool {
        self.first_break.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("audit record {seq}: {problem}")]
pub struct ChainBreak {
    /// The sequence number where the chain breaks.
    pub seq: u64,
    pub problem: String,
}

/// Checks one stored row against the one before it: the chain verification's single step.
pub(crate) fn check_link(row: &RawAuditRow, expected_seq: i64, prev_hash: &str) -> Option<ChainBreak> {
    let seq = u64::try_from(expected_seq).unwrap_or(0);
    if row.seq != expected_seq {
        return Some(ChainBreak {
            seq,
            problem: format!("missing (the next stored record is {})", row.seq),
        });
    }
    if row.prev_hash != prev_hash {
        return Some(ChainBreak {
            seq,
            problem: "its previous hash does not match the record before it".into(),
        });
    }
    if row.computed_hash() != row.hash {
        return Some(ChainBreak {
            seq,
            problem: "its contents do not match its hash (altered)".into(),
        });
    }
    None
}

/// Checks the head row against the last record walked.
pub(crate) fn check_head(head: (i64, &str), last: (i64, &str)) -> Option<ChainBreak> {
    if head.0 != last.0 {
        return Some(ChainBreak {
            seq: u64::try_from(last.0 + 1).unwrap_or(0),
            problem: format!("missing (the chain's head says it ends at {})", head.0),
        });
    }
    (head.1 != last.1).then(|| ChainBreak {
        seq: u64::try_from(head.0).unwrap_or(0),
        problem: "the chain's head holds another hash (the last record was replaced)".into(),
    })
}

/// The walk both stores' `verify` run: rows fed in sequence order, batch by batch, then the head check.
pub(crate) struct ChainWalk {
    last: (i64, String),
    walked: u64,
}

impl ChainWalk {
    pub(crate) fn new() -> Self {
        Self {
            last: (0, GENESIS_HASH.to_owned()),
            walked: 0,
        }
    }

    /// The sequence number the next batch starts after.
    pub(crate) fn after(&self) -> i64 {
        self.last.0
    }

    /// Takes the next stored row; a break ends the walk with its report.
    pub(crate) fn step(&mut self, row: RawAuditRow) -> Result<(), ChainReport> {
        if let Some(problem) = check_link(&row, self.last.0 + 1, &self.last.1) {
            return Err(ChainReport {
                records: self.walked,
                first_break: Some(problem),
            });
        }
        self.walked += 1;
        self.last = (row.seq, row.hash);
        Ok(())
    }

    /// The report once every row up to the head was walked.
    pub(crate) fn finish(self, head: (i64, &str)) -> ChainReport {
        ChainReport {
            records: self.walked,
            first_break: check_head(head, (self.last.0, &self.last.1)),
        }
    }
}
