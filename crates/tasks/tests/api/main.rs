//! The tasks crate's single integration-test binary.

mod business_metrics;
mod commits;
mod crash;
mod executors;
mod external_runs;
mod four_eyes;
mod grpc_pipelines;
mod helpers;
mod intake;
mod metrics_delivery;
mod outbox_recovery;
mod redis_outage;
mod runs;
mod store;
mod worker_kill;
mod worker_lease;
