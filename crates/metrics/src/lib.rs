//! DevOpsTrack metrics service: raw delivery events (job runs, deployments, changes, incidents) stored as they
//! happened, and everything the dashboard and the chat ask of them — DORA metrics per project, environment and window,
//! and bucketed series — computed at read time (`devopstrack.metrics.v1.MetricsService`, :50054).
//!
//! [`domain`] holds the event types and the pure computations (DORA, series); [`store`] appends and reads events
//! (InfluxDB 2 or SQLite, one trait, one conformance suite); [`app`] holds the use-cases the transports call (and the
//! buffered write path); [`grpc`] is the transport; [`startup`] wires it all.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod startup;
pub mod store;
