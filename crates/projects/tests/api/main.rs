//! The projects crate's single integration-test binary.

mod grpc_definitions;
mod grpc_deployments;
mod grpc_github;
mod grpc_projects;
mod grpc_rbac;
mod grpc_reflection;
mod grpc_validation;
mod helpers;
mod outage;
mod read_cache;
mod store;
