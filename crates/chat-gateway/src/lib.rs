//! DevOpsTrack's public edge: REST (and, as later issues land, WebSocket and the dashboard) over the internal gRPC
//! services. It verifies every access token locally against auth's JWKS, forwards it to the services (which verify it
//! again), and answers errors as JSON `{"error":{"code","message"}}`.

pub mod config;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod ratelimit;
pub mod routes;
pub mod startup;
pub mod state;
