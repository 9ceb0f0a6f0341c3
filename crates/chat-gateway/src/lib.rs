//! DevOpsTrack's public edge: REST, the WebSocket and the dashboard over the internal gRPC services. It verifies every
//! access token locally against auth's JWKS, forwards it to the services (which verify it again), and answers errors
//! as JSON `{"error":{"code","message"}}`. The API describes itself: OpenAPI 3.1 at `/api/v1/openapi.json`
//! ([`openapi`]) and interactive docs at `/api/docs` ([`docs`]).
//!
//! Its one database is the chat's ([`chat`]: rooms, messages, actions, the audit trail; PostgreSQL or SQLite, set by
//! `chat_database_url`); the edge's routes keep no state of their own.

pub mod audit_log;
pub mod chat;
pub mod clients;
pub mod config;
pub mod docs;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod startup;
pub mod state;

/// What the cargo-fuzz targets in `fuzz/` call that the crate keeps private: the WebSocket client messages and topics,
/// and the body that creates a pipeline with its job params. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::routes::pipelines::dto::{CreatePipelineBody, json_to_struct};
    pub use crate::routes::ws::protocol::{ClientMessage, ParseError, Topic};
}
