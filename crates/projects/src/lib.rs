//! DevOpsTrack projects service: the catalog of projects, repositories, environments, releases and deployment
//! history, over gRPC (`devopstrack.projects.v1.ProjectService`, :50052). MongoDB in production, SQLite embedded.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod pagination;
pub mod secrets;
pub mod startup;
pub mod store;
