//! The tasks domain: the validated pipeline spec and the pure state machine of a pipeline run. No I/O, no tonic.
//!
//! [`spec`] (the shared `devopstrack-pipeline-spec` crate) parses what a caller asks to run; [`Pipeline`] is one run, driven only by its transitions
//! (`start_job`, `finish_job`, `cancel`, `approve`, `reject`, `retry_job`), each returning the [`Effect`]s to carry out.
//! [`external`] merges deliveries about runs tracked from GitHub Actions, which those transitions refuse.

mod approvals;
pub mod external;
mod meta;
mod pipeline;
mod run_request;
mod state;
mod transitions;

// The spec a run is asked to execute is validated in the shared crate (projects validates definitions with it too).
pub use devopstrack_pipeline_spec::spec;
use devopstrack_pipeline_spec::{executor, external_ref};
mod field {
    pub use devopstrack_pipeline_spec::FieldError;
}

pub use devopstrack_platform::auth::Role;
pub use field::FieldError;
pub use meta::*;
pub use pipeline::*;
pub use run_request::{DeployRequest, EnvironmentName, IdempotencyKey, ProjectRef, TRACKED_KEY_PREFIX, Version};
pub use spec::{PipelineInput, PipelineSpec};
pub use state::*;
pub use transitions::{MAX_LEASE_LOSSES, Outcome};
