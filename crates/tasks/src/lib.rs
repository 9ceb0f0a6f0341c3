//! DevOpsTrack tasks service: pipeline runs made of stages of jobs, their state machine, the queue, workers,
//! executors, live events and logs over gRPC (`devopstrack.tasks.v1.TaskService`, :50053).

pub mod domain;
pub mod store;
