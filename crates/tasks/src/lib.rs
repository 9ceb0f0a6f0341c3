//! DevOpsTrack tasks service: pipeline runs made of stages of jobs, their state machine, and (next) the queue,
//! workers, executors, live events and logs over gRPC (`devopstrack.tasks.v1.TaskService`, :50053).
//!
//! This first slice is I/O-free: [`domain`] holds the validated pipeline spec and the pure state machine that every
//! transport, store and worker will drive.

pub mod domain;
