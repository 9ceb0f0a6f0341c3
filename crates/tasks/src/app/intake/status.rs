//! GitHub's run and job states (`status` + `conclusion`) as DevOpsTrack's pipeline, job and job-run statuses.

use devopstrack_proto::metrics::v1 as metrics_pb;
use devopstrack_proto::tasks::v1 as tasks_pb;

/// A workflow run: `completed` (or any conclusion) → its conclusion; `in_progress` → running; else queued.
pub fn run_status(status: Option<&str>, conclusion: Option<&str>) -> tasks_pb::PipelineStatus {
    use tasks_pb::PipelineStatus as S;
    match (status, conclusion) {
        (Some("completed"), conclusion) | (_, conclusion @ Some(_)) => match conclusion {
            Some("success" | "neutral" | "skipped") => S::Succeeded,
            Some("cancelled" | "stale") => S::Cancelled,
            _ => S::Failed,
        },
        (Some("in_progress"), None) => S::Running,
        _ => S::Queued,
    }
}

pub fn job_status(action: &str, status: Option<&str>, conclusion: Option<&str>) -> tasks_pb::JobStatus {
    use tasks_pb::JobStatus as S;
    if status == Some("completed") || action == "completed" {
        return match conclusion {
            Some("success" | "neutral" | "skipped") => S::Succeeded,
            Some("cancelled" | "stale") => S::Cancelled,
            Some("timed_out") => S::TimedOut,
            _ => S::Failed,
        };
    }
    // GitHub's `in_progress` action may still carry `status: queued` (see octokit's example): the action is newer.
    if status == Some("in_progress") || action == "in_progress" {
        S::Running
    } else {
        S::Queued
    }
}

/// A finished job's metric status; `None` for a job that did not finish or did not really run (skipped, neutral).
pub fn job_run_status(status: tasks_pb::JobStatus) -> Option<metrics_pb::JobRunStatus> {
    use metrics_pb::JobRunStatus as M;
    use tasks_pb::JobStatus as S;
    match status {
        S::Succeeded => Some(M::Succeeded),
        S::Failed => Some(M::Failed),
        S::Cancelled => Some(M::Cancelled),
        S::TimedOut => Some(M::TimedOut),
        S::Unspecified | S::Pending | S::Queued | S::WaitingApproval | S::Running => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tasks_pb::{JobStatus as J, PipelineStatus as P};

    #[test]
    fn run_states_map_to_pipeline_statuses() {
        let cases = [
            (Some("requested"), None, P::Queued),
            (Some("queued"), None, P::Queued),
            (Some("waiting"), None, P::Queued),
            (Some("in_progress"), None, P::Running),
            (Some("completed"), Some("success"), P::Succeeded),
            (Some("completed"), Some("skipped"), P::Succeeded),
            (Some("completed"), Some("failure"), P::Failed),
            (Some("completed"), Some("timed_out"), P::Failed),
            (Some("completed"), Some("startup_failure"), P::Failed),
            (Some("completed"), Some("cancelled"), P::Cancelled),
            (Some("completed"), None, P::Failed),
            (Some("queued"), Some("failure"), P::Failed),
            (None, None, P::Queued),
        ];
        for (status, conclusion, expected) in cases {
            assert_eq!(run_status(status, conclusion), expected, "{status:?} {conclusion:?}");
        }
    }

    #[test]
    fn job_states_map_to_job_and_job_run_statuses() {
        let cases = [
            ("queued", Some("queued"), None, J::Queued, None),
            ("waiting", Some("waiting"), None, J::Queued, None),
            ("in_progress", Some("queued"), None, J::Running, None),
            ("in_progress", Some("in_progress"), None, J::Running, None),
            (
                "completed",
                Some("completed"),
                Some("success"),
                J::Succeeded,
                Some(metrics_pb::JobRunStatus::Succeeded),
            ),
            (
                "completed",
                Some("completed"),
                Some("failure"),
                J::Failed,
                Some(metrics_pb::JobRunStatus::Failed),
            ),
            (
                "completed",
                Some("completed"),
                Some("cancelled"),
                J::Cancelled,
                Some(metrics_pb::JobRunStatus::Cancelled),
            ),
            (
                "completed",
                Some("completed"),
                Some("timed_out"),
                J::TimedOut,
                Some(metrics_pb::JobRunStatus::TimedOut),
            ),
        ];
        for (action, status, conclusion, job, run) in cases {
            let mapped = job_status(action, status, conclusion);
            assert_eq!(mapped, job, "{action} {status:?} {conclusion:?}");
            assert_eq!(job_run_status(mapped), run, "{action} {status:?} {conclusion:?}");
        }
    }
}
