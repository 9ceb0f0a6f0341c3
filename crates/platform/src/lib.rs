//! What every DevOpsTrack service shares: configuration loading, telemetry, Prometheus metrics, the admin HTTP server,
//! the gRPC server bootstrap (health, reflection, request metrics, trace context), JWT verification against a cached
//! JWKS, shutdown on signals, the one rule for a git commit every service takes, and what a binary does in a container
//! (`healthcheck`, `check-config`, waiting for its store).
//!
//! This crate depends on no other workspace crate.

pub mod admin;
pub mod auth;
pub mod commit;
pub mod config;
pub mod container;
pub mod exposition;
pub mod grpc;
pub mod metrics;
pub mod net;
pub mod role;
pub mod shutdown;
pub mod sqlite;
pub mod store;
pub mod telemetry;
