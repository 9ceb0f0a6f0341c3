//! The metrics crate's single integration-test binary.

mod crash;
mod grpc_auth;
mod grpc_queries;
mod grpc_validation;
mod helpers;
mod outage;
mod store;
