//! The pipeline spec: what a run is asked to execute (stages in order, each a set of jobs run in parallel), validated
//! once for every service. tasks parses it before creating a run; projects parses it before storing a pipeline
//! definition, so a definition that is accepted is one tasks will run, with the same rules and the same messages.
//!
//! Pure: no I/O, no tonic, nothing of the workspace. [`spec::PipelineSpec::parse`] turns the raw request into a spec or
//! a [`FieldError`] naming the field path (`stages[1].jobs[0].name: …`); [`template`] fills a deploy definition's
//! `${environment}`, `${version}` and `${commit}` into job params as plain text.

pub mod executor;
pub mod external_ref;
mod field;
pub mod spec;
pub mod template;

pub use field::FieldError;
pub use spec::{PipelineInput, PipelineSpec};
