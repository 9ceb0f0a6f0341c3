//! DevOpsTrack auth service: users, roles, Argon2id passwords, sessions with rotating refresh tokens, Ed25519 signing
//! keys and their JWKS, API tokens and service accounts, over gRPC (`devopstrack.auth.v1.AuthService`, :50051).

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod keys;
pub mod passwords;
pub mod startup;
pub mod store;
pub mod tokens;
