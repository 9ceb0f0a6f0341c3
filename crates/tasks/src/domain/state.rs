//! Job and pipeline statuses, with the names the store, the API and the event stream use.

use std::fmt;

/// A job's lifecycle: `pending → queued → running → succeeded | failed | cancelled | timed_out`, with
/// `waiting_approval` before `queued` for gated jobs. A `queued` job with `attempt > 1` is being retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Its stage has not started yet (not on the queue).
    Pending,
    Queued,
    WaitingApproval,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
}

impl JobStatus {
    pub const ALL: [JobStatus; 8] = [
        JobStatus::Pending,
        JobStatus::Queued,
        JobStatus::WaitingApproval,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
        JobStatus::TimedOut,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled | JobStatus::TimedOut
        )
    }

    /// Has not run and will not run unless something changes (approval, stage start).
    pub fn is_unstarted(self) -> bool {
        matches!(
            self,
            JobStatus::Pending | JobStatus::Queued | JobStatus::WaitingApproval
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Queued => "queued",
            JobStatus::WaitingApproval => "waiting_approval",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::TimedOut => "timed_out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PipelineStatus {
    /// Created; no job has started yet.
    Queued,
    Running,
    /// Every unfinished job of the active stage waits for an approval.
    WaitingApproval,
    Succeeded,
    Failed,
    Cancelled,
}

impl PipelineStatus {
    pub const ALL: [PipelineStatus; 6] = [
        PipelineStatus::Queued,
        PipelineStatus::Running,
        PipelineStatus::WaitingApproval,
        PipelineStatus::Succeeded,
        PipelineStatus::Failed,
        PipelineStatus::Cancelled,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            PipelineStatus::Succeeded | PipelineStatus::Failed | PipelineStatus::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PipelineStatus::Queued => "queued",
            PipelineStatus::Running => "running",
            PipelineStatus::WaitingApproval => "waiting_approval",
            PipelineStatus::Succeeded => "succeeded",
            PipelineStatus::Failed => "failed",
            PipelineStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for PipelineStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        for s in PipelineStatus::ALL {
            assert_eq!(PipelineStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobStatus::parse("retrying"), None);
        assert_eq!(PipelineStatus::parse("Running"), None);
    }

    #[test]
    fn terminal_statuses_are_exactly_the_final_ones() {
        let terminal: Vec<_> = JobStatus::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(
            terminal,
            [
                JobStatus::Succeeded,
                JobStatus::Failed,
                JobStatus::Cancelled,
                JobStatus::TimedOut
            ]
        );
        let terminal: Vec<_> = PipelineStatus::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(
            terminal,
            [
                PipelineStatus::Succeeded,
                PipelineStatus::Failed,
                PipelineStatus::Cancelled
            ]
        );
    }
}
