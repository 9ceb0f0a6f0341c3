//! JSON shapes of `/api/v1/pipelines/**` and `/api/v1/jobs/**` (camelCase, enums as lowercase strings, times as
//! RFC 3339) and their conversions to and from the tasks gRPC messages. The WebSocket's events carry the same shapes.
//!
//! Inputs refuse unknown fields and wrong JSON types with a 400 naming the field (through [`crate::extract::Json`]).
//! The gateway checks only what it must to translate: job `params` become a `google.protobuf.Struct`, at most
//! [`MAX_PARAMS_DEPTH`](params::MAX_PARAMS_DEPTH) levels deep; and a `commit` is checked by tasks' rules
//! ([`crate::commit`]) so that its errors name the JSON fields `commit.sha` / `commit.time`. Everything else (names,
//! counts, ranges, the 16 KiB params limit) is the tasks service's to judge; it answers INVALID_ARGUMENT naming the
//! field path, which becomes a 400.

mod answers;
mod inputs;
mod params;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use devopstrack_proto::tasks::v1 as pb;

use crate::routes::dto::proto_enum;

pub use self::answers::{JobBody, JobLogBody, PipelineBody, PipelinesPage};
pub use self::inputs::{CreatePipelineBody, JobLogQuery, ListPipelinesQuery, RejectBody, StageInput};
pub use self::params::{json_to_struct, struct_to_json};

proto_enum!(PipelineStatus, PipelineStatus, "snake_case", {
    Queued, Running, WaitingApproval, Succeeded, Failed, Cancelled,
});
proto_enum!(
    /// `pending`: its stage has not started; `queued` with `attempt > 1`: a retry waiting for `notBefore`.
    JobStatus, JobStatus, "snake_case", {
    Pending, Queued, WaitingApproval, Running, Succeeded, Failed, Cancelled, TimedOut,
});
proto_enum!(Trigger, Trigger, "lowercase", { Manual, Chat, Webhook, Api, Rollback });
proto_enum!(
    /// `devopstrack`: run by DevOpsTrack's workers; `github`: tracked from GitHub Actions webhooks.
    Source, Source, "lowercase", { Devopstrack, Github });
proto_enum!(
    /// `simulate` (durations, failure rate, log lines) or `http` (call a deploy hook and follow its status).
    Executor, Executor, "lowercase", { Simulate, Http });

/// Attempts in all and the exponential backoff between them: before attempt n+1 the job waits
/// min(initialBackoffMs × 2^(n-1), maxBackoffMs). 0 or omitted: the default.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = RetryPolicy)]
pub struct RetryPolicyBody {
    /// 1–10; default 1 (no retry).
    #[serde(default)]
    #[schema(maximum = 10)]
    pub max_attempts: u32,
    /// 100–600000; default 1000.
    #[serde(default)]
    #[schema(maximum = 600000)]
    pub initial_backoff_ms: u64,
    /// At least `initialBackoffMs`; default 60000.
    #[serde(default)]
    pub max_backoff_ms: u64,
}

impl From<pb::RetryPolicy> for RetryPolicyBody {
    fn from(r: pb::RetryPolicy) -> Self {
        Self {
            max_attempts: r.max_attempts,
            initial_backoff_ms: r.initial_backoff_ms,
            max_backoff_ms: r.max_backoff_ms,
        }
    }
}

impl From<RetryPolicyBody> for pb::RetryPolicy {
    fn from(r: RetryPolicyBody) -> Self {
        Self {
            max_attempts: r.max_attempts,
            initial_backoff_ms: r.initial_backoff_ms,
            max_backoff_ms: r.max_backoff_ms,
        }
    }
}
