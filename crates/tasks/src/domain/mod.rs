//! The tasks domain: the validated pipeline spec and the pure state machine of a pipeline run. No I/O, no tonic.
//!
//! [`spec`] parses what a caller asks to run; [`Pipeline`] is one run, driven only by its transitions
//! (`start_job`, `finish_job`, `cancel`, `approve`, `reject`, `retry_job`), each returning the [`Effect`]s to carry out.
//! [`external`] merges deliveries about runs tracked from GitHub Actions, which those transitions refuse.

mod approvals;
mod executor;
pub mod external;
mod external_ref;
mod field;
mod meta;
mod pipeline;
mod run_request;
pub mod spec;
mod state;
mod transitions;

pub use devopstrack_platform::auth::Role;
pub use field::FieldError;
pub use meta::*;
pub use pipeline::*;
pub use run_request::{DeployRequest, EnvironmentName, IdempotencyKey, ProjectRef, TRACKED_KEY_PREFIX, Version};
pub use spec::{PipelineInput, PipelineSpec};
pub use state::*;
pub use transitions::{MAX_LEASE_LOSSES, Outcome};
