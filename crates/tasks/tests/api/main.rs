//! The tasks crate's single integration-test binary.

mod executors;
mod grpc_pipelines;
mod helpers;
mod outbox_recovery;
mod store;
mod worker_kill;
