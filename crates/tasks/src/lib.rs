//! DevOpsTrack tasks service: pipeline runs made of stages of jobs, their state machine, the queue, workers,
//! executors, live events and logs over gRPC (`devopstrack.tasks.v1.TaskService`, :50053).
//!
//! [`domain`] is the pure state machine; [`store`] persists it (Redis or SQLite) with the queue; [`app`] holds the
//! use-cases; [`worker`] runs jobs with the [`executor`]s; [`events`] fans the event stream out to watchers;
//! [`outbox`] reports finished deploys to the projects service and job runs and deployments to the metrics service;
//! [`intake`] processes the GitHub webhook deliveries kept in the inbox (`app::intake`, `store::inbox`).

pub mod app;
pub mod config;
pub mod convert;
pub mod domain;
pub mod error;
pub mod events;
pub mod executor;
pub mod grpc;
pub mod intake;
pub mod metrics;
pub mod metrics_client;
pub mod outbox;
pub mod projects;
pub mod service_tokens;
pub mod startup;
pub mod store;
pub mod worker;
