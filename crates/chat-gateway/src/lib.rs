//! DevOpsTrack's public edge: REST, the WebSocket and the dashboard over the internal gRPC services. It verifies every
//! access token locally against auth's JWKS, forwards it to the services (which verify it again), and answers errors
//! as JSON `{"error":{"code","message"}}`. The API describes itself: OpenAPI 3.1 at `/api/v1/openapi.json`
//! ([`openapi`]) and interactive docs at `/api/docs` ([`docs`]).
//!
//! The gateway has no database of its own yet. [`chat`] holds the chat's domain, parser and store (PostgreSQL or
//! SQLite, with its conformance suite), but the running gateway does not open that store, nor take a URL for it:
//! the chat wires it in when it lands.

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
pub mod webhooks;

/// What the cargo-fuzz targets in `fuzz/` call that the crate keeps private: the WebSocket client messages and topics,
/// and the body that creates a pipeline with its job params. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::routes::pipelines_dto::{CreatePipelineBody, json_to_struct};
    pub use crate::routes::ws::protocol::{ClientMessage, ParseError, Topic};
}
