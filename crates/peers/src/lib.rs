//! What a DevOpsTrack service needs to call another, written once: the typed gRPC clients (deadline, trace context,
//! `authorization` metadata), the JWKS fetcher every token verifier uses, the cache of this service's own service
//! tokens, the one mapping of a refused access token to an answer, a [`Backoff`] for retries, and the
//! [`ServiceSettings`] block (auth URL, issuer, audience, deadline) that each service's `Settings` flattens.
//!
//! Depends on `proto` and `platform` only; every service may depend on it, it depends on no service.

pub mod backoff;
pub mod clients;
pub mod delivery;
pub mod jwks;
pub mod refusal;
pub mod service_tokens;
pub mod settings;

pub use backoff::Backoff;
pub use delivery::DeliveryError;
pub use refusal::{TokenRefusal, authenticate};
pub use service_tokens::{ServiceTokenError, ServiceTokens};
pub use settings::ServiceSettings;
