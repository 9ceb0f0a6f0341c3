//! DevOpsTrack auth service: users, roles, Argon2id passwords, sessions with rotating refresh tokens, Ed25519 signing
//! keys (sealed at rest, rotated and retired) and their JWKS, API tokens and service accounts, over gRPC
//! (`devopstrack.auth.v1.AuthService`, :50051). Password guesses are throttled per (account, source address).

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod kek;
pub mod keys;
pub mod passwords;
pub mod service_clients;
pub mod startup;
pub mod store;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod tokens;
