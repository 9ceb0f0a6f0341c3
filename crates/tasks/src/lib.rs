//! DevOpsTrack tasks service: pipeline runs made of stages of jobs, their state machine, the queue, workers,
//! executors, live events and logs over gRPC (`devopstrack.tasks.v1.TaskService`, :50053).
//!
//! [`domain`] is the pure state machine; [`store`] persists it (Redis or SQLite) with the queue; [`app`] holds the
//! use-cases; [`worker`] runs jobs with the [`executor`]s; [`events`] fans the event stream out to watchers;
//! [`outbox`] reports finished deploys to the projects service and job runs and deployments to the metrics service.
//!
//! "Metrics" means three things here, each with its own name: [`prometheus`] is this service's own Prometheus
//! instruments (admin `/metrics`); [`metrics_service`] is the gRPC client of the metrics service; and the metric
//! events are the outbox of job runs and deployments for it (`store::MetricEvent`, [`outbox`]`::metric_events`).
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
pub mod metrics_service;
pub mod outbox;
pub mod projects;
pub mod prometheus;
pub mod startup;
pub mod store;
pub mod worker;
