//! gRPC contracts of the DevOpsTrack services, generated from `proto/devopstrack/<service>/v1/*.proto`.
//!
//! Generated types stop at each service's transport layer (`grpc.rs`), where they are turned into domain types.

/// The encoded `FileDescriptorSet` of every DevOpsTrack proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/devopstrack_descriptor.bin"));

pub mod auth {
    pub mod v1 {
        tonic::include_proto!("devopstrack.auth.v1");
    }
}

pub mod projects {
    pub mod v1 {
        tonic::include_proto!("devopstrack.projects.v1");
    }
}

pub mod tasks {
    pub mod v1 {
        tonic::include_proto!("devopstrack.tasks.v1");
    }
}

pub mod metrics {
    pub mod v1 {
        tonic::include_proto!("devopstrack.metrics.v1");
    }
}
